"""The C-arm: its pose (clinical angles, isocentre), its imaging chain geometry and the table.

Conventions (patient frame: mm, LPS, patient prone, origin at the L3 body centre):

- **Beam** = unit vector from the X-ray source (focal spot) to the detector centre. In the AP
  pose the source is under the table (anterior, -y) and the detector above the patient's back,
  so the beam is +y.
- **Clinical angles name where the DETECTOR goes** (the image intensifier):
  ``oblique_left_deg`` > 0 turns the detector towards the patient's left (+x), < 0 towards the
  right ("right oblique 20°" is ``oblique_left_deg=-20``); ``tilt_cranial_deg`` > 0 tilts the
  detector towards the head (+z), < 0 towards the feet ("caudal tilt 40°" is
  ``tilt_cranial_deg=-40``: the beam then runs from anterior-cranial to posterior-caudal).
- **Mechanics of a mobile C-arm beside the table**: the tilt (about the patient's x axis, the
  C's horizontal mount axis) carries the orbital rotation (about the patient's long axis z), so
  the detector direction from the isocentre is ``R_x(tilt) @ R_z(-oblique_left) @ (0, 1, 0)``,
  i.e. ``(sin o, cos o cos t, cos o sin t)``. The source sits ``source_to_isocenter_mm`` before
  the isocentre along the beam, the detector ``source_to_image_mm`` after the source.
- **Image orientation** (default): as the operator standing behind the prone patient sees
  the back, i.e. as seen from the detector looking towards the source: the head at the top and,
  in AP, the patient's left on the image's left (a PA view). Column axis = ``R @ (-1, 0, 0)``,
  row axis = ``R @ (0, 0, -1)`` with ``R`` the rotation above; ``flip_horizontal`` and
  ``flip_vertical`` mirror the display.

Examples
--------
>>> pose = oblique("right", 20.0)
>>> pose.oblique_left_deg
-20.0
>>> [round(float(c), 3) for c in ap().beam_direction]
[0.0, 1.0, 0.0]
>>> [round(float(c), 3) for c in CArmPose(tilt_cranial_deg=-40.0).beam_direction]
[0.0, 0.766, -0.643]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from simulator._validation import check_points, check_range
from simulator.errors import CollisionError, ParameterError

__all__ = ["CArmPose", "CArmGeometry", "Table", "ap", "oblique", "lateral", "pose_from_beam", "check_reachable",
           "MAX_OBLIQUE_DEG", "MAX_TILT_DEG"]

#: Largest orbital rotation either way (deg); a lateral is 90 (Cios alpha reaches 110, reference §1).
MAX_OBLIQUE_DEG = 110.0
#: Largest cranio-caudal tilt either way (deg); the table usually stops the C-arm before this.
MAX_TILT_DEG = 90.0


def _rotation_x(angle_deg: float) -> np.ndarray:
    a = math.radians(angle_deg)
    return np.array([[1.0, 0.0, 0.0], [0.0, math.cos(a), -math.sin(a)], [0.0, math.sin(a), math.cos(a)]])


def _rotation_z(angle_deg: float) -> np.ndarray:
    a = math.radians(angle_deg)
    return np.array([[math.cos(a), -math.sin(a), 0.0], [math.sin(a), math.cos(a), 0.0], [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class CArmPose:
    """Where the C-arm is: two clinical angles and the isocentre (the point the beam is aimed at).

    Parameters
    ----------
    oblique_left_deg : float, default: 0
        Orbital rotation in degrees; positive turns the detector towards the patient's left,
        negative towards the right (-110 to 110; a left lateral is 90).
    tilt_cranial_deg : float, default: 0
        Cranio-caudal tilt in degrees; positive tilts the detector towards the head, negative
        towards the feet (caudal) (-90 to 90).
    isocenter_mm : tuple of float, default: (0, 0, 0)
        Isocentre in mm, patient frame (the table/isocentre pan moves it).

    Examples
    --------
    >>> CArmPose(oblique_left_deg=90.0).beam_direction.round(3).tolist()
    [1.0, 0.0, 0.0]
    """

    oblique_left_deg: float = 0.0
    tilt_cranial_deg: float = 0.0
    isocenter_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "oblique_left_deg",
                           check_range(self.oblique_left_deg, "oblique_left_deg", -MAX_OBLIQUE_DEG, MAX_OBLIQUE_DEG, "deg"))
        object.__setattr__(self, "tilt_cranial_deg",
                           check_range(self.tilt_cranial_deg, "tilt_cranial_deg", -MAX_TILT_DEG, MAX_TILT_DEG, "deg"))
        iso = check_points(self.isocenter_mm, "isocenter_mm")
        if len(iso) != 1:
            raise ParameterError("isocenter_mm", self.isocenter_mm, "one point (x, y, z) in mm")
        object.__setattr__(self, "isocenter_mm", tuple(float(v) for v in iso[0]))

    @property
    def rotation(self) -> np.ndarray:
        """``R_x(tilt) @ R_z(-oblique_left)``: maps the AP pose's directions to this pose's."""
        return _rotation_x(self.tilt_cranial_deg) @ _rotation_z(-self.oblique_left_deg)

    @property
    def beam_direction(self) -> np.ndarray:
        """Unit vector from the source to the detector in the patient frame."""
        return self.rotation @ np.array([0.0, 1.0, 0.0])

    def panned(self, offset_mm: object) -> "CArmPose":
        """The same angles with the isocentre moved by ``offset_mm`` (a table pan), mm."""
        offset = check_points(offset_mm, "offset_mm")[0]
        return replace(self, isocenter_mm=tuple(np.asarray(self.isocenter_mm) + offset))

    def describe(self) -> str:
        """Clinical name, e.g. ``"right oblique 20°, caudal 35°"``."""
        o, t = round(self.oblique_left_deg, 1), round(self.tilt_cranial_deg, 1)
        parts = []
        if abs(abs(o) - 90.0) < 1e-9:
            parts.append(f"{'left' if o > 0 else 'right'} lateral")
        elif o:
            parts.append(f"{'left' if o > 0 else 'right'} oblique {abs(o):g}°")
        if t:
            parts.append(f"{'cranial' if t > 0 else 'caudal'} {abs(t):g}°")
        return ", ".join(parts) or "AP"

    def to_dict(self) -> dict:
        """Machine-readable pose (angles in degrees, mm), with the beam direction."""
        return {"oblique_left_deg": self.oblique_left_deg, "tilt_cranial_deg": self.tilt_cranial_deg,
                "isocenter_mm": list(self.isocenter_mm), "beam_direction": [round(float(v), 6) for v in self.beam_direction],
                "name": self.describe()}


def ap(isocenter_mm: object = (0.0, 0.0, 0.0)) -> CArmPose:
    """Anteroposterior pose (beam +y, source under the table)."""
    return CArmPose(0.0, 0.0, tuple(check_points(isocenter_mm, "isocenter_mm")[0]))


def oblique(side: str, angle_deg: float, isocenter_mm: object = (0.0, 0.0, 0.0), *, tilt_cranial_deg: float = 0.0) -> CArmPose:
    """Oblique pose with the detector turned ``angle_deg`` towards the patient's ``side``.

    Parameters
    ----------
    side : {"left", "right"}
        Where the detector goes (an ipsilateral oblique for a right-sided target is ``"right"``).
    angle_deg : float
        0 to 110 degrees.

    Examples
    --------
    >>> oblique("left", 25.0).oblique_left_deg
    25.0
    """
    sign = _side_sign(side)
    angle = check_range(angle_deg, "angle_deg", 0.0, MAX_OBLIQUE_DEG, "deg")
    return CArmPose(sign * angle, tilt_cranial_deg, tuple(check_points(isocenter_mm, "isocenter_mm")[0]))


def lateral(side: str, isocenter_mm: object = (0.0, 0.0, 0.0)) -> CArmPose:
    """Lateral pose with the detector on the patient's ``side`` (beam towards that side)."""
    return oblique(side, 90.0, isocenter_mm)


