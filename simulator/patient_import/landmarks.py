"""Landmarks found on imported bones: each bone's own frame, its dimensions, its neck grooves.

Every measurement is read off the bone's signed-distance field (:mod:`.inside`) along rays and
sections in the bone's frame, the same frame the generator uses (origin at the centre of the
body, x to the patient's left, y posterior, z along the body's axis):

- **x** is the normal of the vertebra's plane of mirror symmetry (:func:`.alignment.mirror_normal`);
- in that plane, the mid-sagittal section's most anterior piece is the **body**; lines fitted
  to its upper and lower borders (the endplates) give **z** (perpendicular to their mean) and
  the body's centre (mid-depth, midway between the endplates); two rounds refine both;
- along rays in that frame: body depth, width and heights, the canal behind the body (depth
  at the midline, width between the pedicles' medial walls), the pedicles' height and width;
  from the surface points: the transverse processes (span, height, thickness, where their root
  is) and the spinous process (length, height, tip);
- each **neck groove** (where the medial branch of the level above runs) is found with the
  generator's own rule (:func:`simulator.anatomy.vertebra.groove_beside`) on the imported
  surface: the lateral wall of the superior articular process just above the transverse
  process, the back and the upper border of the transverse process beside it.

The dimensions go into a :class:`MeasuredVertebraShape`, a
:class:`~simulator.anatomy.vertebra.VertebraShape` whose pedicle and transverse-process
positions are the measured ones, so the generator's nerve placement runs on them unchanged.
Anything that cannot be found raises :class:`~simulator.errors.AssetError` naming the bone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Callable

import numpy as np
from scipy import ndimage

from simulator.anatomy.morphometry import MORPHOMETRY, SACRUM
from simulator.anatomy.pose import Pose
from simulator.anatomy.vertebra import NECK_SLOPE_DEG, NeckGroove, SacrumShape, VertebraShape, groove_beside
from simulator.errors import AssetError
from simulator.fields import GridField
from simulator.mesh import TriangleMesh
from simulator.patient_import.alignment import mirror_normal

__all__ = ["MeasuredVertebraShape", "BoneMeasurement", "measure_vertebra", "measure_sacrum", "find_groove",
           "find_sacral_groove"]

#: Height of the S1 body in the sacrum's frame (mm): the generator's value (a fused sacrum has no
#: lower endplate to measure it by).
S1_BODY_HEIGHT_MM = 28.0
#: Sampling step along rays and sections, mm.
_STEP_MM = 0.25


@dataclass(frozen=True)
class MeasuredVertebraShape(VertebraShape):
    """A vertebra's dimensions measured on an imported bone (mm), with the positions that the
    generated shape derives from its dimensions replaced by the measured ones."""

    measured_pedicle_center_z: float = 0.0
    measured_transverse_y: float = 0.0
    measured_transverse_center_z: float = 0.0
    measured_transverse_height: float = 10.0
    measured_transverse_thickness: float = 5.0

    @property
    def pedicle_center_z(self) -> float:
        return self.measured_pedicle_center_z

    @property
    def transverse_y(self) -> float:
        return self.measured_transverse_y

    @property
    def transverse_center_z(self) -> float:
        return self.measured_transverse_center_z

    @property
    def transverse_height(self) -> float:
        return self.measured_transverse_height

    @property
    def transverse_thickness(self) -> float:
        return self.measured_transverse_thickness

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, eq=False)
class BoneMeasurement:
    """What was measured on one bone: its pose, its shape and named points (patient frame, mm)."""

    bone: str
    pose: Pose
    shape: VertebraShape | SacrumShape
    points_mm: dict[str, np.ndarray]


def _local_distance(field: GridField, pose: Pose) -> Callable[[np.ndarray], np.ndarray]:
    return lambda points: field.signed_distance(pose.patient_from_local(np.atleast_2d(points)))


def _intervals(distance: Callable, start: np.ndarray, direction: np.ndarray, length: float) -> list[tuple[float, float]]:
    """Inside intervals (t from ``start``, mm) along a ray of ``length`` mm."""
    t = np.arange(0.0, length + _STEP_MM, _STEP_MM)
    inside = distance(start[None] + t[:, None] * direction[None]) < 0.0
    changes = np.nonzero(np.diff(inside.astype(np.int8)))[0]
    edges = list(t[changes] + 0.5 * _STEP_MM)
    if inside[0]:
        edges.insert(0, 0.0)
    if inside[-1]:
        edges.append(float(t[-1]))
    return [(edges[i], edges[i + 1]) for i in range(0, len(edges) - 1, 2)]


def _interval_at(distance: Callable, center: np.ndarray, direction: np.ndarray, half_length: float,
                 bone: str, what: str) -> tuple[float, float]:
    """The inside interval along ``direction`` through ``center`` that contains it or lies
    nearest to it (signed offsets from ``center``, mm)."""
    start = center - half_length * direction
    spans = [(a - half_length, b - half_length) for a, b in _intervals(distance, start, direction, 2 * half_length)]
    if not spans:
        raise AssetError(bone, f"cannot measure the {what}: no bone along the ray")
    return min(spans, key=lambda s: 0.0 if s[0] <= 0.0 <= s[1] else min(abs(s[0]), abs(s[1])))


def _sagittal_section(distance: Callable, half_y: float = 70.0, half_z: float = 60.0, step: float = 0.5):
    """The bone's inside on the plane x = 0 (its frame): labelled pieces, and the y, z axes."""
    y = np.arange(-half_y, half_y + step, step)
    z = np.arange(-half_z, half_z + step, step)
    yy, zz = np.meshgrid(y, z, indexing="ij")
    inside = (distance(np.column_stack([np.zeros(yy.size), yy.ravel(), zz.ravel()])) < 0.0).reshape(yy.shape)
    labels, count = ndimage.label(inside)
    return labels, count, y, z


