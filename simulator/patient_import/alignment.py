"""Turning imported bones into the patient frame: which way is up, back and left.

The patient frame is LPS (x to the patient's left, y posterior, z superior). Imported meshes
come in any frame; :func:`axes_from_bones` finds the three axes from the bones themselves:

- **superior**: the line through the bones' centroids, pointing from the lowest level named in
  the description towards the highest (so the levels must be named right; they are checked to
  lie in order along it);
- **left-right**: each vertebra is mirror-symmetric about its mid-sagittal plane; the normal of
  the plane (perpendicular to the spine's axis) that maps the vertebra best onto itself;
- **posterior**: along the remaining axis, the end where the vertebra is narrow (the spinous
  process) is posterior, the wide end (the body) anterior; every vertebra votes.

Left is then ``posterior × superior`` (a right-handed frame), so a mirrored file cannot be
told from a true one by shape: :func:`axes_from_landmarks` (the manual fallback) takes named
points and, given both pedicles of a level, detects a mirrored file.

Examples
--------
>>> axes = axes_from_bones({"L3": l3_points, "L4": l4_points})    # doctest: +SKIP
>>> axes.patient_from_file @ axes.superior_file                    # doctest: +SKIP
array([0., 0., 1.])
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from simulator.errors import AssetError

__all__ = ["SPINE_ORDER", "Axes", "axes_from_bones", "axes_from_landmarks", "mirror_normal", "spine_index"]

#: Every bone a description may name, top to bottom.
SPINE_ORDER: tuple[str, ...] = (*(f"T{i}" for i in range(1, 13)), "L1", "L2", "L3", "L4", "L5", "sacrum")


def spine_index(bone: str) -> int:
    """Position of ``bone`` down the spine (T1 = 0, ..., sacrum last)."""
    return SPINE_ORDER.index(bone)


@dataclass(frozen=True)
class Axes:
    """The patient's axes found in a file's frame, and how well the bones agreed.

    Parameters
    ----------
    patient_from_file : numpy.ndarray, shape (3, 3)
        Rotation taking file directions to patient directions (rows: left, posterior,
        superior, in file coordinates).
    method : str
        ``"bones"`` or ``"landmarks"``.
    posterior_spread_deg : dict of str to float
        For each vertebra, the angle between its own antero-posterior axis and the patient's
        (degrees): a vertebra far off the others is suspicious.
    order_checked : list of str
        The bones, top to bottom, as they lie along the superior axis.
    """

    patient_from_file: np.ndarray
    method: str
    posterior_spread_deg: dict[str, float] = field(default_factory=dict)
    order_checked: list[str] = field(default_factory=list)

    @property
    def superior_file(self) -> np.ndarray:
        return self.patient_from_file[2]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _superior_axis(centroids: dict[str, np.ndarray], source: str) -> tuple[np.ndarray, list[str]]:
    """The spine's axis through the centroids, pointing to the highest level; checks the order."""
    bones = sorted(centroids, key=spine_index)
    points = np.array([centroids[b] for b in bones])
    if len(bones) == 2:
        axis = _unit(points[0] - points[1])
    else:
        axis = np.linalg.svd(points - points.mean(axis=0))[2][0]
        if (points[0] - points[-1]) @ axis < 0:
            axis = -axis
    heights = points @ axis
    if np.any(np.diff(heights) >= 0):
        where = int(np.nonzero(np.diff(heights) >= 0)[0][0])
        raise AssetError(source, f"the bones are not in order along the spine: {bones[where + 1]} lies above "
                                 f"{bones[where]} (check the levels named in the description, or give landmarks)")
    return axis, bones


def mirror_normal(points: np.ndarray, superior: np.ndarray, *, guess: np.ndarray | None = None,
                  samples: int = 1500) -> tuple[np.ndarray, float]:
    """The normal of a vertebra's plane of mirror symmetry, perpendicular to ``superior``.

    The plane through the centroid is turned about ``superior`` (every 3°, then every 0.5°
    round the best) and the one whose mirror image of the points lies closest to the points
    (mean nearest-neighbour distance) is kept.

    Parameters
    ----------
    points : numpy.ndarray, shape (n, 3)
        Surface points of the vertebra, mm.
    superior : numpy.ndarray, shape (3,)
        Unit axis of the spine.
    guess : numpy.ndarray, optional
        Search only within 30° of this normal.

    Returns
    -------
    normal : numpy.ndarray, shape (3,)
        Unit normal (sign arbitrary unless ``guess`` is given: then on its side).
    asymmetry_mm : float
        Mean distance from the mirrored points to the points, mm.
    """
    rng = np.random.default_rng(0)
    chosen = points[rng.choice(len(points), size=min(samples, len(points)), replace=False)]
    center = points.mean(axis=0)
    tree = cKDTree(points)
    a = _unit(np.cross(superior, [1.0, 0.0, 0.0] if abs(superior[0]) < 0.9 else [0.0, 1.0, 0.0]))
    b = np.cross(superior, a)

    def asymmetry(angle: float) -> float:
        n = np.cos(angle) * a + np.sin(angle) * b
        offset = (chosen - center) @ n
        return float(np.mean(tree.query(chosen - 2.0 * offset[:, None] * n[None])[0]))

    if guess is not None:
        g = guess - (guess @ superior) * superior
        start = np.arctan2(g @ b, g @ a)
        coarse = start + np.radians(np.arange(-30.0, 30.1, 3.0))
    else:
        coarse = np.radians(np.arange(0.0, 180.0, 3.0))
    best = min(coarse, key=asymmetry)
    fine = best + np.radians(np.arange(-3.0, 3.01, 0.5))
    best = min(fine, key=asymmetry)
    normal = np.cos(best) * a + np.sin(best) * b
    if guess is not None and normal @ guess < 0:
        normal = -normal
    return normal, asymmetry(best)