def pose_from_beam(beam_direction: object, isocenter_mm: object = (0.0, 0.0, 0.0)) -> CArmPose:
    """The pose whose beam (source to detector) runs along ``beam_direction``.

    With ``b`` the unit beam, ``oblique = asin(b_x)`` and ``tilt = atan2(b_z, b_y)`` while the
    beam has a posterior component (the usual case, detector over the back); a beam slightly
    anterior of a lateral is reached by an orbit beyond 90° (up to 110°, like the Cios) and a
    tilt within ±90°. A beam the C-arm cannot produce (detector under the table) is refused.

    Examples
    --------
    >>> pose = pose_from_beam([0.0, 0.766, -0.643])
    >>> round(pose.tilt_cranial_deg, 1)
    -40.0
    >>> round(pose_from_beam([0.99, -0.141, 0.0]).oblique_left_deg, 1)
    98.1
    """
    beam = check_points(beam_direction, "beam_direction")[0]
    length = float(np.linalg.norm(beam))
    if length == 0.0:
        raise ParameterError("beam_direction", beam_direction, "a non-zero vector")
    b = beam / length
    oblique_deg = math.degrees(math.asin(float(np.clip(b[0], -1.0, 1.0))))
    tilt_deg = math.degrees(math.atan2(b[2], b[1])) if abs(b[0]) < 1.0 - 1e-12 else 0.0
    if abs(tilt_deg) > MAX_TILT_DEG:
        # The same beam with the orbit past the lateral: cos(oblique) < 0 flips the tilt by 180°.
        oblique_deg = math.copysign(180.0, oblique_deg or 1.0) - oblique_deg
        tilt_deg = tilt_deg - math.copysign(180.0, tilt_deg)
    if abs(oblique_deg) > MAX_OBLIQUE_DEG or abs(tilt_deg) > MAX_TILT_DEG:
        raise ParameterError("beam_direction", [round(float(v), 3) for v in b],
                             f"a beam the C-arm can produce (orbit within ±{MAX_OBLIQUE_DEG:g}°, tilt within "
                             f"±{MAX_TILT_DEG:g}°): the detector cannot be under the table")
    return CArmPose(oblique_deg, tilt_deg, tuple(check_points(isocenter_mm, "isocenter_mm")[0]))