def _body_borders(distance: Callable, bone: str) -> tuple[float, float, float, float, float, float]:
    """The body on the mid-sagittal section: front and back (y), and the endplate lines
    ``z = slope * y + intercept`` of its upper and lower borders (the bone's frame, mm)."""
    labels, count, y, z = _sagittal_section(distance)
    step = y[1] - y[0]
    pieces = [(np.argwhere(labels == i + 1)) for i in range(count)]
    pieces = [p for p in pieces if len(p) * step**2 > 150.0]  # a body's section is ~800 mm²
    if not pieces:
        raise AssetError(bone, "cannot find the vertebral body on the mid-sagittal section")
    body = min(pieces, key=lambda p: y[p[:, 0]].mean())
    columns = np.unique(body[:, 0])
    front, back = y[columns.min()], y[columns.max()]
    keep = columns[(y[columns] > front + 0.15 * (back - front)) & (y[columns] < back - 0.15 * (back - front))]
    tops = np.array([z[body[body[:, 0] == c, 1].max()] for c in keep])
    bottoms = np.array([z[body[body[:, 0] == c, 1].min()] for c in keep])
    top_slope, top_intercept = np.polyfit(y[keep], tops, 1)
    bottom_slope, bottom_intercept = np.polyfit(y[keep], bottoms, 1)
    return front, back, top_slope, top_intercept, bottom_slope, bottom_intercept


def _rotation(x_axis: np.ndarray, z_guess: np.ndarray) -> np.ndarray:
    x = x_axis / np.linalg.norm(x_axis)
    z = z_guess - (z_guess @ x) * x
    z /= np.linalg.norm(z)
    return np.column_stack([x, np.cross(z, x), z])