def _posterior_vote(points: np.ndarray, ap: np.ndarray, lateral: np.ndarray) -> float:
    """+1 if the ``+ap`` end of the vertebra is the narrow (spinous) one, -1 if the wide one."""
    along = points @ ap
    slab = 0.08 * np.ptp(along)
    high = points[along > along.max() - slab] @ lateral
    low = points[along < along.min() + slab] @ lateral
    return 1.0 if np.ptp(high) < np.ptp(low) else -1.0


def axes_from_bones(bones: dict[str, np.ndarray], source: str = "description") -> Axes:
    """Find the patient's axes from the shapes of the bones (file frame, any units).

    Parameters
    ----------
    bones : dict of str to numpy.ndarray
        Surface points of each bone, by level (``"L1"`` ... ``"L5"``, ``"T12"``, ``"sacrum"``).
    source : str
        Named in errors (the description file).

    Raises
    ------
    AssetError
        With fewer than two vertebrae (the axis is then unknown: give landmarks), or bones out
        of order.
    """
    centroids = {bone: points.mean(axis=0) for bone, points in bones.items()}
    vertebrae = [b for b in bones if b != "sacrum"]
    if len(bones) < 2 or not vertebrae:
        raise AssetError(source, f"automatic alignment needs at least two bones, one a vertebra (got {', '.join(bones)}); "
                                 "give [alignment] landmarks instead")
    superior, order = _superior_axis(centroids, source)
    normals, votes = {}, 0.0
    reference = None
    for bone in sorted(vertebrae, key=spine_index):
        normal, _ = mirror_normal(bones[bone], superior, guess=reference)
        reference = normal if reference is None else reference
        normals[bone] = normal
        ap = np.cross(superior, normal)
        votes += _posterior_vote(bones[bone], ap, normal)
    lateral = _unit(np.sum(list(normals.values()), axis=0))
    posterior = _unit(np.cross(superior, lateral)) * (1.0 if votes > 0 else -1.0)
    left = np.cross(posterior, superior)
    spread = {bone: float(np.degrees(np.arccos(np.clip(abs(n @ left), 0.0, 1.0)))) for bone, n in normals.items()}
    return Axes(np.array([left, posterior, superior]), "bones", spread, order)


#: Landmark names the manual alignment reads: body centres and spinous tips by level, and
#: optionally the pedicles (to detect a mirrored file).
LANDMARK_PATTERN = r"(body_center|spinous_tip)_(T([1-9]|1[0-2])|L[1-5]|sacrum)|pedicle_(T([1-9]|1[0-2])|L[1-5])_(left|right)"


def axes_from_landmarks(landmarks: dict[str, np.ndarray], source: str = "description") -> Axes:
    """The patient's axes from named points picked on the bones (file frame and units).

    Needs ``body_center_<level>`` of at least two levels and ``spinous_tip_<level>`` of at
    least one level; superior runs from the lowest body centre to the highest, posterior from
    a spinous tip's own body centre (or, for a level without one, the nearest point of the line
    through the body centres) to the tip. With ``pedicle_<level>_left`` and ``_right`` the file
    is checked not to be mirrored.

    Raises
    ------
    AssetError
        If landmarks are missing, or the pedicles show a mirrored file.
    """
    centers = {name.removeprefix("body_center_"): np.asarray(p, float) for name, p in landmarks.items()
               if name.startswith("body_center_")}
    tips = {name.removeprefix("spinous_tip_"): np.asarray(p, float) for name, p in landmarks.items()
            if name.startswith("spinous_tip_")}
    if len(centers) < 2 or not tips:
        raise AssetError(source, "[alignment] landmarks need body_center_<level> of two levels and spinous_tip_<level> "
                                 f"of one level (got {', '.join(sorted(landmarks)) or 'none'})")
    superior, order = _superior_axis(centers, source)
    through = np.mean(list(centers.values()), axis=0)

    def center_of(level: str) -> np.ndarray:
        if level in centers:
            return centers[level]
        return through + ((tips[level] - through) @ superior) * superior

    posterior = np.mean([_unit(tips[level] - center_of(level)) for level in tips], axis=0)
    posterior = _unit(posterior - (posterior @ superior) * superior)
    left = np.cross(posterior, superior)
    for level in {name.split("_")[1] for name in landmarks if name.startswith("pedicle_")}:
        pair = landmarks.get(f"pedicle_{level}_left"), landmarks.get(f"pedicle_{level}_right")
        if pair[0] is not None and pair[1] is not None and (np.asarray(pair[0]) - np.asarray(pair[1])) @ left < 0:
            raise AssetError(source, f"the file's frame is mirrored: pedicle_{level}_left lies on the patient's right of "
                                     f"pedicle_{level}_right (mirror the meshes in a mesh editor, or swap the names)")
    return Axes(np.array([left, posterior, superior]), "landmarks", {}, order)