def _side_sign(side: str) -> float:
    if side not in ("left", "right"):
        raise ParameterError("side", side, "'left' or 'right' (the patient side the detector turns to)")
    return 1.0 if side == "left" else -1.0


@dataclass(frozen=True)
class Table:
    """The table under the prone patient, for collision checks (a slab infinite along z).

    Parameters
    ----------
    top_y_mm : float, default: -127
        Height (patient y, mm) of the table top: the default patient's anterior skin.
    thickness_mm : float, default: 40
        Table top thickness, mm (carbon-fibre tops are 30-50 mm; design default).
    width_mm : float, default: 520
        Table width, mm, centred on x = 0 (design default).
    """

    top_y_mm: float = -127.0
    thickness_mm: float = 40.0
    width_mm: float = 520.0


@dataclass(frozen=True)
class CArmGeometry:
    """The imaging chain's fixed geometry: distances, detector and field, table and housings.

    Defaults follow ``shared/reference/fluoroscopy.md`` §1: the Siemens Cios source-to-image
    distance (1020 mm) and source-to-isocentre distance (530 mm, magnification 1.92) from
    DeepDRR's ``mobile_carm.py``, and a 23 cm (9-inch) image intensifier field on 512² pixels
    (0.45 mm pixels, UMDNS C0182626).

    Parameters
    ----------
    source_to_image_mm : float, default: 1020
        Source (focal spot) to detector distance, 500 to 2000 mm.
    source_to_isocenter_mm : float, default: 530
        Source to isocentre, mm (less than ``source_to_image_mm``).
    detector_size_mm : float, default: 230
        Side of the square detector, 50 to 500 mm.
    pixels : int, default: 512
        Pixels along each side, 16 to 2048.
    circular_field : bool, default: True
        An image intensifier's round field (black outside); ``False`` for a square flat panel.
    collimation_mm : float or None, default: None
        Diameter (round field) or side (square field) of the collimated field at the detector, mm;
        ``None`` is the full field. The dose-area product scales with its area.
    flip_horizontal, flip_vertical : bool, default: False
        Mirror the display (left-right, top-bottom).
    table : Table
        The table, for collision checks.
    source_housing_radius_mm, detector_housing_radius_mm : float, default: 100, 200
        Radii of spheres round the focal spot and the detector centre that must stay clear of the
        table (design defaults: a compact monobloc tube, a 23 cm intensifier housing).
    """

    source_to_image_mm: float = 1020.0
    source_to_isocenter_mm: float = 530.0
    detector_size_mm: float = 230.0
    pixels: int = 512
    circular_field: bool = True
    collimation_mm: float | None = None
    flip_horizontal: bool = False
    flip_vertical: bool = False
    table: Table = field(default_factory=Table)
    source_housing_radius_mm: float = 100.0
    detector_housing_radius_mm: float = 200.0

    def __post_init__(self) -> None:
        check_range(self.source_to_image_mm, "source_to_image_mm", 500.0, 2000.0, "mm")
        check_range(self.source_to_isocenter_mm, "source_to_isocenter_mm", 100.0, self.source_to_image_mm - 50.0, "mm")
        check_range(self.detector_size_mm, "detector_size_mm", 50.0, 500.0, "mm")
        if isinstance(self.pixels, bool) or not isinstance(self.pixels, (int, np.integer)) or not 16 <= self.pixels <= 2048:
            raise ParameterError("pixels", self.pixels, "a whole number of pixels per side, 16 to 2048")
        if self.collimation_mm is not None:
            check_range(self.collimation_mm, "collimation_mm", 10.0, self.detector_size_mm, "mm")
        check_range(self.source_housing_radius_mm, "source_housing_radius_mm", 0.0, 500.0, "mm")
        check_range(self.detector_housing_radius_mm, "detector_housing_radius_mm", 0.0, 500.0, "mm")

    @property
    def pixel_spacing_mm(self) -> float:
        """Pixel size at the detector, mm."""
        return self.detector_size_mm / self.pixels

    @property
    def magnification(self) -> float:
        """Magnification of an object at the isocentre (SID / source-to-isocentre)."""
        return self.source_to_image_mm / self.source_to_isocenter_mm

    @property
    def field_size_mm(self) -> float:
        """Diameter (round) or side (square) of the exposed field at the detector, mm."""
        return self.detector_size_mm if self.collimation_mm is None else float(self.collimation_mm)

    @property
    def field_area_at_detector_cm2(self) -> float:
        """Area of the exposed field in the detector plane, cm²."""
        side_cm = self.field_size_mm / 10.0
        return math.pi * side_cm**2 / 4.0 if self.circular_field else side_cm**2

    def with_pixels(self, pixels: int) -> "CArmGeometry":
        """The same geometry sampled on ``pixels`` per side."""
        return replace(self, pixels=pixels)

    def source_mm(self, pose: CArmPose) -> np.ndarray:
        """Focal spot position in the patient frame, mm."""
        return np.asarray(pose.isocenter_mm) - self.source_to_isocenter_mm * pose.beam_direction

    def detector_center_mm(self, pose: CArmPose) -> np.ndarray:
        """Detector centre in the patient frame, mm."""
        return self.source_mm(pose) + self.source_to_image_mm * pose.beam_direction