def _vertebra_frame(field: GridField, vertices: np.ndarray, bone: str) -> tuple[Pose, tuple]:
    """The vertebra's frame (pose in the patient frame) from its symmetry and its body."""
    superior = np.array([0.0, 0.0, 1.0])
    normal, _ = mirror_normal(vertices, superior, guess=np.array([1.0, 0.0, 0.0]))
    pose = Pose(_rotation(normal, superior), vertices.mean(axis=0))
    for _ in range(3):
        distance = _local_distance(field, pose)
        front, back, ts, ti, bs, bi = _body_borders(distance, bone)
        slope = 0.5 * (ts + bs)
        y_mid = 0.5 * (front + back)
        z_mid = 0.5 * ((ts * y_mid + ti) + (bs * y_mid + bi))
        axis_local = np.array([0.0, -slope, 1.0]) / np.hypot(slope, 1.0)
        origin = pose.patient_from_local(np.array([[0.0, y_mid, z_mid]]))[0]
        pose = Pose(_rotation(normal, pose.direction_to_patient(axis_local[None])[0]), origin)
    return pose, _body_borders(_local_distance(field, pose), bone)


def measure_vertebra(field: GridField, vertices: np.ndarray, level: str) -> BoneMeasurement:
    """Frame, dimensions and named points of an imported vertebra.

    Parameters
    ----------
    field : GridField
        The bone's signed distance in the patient frame (roughly aligned: superior near +z,
        left near +x).
    vertices : numpy.ndarray, shape (n, 3)
        Its surface points (patient frame, mm).
    level : str
        ``"L1"`` ... ``"L5"``, ``"T1"`` ... ``"T12"``.

    Raises
    ------
    AssetError
        If a part (body, canal, pedicles, transverse or spinous process) cannot be found.
    """
    pose, (front, back, ts, ti, bs, bi) = _vertebra_frame(field, vertices, level)
    d = _local_distance(field, pose)
    ex, ey, ez = np.eye(3)
    local = pose.local_from_patient(vertices)
    body_depth = back - front
    wall = 0.5 * body_depth
    width_lo, width_hi = _interval_at(d, np.zeros(3), ex, 60.0, level, "body's width")
    body_width = width_hi - width_lo
    posterior = _interval_at(d, np.array([0.0, wall - 3.0, 0.0]), ez, 40.0, level, "body's posterior height")
    anterior = _interval_at(d, np.array([0.0, -wall + 3.0, 0.0]), ez, 40.0, level, "body's anterior height")
    height_posterior, height_anterior = posterior[1] - posterior[0], anterior[1] - anterior[0]
    mid_height = 0.5 * (height_posterior + height_anterior)
    # Canal and pedicles, measured at the pedicles' height (found in turn: start in the upper
    # half of the body, where pedicles are).
    pedicle_z = 0.25 * mid_height
    for _ in range(2):
        # The laminae meet at the midline below the pedicles (above them is the interlaminar
        # window): the canal's depth is taken at the highest level where they are found.
        for z in np.arange(pedicle_z, -0.5 * mid_height - 10.0, -1.0):
            behind = _intervals(d, np.array([0.0, wall + 1.0, z]), ey, 40.0)
            if behind:
                break
        else:
            raise AssetError(level, "cannot find the lamina behind the canal at the midline")
        canal_depth = behind[0][0] + 1.0
        canal_y = wall + 0.5 * canal_depth
        to_left = _intervals(d, np.array([0.0, canal_y, pedicle_z]), ex, 40.0)
        to_right = _intervals(d, np.array([0.0, canal_y, pedicle_z]), -ex, 40.0)
        if not to_left or not to_right:
            raise AssetError(level, "cannot find the pedicles' medial walls beside the canal")
        canal_width = to_left[0][0] + to_right[0][0]
        heights, widths = [], []
        for side in (1.0, -1.0):
            x = side * (0.5 * canal_width + 3.0)
            lo, hi = _interval_at(d, np.array([x, wall + 5.0, pedicle_z]), ez, 25.0, level, "pedicle's height")
            heights.append((pedicle_z + lo, pedicle_z + hi))
            # The isthmus: the narrowest bone across the pedicle just behind the body (farther
            # back the ray runs on into the transverse process).
            spans = [_intervals(d, np.array([0.0, wall + dy, pedicle_z]), side * ex, 45.0) for dy in np.arange(1.0, 9.0)]
            widths.append(min((sp[0][1] - sp[0][0] for sp in spans if sp), default=np.nan))
        pedicle_z = float(np.mean([0.5 * (lo + hi) for lo, hi in heights]))
    pedicle_height = float(np.mean([hi - lo for lo, hi in heights]))
    pedicle_width = float(np.clip(np.nanmean(widths), 4.0, 20.0)) if np.isfinite(widths).any() else 8.0
    m = MORPHOMETRY.get(level, MORPHOMETRY["L1"])
    # Transverse processes: the surface beyond the body and pedicles, beside the pedicles' height.
    pedicle_outer = 0.5 * canal_width + pedicle_width
    reach = max(0.5 * body_width, pedicle_outer) + 6.0
    tp_y, tp_z, tp_h, tp_t, tips = [], [], [], [], []
    for side in (1.0, -1.0):
        lateral = side * local[:, 0]
        chosen = local[(lateral > reach) & (local[:, 1] > wall - 8.0) & (local[:, 1] < wall + 25.0)
                       & (np.abs(local[:, 2] - pedicle_z) < 25.0)]
        if len(chosen) < 20:
            raise AssetError(level, f"cannot find the {'left' if side > 0 else 'right'} transverse process "
                                    f"(no surface beyond {reach:.0f} mm from the midline beside the pedicle)")
        root = chosen[side * chosen[:, 0] < reach + 12.0]
        root = root if len(root) >= 10 else chosen
        tp_y.append(float(np.median(root[:, 1])))
        tp_z.append(float(np.median(root[:, 2])))
        tp_h.append(float(np.percentile(root[:, 2], 95) - np.percentile(root[:, 2], 5)))
        tp_t.append(float(np.percentile(root[:, 1], 95) - np.percentile(root[:, 1], 5)))
        tips.append(float(np.max(side * chosen[:, 0])))
    # Spinous process: the surface near the midline behind the canal; its tip is the farthest back.
    spine_points = local[(np.abs(local[:, 0]) < 6.0) & (local[:, 1] > wall + canal_depth)]
    if len(spine_points) < 10:
        raise AssetError(level, "cannot find the spinous process behind the canal")
    tip_y = float(spine_points[:, 1].max())
    near_tip = spine_points[spine_points[:, 1] > tip_y - 8.0]
    shape = MeasuredVertebraShape(
        level, float(body_width), float(body_depth), float(height_posterior), float(height_anterior), pedicle_width,
        pedicle_height, m.pedicle_transverse_angle_deg, float(canal_width), float(canal_depth), float(sum(tips)),
        tip_y - wall, float(np.ptp(near_tip[:, 2])), m.facet_angle_deg, 1.0,
        measured_pedicle_center_z=pedicle_z, measured_transverse_y=float(np.mean(tp_y)),
        measured_transverse_center_z=float(np.mean(tp_z)), measured_transverse_height=float(np.mean(tp_h)),
        measured_transverse_thickness=float(np.mean(tp_t)))
    y_mid = 0.0
    points = {
        f"body_center_{level}": np.zeros(3),
        f"superior_endplate_{level}": np.array([0.0, y_mid, 0.5 * mid_height]),
        f"inferior_endplate_{level}": np.array([0.0, y_mid, -0.5 * mid_height]),
        f"spinous_tip_{level}": np.array([0.0, tip_y, float(np.median(near_tip[:, 2]))]),
        f"pedicle_{level}_left": np.array([shape.pedicle_center_x, shape.isthmus_y, pedicle_z]),
        f"pedicle_{level}_right": np.array([-shape.pedicle_center_x, shape.isthmus_y, pedicle_z]),
    }
    return BoneMeasurement(level, pose, shape, {k: pose.patient_from_local(v[None])[0] for k, v in points.items()})