def check_reachable(geometry: CArmGeometry, pose: CArmPose) -> None:
    """Refuse a pose in which the tube or the detector housing would hit the table.

    The table is a slab (``geometry.table``) infinite along the patient's long axis; the tube and
    the detector are spheres of the housing radii round the focal spot and the detector centre.

    Raises
    ------
    CollisionError
        Naming the pose, the part that collides and how far it is inside the table.

    Examples
    --------
    >>> check_reachable(CArmGeometry(), CArmPose(tilt_cranial_deg=-40.0, isocenter_mm=(0.0, 2.0, -38.0)))
    >>> check_reachable(CArmGeometry(), CArmPose(tilt_cranial_deg=-75.0))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    simulator.errors.CollisionError: pose caudal 75° is not reachable: the X-ray tube housing would be 100 mm inside the table ...
    """
    table = geometry.table
    for part, centre, radius in (("X-ray tube housing", geometry.source_mm(pose), geometry.source_housing_radius_mm),
                                 ("detector housing", geometry.detector_center_mm(pose), geometry.detector_housing_radius_mm)):
        # Distance from the sphere centre to the slab (0 inside), in the axial plane.
        dx = max(abs(centre[0]) - 0.5 * table.width_mm, 0.0)
        dy = max(table.top_y_mm - table.thickness_mm - centre[1], centre[1] - table.top_y_mm, 0.0)
        gap = math.hypot(dx, dy)
        if gap < radius:
            raise CollisionError(pose.describe(), part, radius - gap)