def _sacral_endplate(mesh: TriangleMesh, lateral: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre and cranial normal of the S1 superior endplate: the flat face at the cranial,
    anterior end of the sacrum near the midline (its triangles facing up and forwards, refined
    twice to those within 20° of their mean normal)."""
    vertices = mesh.vertices.astype(float)
    centroids = vertices[mesh.faces].mean(axis=1)
    normals, areas = mesh.face_normals(), mesh.face_areas_mm2()
    center = vertices.mean(axis=0)
    anterior_half = centroids[:, 1] < np.median(vertices[:, 1])
    top = centroids[anterior_half, 2].max()
    near = (centroids[:, 2] > top - 30.0) & (np.abs((centroids - center) @ lateral) < 25.0) & anterior_half
    direction = np.array([0.0, -0.5, 0.85]) / np.hypot(0.5, 0.85)
    chosen = near & (normals @ direction > 0.5)
    for cone_deg in (30.0, 20.0, 20.0):
        if not chosen.any():
            raise AssetError("sacrum", "cannot find the S1 superior endplate (no face looking up and forwards at the "
                                       "sacrum's cranial end)")
        direction = (normals[chosen] * areas[chosen, None]).sum(axis=0)
        direction /= np.linalg.norm(direction)
        chosen = near & (normals @ direction > np.cos(np.radians(cone_deg)))
    weights = areas[chosen]
    return (centroids[chosen] * weights[:, None]).sum(axis=0) / weights.sum(), direction


def measure_sacrum(field: GridField, mesh: TriangleMesh, l5: VertebraShape | None) -> BoneMeasurement:
    """Frame, dimensions and named points of an imported sacrum.

    The frame's origin is the S1 body's centre, :data:`S1_BODY_HEIGHT_MM` / 2 below the centre
    of the S1 superior endplate, z along the endplate's normal, x the normal of the plane of
    mirror symmetry (a standing patient's sacrum tilts its endplate forwards by 30-50°, so the
    endplate is found by its triangles, not on a horizontal section).
    """
    bone = "sacrum"
    vertices = mesh.vertices.astype(float)
    normal, _ = mirror_normal(vertices, np.array([0.0, 0.0, 1.0]), guess=np.array([1.0, 0.0, 0.0]))
    center, up = _sacral_endplate(mesh, normal)
    rotation = _rotation(normal, up)
    pose = Pose(rotation, center - rotation[:, 2] * 0.5 * S1_BODY_HEIGHT_MM)
    local_endplate = pose.local_from_patient(vertices[mesh.faces].mean(axis=1))
    facing = (mesh.face_normals() @ rotation[:, 2] > 0.9) & (np.abs(local_endplate[:, 2] - 0.5 * S1_BODY_HEIGHT_MM) < 3.0)
    front, back = (np.percentile(local_endplate[facing, 1], q) for q in (2, 98))
    # Centre the frame on the endplate's depth (its triangles' centroid leans to the denser side).
    pose = Pose(rotation, pose.patient_from_local(np.array([[0.0, 0.5 * (front + back), 0.0]]))[0])
    d = _local_distance(field, pose)
    ex, ey = np.eye(3)[:2]
    body_depth = back - front
    near_top = np.array([0.0, 0.0, 0.5 * S1_BODY_HEIGHT_MM - 5.0])
    lo, hi = _interval_at(d, near_top, ex, 70.0, bone, "S1 body's width")
    body_width = hi - lo
    # The canal's roof (the fused laminae) starts below the L5-S1 interlaminar window.
    for z in np.arange(near_top[2], -0.5 * S1_BODY_HEIGHT_MM - 20.0, -1.0):
        behind = _intervals(d, np.array([0.0, 0.5 * body_depth + 1.0, z]), ey, 40.0)
        if behind:
            break
    else:
        raise AssetError(bone, "cannot find the sacral canal's roof behind the S1 body")
    canal_depth = behind[0][0] + 1.0
    canal_center = np.array([0.0, 0.5 * body_depth + 0.5 * canal_depth, z])
    sides = [_intervals(d, canal_center, direction, 40.0) for direction in (ex, -ex)]
    canal_width = sum(s[0][0] for s in sides) if all(sides) else 0.8 * body_width
    local = pose.local_from_patient(vertices)
    upper = local[local[:, 2] > -20.0]
    ala_span = float(np.ptp(upper[:, 0]))
    pedicle_x = l5.pedicle_center_x if l5 is not None else 0.5 * canal_width + 6.0
    shape = SacrumShape(float(body_width), float(body_depth), S1_BODY_HEIGHT_MM, float(canal_width), float(canal_depth),
                        ala_span, SACRUM.facet_angle_deg, float(pedicle_x), 1.0)
    points = {"superior_endplate_S1": np.array([0.0, 0.0, 0.5 * S1_BODY_HEIGHT_MM]), "body_center_sacrum": np.zeros(3)}
    return BoneMeasurement(bone, pose, shape, {k: pose.patient_from_local(v[None])[0] for k, v in points.items()})


def _surface_guard(bone: str, side: int, what: str, find: Callable[[], NeckGroove]) -> NeckGroove:
    try:
        return find()
    except ValueError as error:  # surface_point: a ray that finds no surface
        raise AssetError(bone, f"cannot find the {'left' if side > 0 else 'right'} neck groove ({what}: {error})") from None


def find_groove(field: GridField, measurement: BoneMeasurement, side: int) -> NeckGroove:
    """The neck groove of an imported vertebra's superior articular process (its frame, mm):
    the generator's rule (:func:`~simulator.anatomy.vertebra.groove_beside`) on the real
    surface, starting from the measured transverse process."""
    shape = measurement.shape
    d = _local_distance(field, measurement.pose)
    top = shape.transverse_center_z + 0.5 * shape.transverse_height
    back = shape.transverse_y + 0.5 * shape.transverse_thickness
    return _surface_guard(measurement.bone, side, "superior articular process beside the transverse process",
                          lambda: groove_beside(d, d, side, top, back, NECK_SLOPE_DEG[measurement.bone],
                                                0.5 * shape.transverse_height + 0.5, from_inside=True))


def find_sacral_groove(field: GridField, measurement: BoneMeasurement, side: int) -> NeckGroove:
    """The groove between an imported sacrum's ala and its S1 superior articular process (its
    frame, mm), found like :func:`simulator.anatomy.vertebra.sacral_groove`: the process's
    posterior end 2 mm above the ala, its lateral wall 1 mm in front of that end."""
    shape = measurement.shape
    d = _local_distance(field, measurement.pose)
    # The ala's upper surface beside the process: the highest bone 12 mm lateral of the pedicle line.
    x_ala = side * (shape.pedicle_center_x + 12.0)
    above = _intervals(d, np.array([x_ala, 0.5 * shape.body_depth, 60.0]), np.array([0.0, 0.0, -1.0]), 100.0)
    if not above:
        raise AssetError("sacrum", f"cannot find the {'left' if side > 0 else 'right'} sacral ala's upper surface")
    ala_top = 60.0 - above[0][0]
    x, y = np.meshgrid(side * (0.5 * shape.canal_width + np.arange(0.0, 30.0, 0.25)), np.arange(0.0, 60.0, 0.25))
    section = np.column_stack([x.ravel(), y.ravel(), np.full(x.size, ala_top + 2.0)])
    inside = d(section) < 0.0
    if not inside.any():
        raise AssetError("sacrum", f"cannot find the {'left' if side > 0 else 'right'} S1 superior articular process above the ala")
    posterior_end = float(section[inside, 1].max())
    return _surface_guard("sacrum", side, "S1 superior articular process beside the ala",
                          lambda: groove_beside(d, d, side, ala_top, posterior_end + 3.0, NECK_SLOPE_DEG["sacrum"], 8.0,
                                                wall_y=posterior_end - 1.0, from_inside=True))


def shape_from_dict(values: dict) -> MeasuredVertebraShape | SacrumShape:
    """A measured shape from its saved fields (the manifest's ``layout``)."""
    names = {f.name for f in fields(MeasuredVertebraShape)}
    if set(values) <= names and "level" in values:
        return MeasuredVertebraShape(**values)
    return SacrumShape(**values)
