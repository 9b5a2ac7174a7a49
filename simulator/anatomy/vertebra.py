"""Signed-distance models of a lumbar vertebra and of the sacrum, in the bone's own frame.

Local frame of every bone: origin at the centre of the vertebral body (mid-height, centre of
the endplate), x to the patient's left, y posterior, z cranial — the patient frame before the
spine's curvature is applied (:mod:`simulator.anatomy.spine`).

A vertebra is a smooth union of simple parts placed from the morphometry table: body with
wedged, slightly concave endplates; pedicles angled by their transverse angle; laminae;
spinous process; transverse processes; superior and inferior articular processes whose joint
surfaces are planes at the published facet angle. Facet joints are described once, in the
frame of the lower vertebra (:class:`FacetJoint`), so the upper vertebra's inferior process
and the lower vertebra's superior process face each other across the same joint space.
Finally the canal is cut out, so canal width and depth are exactly the table's.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from functools import cached_property, lru_cache

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.ndimage import map_coordinates
from scipy.spatial import cKDTree

from simulator.anatomy import sdf
from simulator.anatomy.morphometry import LevelMorphometry, SacrumMorphometry
from simulator.anatomy.paths import smooth_path, surface_point
from simulator.anatomy.pose import Pose

__all__ = ["VertebraShape", "FacetJoint", "NeckGroove", "neck_groove", "sacral_groove", "lumbar_vertebra_distance", "sacrum_distance",
           "SacrumShape", "mamillary_and_accessory", "groove_beside", "NECK_SLOPE_DEG"]

#: Fillet radius where parts of one bone meet (mm).
FILLET_MM = 2.5
#: Joint space between facing articular surfaces (cartilage and cavity), mm.
FACET_GAP_MM = 2.0
#: Slope of the groove on the lateral neck of each superior articular process, in degrees below
#: the bone's axial plane going posteriorly: the medial branch of the level above runs down it
#: from the transverse process to the mamillo-accessory notch, and a needle laid along the nerve
#: lies at this caudal angle. Design values from Tran et al. (Pain Med 2024;25:13): parallel
#: placement on the posterior half of the SAP neck at modal caudal angles of 40-50° for the L1-L2
#: medial branches (grooves of L2, L3) and 50-60° for L3-L5 (grooves of L4, L5, and the sacrum).
NECK_SLOPE_DEG: dict[str, float] = {"L1": 45.0, "L2": 45.0, "L3": 45.0, "L4": 55.0, "L5": 55.0, "sacrum": 65.0}


@dataclass(frozen=True)
class VertebraShape:
    """Dimensions of one lumbar vertebra, already scaled to the patient (mm, degrees).

    ``scale`` is the patient's size factor. The distance functions are evaluated on the
    unit-scale shape (:meth:`unit`) in coordinates divided by ``scale``, so every length of the
    bone, the built-in offsets included, scales exactly; the derived positions below apply the
    same factor.
    """

    level: str
    body_width: float
    body_depth: float
    height_posterior: float
    height_anterior: float
    pedicle_width: float
    pedicle_height: float
    pedicle_angle_deg: float
    canal_width: float
    canal_depth: float
    transverse_span: float
    spinous_length: float
    spinous_height: float
    facet_angle_deg: float
    scale: float = 1.0

    @classmethod
    def from_morphometry(cls, m: LevelMorphometry, scale: float) -> "VertebraShape":
        return cls(
            m.level, m.body_width_mm * scale, m.body_depth_mm * scale, m.body_height_posterior_mm * scale,
            m.body_height_anterior_mm * scale, m.pedicle_width_mm * scale, m.pedicle_height_mm * scale,
            m.pedicle_transverse_angle_deg, m.canal_width_mm * scale, m.canal_depth_mm * scale,
            m.transverse_span_mm * scale, m.spinous_length_mm * scale, m.spinous_height_mm * scale,
            m.facet_angle_deg, scale,
        )

    def unit(self) -> "VertebraShape":
        """The same vertebra at size factor 1."""
        return _unit(self)

    @property
    def mid_height(self) -> float:
        return 0.5 * (self.height_posterior + self.height_anterior)

    @property
    def endplate_slope(self) -> float:
        """dz/dy of the superior endplate (negative y is anterior): half the body's wedge."""
        return (self.height_anterior - self.height_posterior) / (2.0 * self.body_depth)

    @property
    def posterior_wall_y(self) -> float:
        return 0.5 * self.body_depth

    @property
    def pedicle_center_z(self) -> float:
        """Pedicles sit in the upper half of the body, their roof 2 mm below the endplate."""
        return 0.5 * self.mid_height - 2.0 * self.scale - 0.5 * self.pedicle_height

    @property
    def pedicle_center_x(self) -> float:
        """|x| of the pedicle axis at its isthmus, so its medial wall is at canal_width / 2."""
        return 0.5 * self.canal_width + 0.5 * self.pedicle_width / np.cos(np.radians(self.pedicle_angle_deg))

    @property
    def isthmus_y(self) -> float:
        return self.posterior_wall_y + 5.0 * self.scale

    @property
    def transverse_y(self) -> float:
        """y of the transverse process axis (anterior to the articular pillar)."""
        return self.posterior_wall_y + (10.0 if self.level == "L5" else 9.0) * self.scale

    @property
    def transverse_thickness(self) -> float:
        """Antero-posterior thickness; the L5 process is about twice as thick (Rädel & Paton 2024)."""
        return (9.0 if self.level == "L5" else 5.0) * self.scale

    @property
    def transverse_height(self) -> float:
        return (12.0 if self.level == "L5" else 10.0) * self.scale

    @property
    def transverse_center_z(self) -> float:
        return self.pedicle_center_z - (2.0 if self.level == "L5" else 1.0) * self.scale

    def superior_joint(self, side: int, disc_above_mm: float) -> "FacetJoint":
        """The facet joint above this vertebra (its superior articular process), in its frame."""
        k = self.scale
        z_low = self.pedicle_center_z + 2.0 * k
        z_high = 0.5 * self.mid_height + 0.5 * disc_above_mm + 7.0 * k
        center = np.array([side * (self.pedicle_center_x + 1.0 * k), self.posterior_wall_y + 15.0 * k, 0.5 * (z_low + z_high)])
        return FacetJoint(side, center, self.facet_angle_deg, 7.0 * k, 0.5 * (z_high - z_low))


@lru_cache(maxsize=64)
def _unit(shape):
    """A shape dataclass with every length divided by its scale, and scale 1.

    Cached: the sacrum keeps tables of its axis, built once per shape.
    """
    lengths = {f.name: getattr(shape, f.name) / shape.scale for f in fields(shape)
               if isinstance(getattr(shape, f.name), float) and not f.name.endswith("_deg") and f.name != "scale"}
    return replace(shape, **lengths, scale=1.0)


@dataclass(frozen=True, eq=False)
class FacetJoint:
    """A facet joint, in the frame of the lower bone (the one with the superior process).

    The joint surface is the plane through ``center`` containing the local z axis and making
    ``angle_deg`` with the midsagittal plane. The superior articular process lies on its
    anterolateral side, the upper bone's inferior process on its posteromedial side, with
    :data:`FACET_GAP_MM` between them.
    """

    side: int
    center: np.ndarray
    angle_deg: float
    half_length: float
    half_height: float
    #: How far the superior process reaches below the joint, into its bone (mm).
    process_extra_down: float = 6.0

    def scaled(self, factor: float) -> "FacetJoint":
        """The same joint with every length multiplied by ``factor``."""
        return FacetJoint(self.side, self.center * factor, self.angle_deg, self.half_length * factor,
                          self.half_height * factor, self.process_extra_down * factor)

    def axes(self) -> np.ndarray:
        """Rows: u along the joint line (posterolateral), n normal (posteromedial), z."""
        a = np.radians(self.angle_deg)
        u = np.array([self.side * np.sin(a), np.cos(a), 0.0])
        n = np.array([-self.side * np.cos(a), np.sin(a), 0.0])
        return np.array([u, n, [0.0, 0.0, 1.0]])

    def superior_process(self, points: np.ndarray, thickness: float = 7.5) -> np.ndarray:
        """The superior articular process: a plate on the anterolateral side of the joint.

        Its free (upper) end is domed, as on real vertebrae, while the joint surface stays flat
        over the joint's middle.
        """
        extra_down = self.process_extra_down
        u, n, z = self.axes()
        center = self.center - n * (0.5 * FACET_GAP_MM + 0.5 * thickness) - z * 0.5 * extra_down
        half = (self.half_length, 0.5 * thickness, self.half_height + 0.5 * extra_down)
        plate = sdf.rounded_box(points, center, half, self.axes(), radius=0.5 * thickness - 0.2)
        return _domed(plate, points, center, half, self.axes(), upwards=True)

    def inferior_process(self, points: np.ndarray, thickness: float = 7.5, extra_up: float = 8.0) -> np.ndarray:
        """The upper bone's inferior articular process: a plate on the posteromedial side, domed below."""
        u, n, z = self.axes()
        center = self.center + n * (0.5 * FACET_GAP_MM + 0.5 * thickness) + z * (0.5 * extra_up + 1.0)
        half = (self.half_length - 1.0, 0.5 * thickness, self.half_height - 1.0 + 0.5 * extra_up)
        plate = sdf.rounded_box(points, center, half, self.axes(), radius=0.5 * thickness - 0.2)
        return _domed(plate, points, center, half, self.axes(), upwards=False)


def _domed(plate: np.ndarray, points: np.ndarray, center: np.ndarray, half: tuple[float, float, float],
           axes: np.ndarray, upwards: bool) -> np.ndarray:
    """A plate of half sizes ``half`` with one end (the upper or lower) rounded by an ellipsoid.

    The ellipsoid, centred 30 % of the plate's half height towards the other end, leaves the
    plate's middle untouched and narrows its free end to about a third of its length. It is only
    evaluated near the plate: farther than 8 mm the plate's own distance (a lower bound) stands.
    """
    shift = -0.3 * half[2] if upwards else 0.3 * half[2]
    near = plate < 8.0
    result = plate.copy()
    dome = sdf.ellipsoid(points[near], center + axes[2] * shift, (1.12 * half[0], 3.0 * half[1], 1.35 * half[2]), axes)
    result[near] = sdf.smooth_intersection(plate[near], dome, 2.0)
    return result


@dataclass(frozen=True, eq=False)
class NeckGroove:
    """Where a medial branch runs down the neck of a superior articular process, in the frame of
    the bone that carries the process (mm).

    The branch crosses the upper border of the transverse process at its root, in the corner
    against the lateral face of the superior articular process, and then, "still hugging the neck
    of the superior articular process, passes caudally and slightly dorsally" behind the root of
    the transverse process to the notch between the mamillary and accessory processes, where it
    hooks medially round the caudal aspect of the process (Bogduk, Clinical Anatomy of the Lumbar
    Spine; Saito et al. 2013). On the posterior half of the neck its course is parasagittal (Tran
    et al. 2022), falling at about the caudal angle at which a needle is laid along it (Tran et al.
    2024; :data:`NECK_SLOPE_DEG`).

    ``apex`` is the back of the transverse process's upper border against the process; the
    branch leaves it along :attr:`direction` (``slope_deg`` below the axial plane, posteriorly)
    for ``length_mm``, beside the wall ``x = wall_x`` (the lateral face of the neck). Behind the
    transverse process the neck is no wider than that wall: :meth:`distance` is the channel cut
    out of the articular plate there, ``width_mm`` wide, so the branch and a needle laid along it
    have room.
    """

    side: int
    apex: np.ndarray
    wall_x: float
    slope_deg: float
    length_mm: float
    width_mm: float
    #: Where the channel starts, just behind the transverse process (y, mm).
    channel_front_y: float

    @property
    def direction(self) -> np.ndarray:
        """Unit vector down the groove (posterior and caudal), in the bone's frame."""
        a = np.radians(self.slope_deg)
        return np.array([0.0, np.cos(a), -np.sin(a)])

    def point(self, along_mm: float | np.ndarray) -> np.ndarray:
        """Points of the groove's line, ``along_mm`` down from the apex, shape (n, 3)."""
        along = np.atleast_1d(np.asarray(along_mm, dtype=float))
        return self.apex[None] + along[:, None] * self.direction[None]

    @property
    def notch(self) -> np.ndarray:
        """The groove's lower end, where the nerve turns medially round the process."""
        return self.point(self.length_mm)[0]

    def scaled(self, factor: float) -> "NeckGroove":
        """The same groove with every length multiplied by ``factor``."""
        return NeckGroove(self.side, self.apex * factor, self.wall_x * factor, self.slope_deg, self.length_mm * factor,
                          self.width_mm * factor, self.channel_front_y * factor)

    def distance(self, points: np.ndarray) -> np.ndarray:
        """Signed distance (mm) to the channel cut out of the neck behind the transverse process:
        lateral of the wall, from just behind the transverse process to 4 mm behind the notch,
        from 3 mm below the notch to 2.5 mm above the apex."""
        notch, side = self.notch, self.side
        low = np.array([self.wall_x, self.channel_front_y, notch[2] - 3.0])
        high = np.array([self.wall_x + side * self.width_mm, notch[1] + 4.0, self.apex[2] + 2.5])
        center, half = 0.5 * (low + high), 0.5 * np.abs(high - low)
        return sdf.rounded_box(points, center, tuple(half), None, 1.0)


def groove_beside(plate, below, side: int, top: float, back: float, slope_deg: float, descent: float,
                  wall_y: float | None = None, *, from_inside: bool = False) -> NeckGroove:
    """A neck groove at unit scale: beside the articular plate ``plate``, behind the bony shelf
    ``below`` (a transverse process, the sacral ala), both signed-distance functions.

    The wall is the plate's lateral extent 2 mm above the shelf's upper surface, at ``wall_y``
    (default: 0.3 mm behind the shelf's back); the apex is on that surface 1 mm in front of the
    shelf's back, measured 1 mm lateral of the wall (a transverse process tilts backwards and, at
    L5, rises laterally). ``top`` and ``back`` are first guesses of the shelf's upper surface (z)
    and back (y); ``descent`` is how far the groove falls (mm).

    With ``from_inside`` the shelf's back and upper surface are found leaving it from its
    deepest point within 8 mm in front of and below the guesses (backwards, upwards) rather than
    arriving from behind and above: on a real bone the mamillary process can stand behind the
    shelf where the generated one has nothing.
    """
    lateral, up, forwards = np.array([side, 0.0, 0.0]), np.array([0.0, 0.0, 1.0]), np.array([0.0, -1.0, 0.0])
    wall_x = 0.0
    for _ in range(2):  # the wall depends on where the back is, and the back on the wall's x
        far_above = np.array([side * 80.0, back + 0.3 if wall_y is None else wall_y, top + 2.0])
        wall_x = float(surface_point(lambda p: -plate(p), far_above, -lateral, 80.0)[0])
        beside = wall_x + side * 1.0
        if from_inside:
            # From the deepest point of the shelf within 8 mm in front of and below the guesses.
            y, z = (g.ravel() for g in np.meshgrid(np.arange(back - 8.0, back + 0.01, 0.5), np.arange(top - 8.0, top + 0.01, 0.5)))
            window = np.column_stack([np.full(y.size, beside), y, z])
            deepest = window[int(np.argmin(below(window)))]
            back = float(surface_point(below, deepest, -forwards, 24.0)[1])
            column = np.column_stack([np.full(17, beside), np.full(17, back - 1.0), np.arange(top - 8.0, top + 0.01, 0.5)])
            top = float(surface_point(below, column[int(np.argmin(below(column)))], up, 24.0)[2])
        else:
            back = float(surface_point(lambda p: -below(p), np.array([beside, back + 12.0, top - 2.5]), forwards, 24.0)[1])
            top = float(surface_point(lambda p: -below(p), np.array([beside, back - 1.0, top + 12.0]), -up, 24.0)[2])
    length = descent / np.sin(np.radians(slope_deg))
    return NeckGroove(side, np.array([wall_x, back - 1.0, top]), wall_x, slope_deg, float(length), 4.0, back + 0.3)


@lru_cache(maxsize=256)
def neck_groove(shape: "VertebraShape", joint: FacetJoint) -> NeckGroove:
    """The neck groove of one superior articular process of a lumbar vertebra (its frame, mm).

    Beside the articular plate (:meth:`FacetJoint.superior_process`), behind the transverse
    process; it falls at :data:`NECK_SLOPE_DEG` to half a millimetre below the middle of the
    transverse process. Cached: the bone's distance function asks for it at every call.
    """
    k = shape.scale
    unit, unit_joint = shape.unit(), joint.scaled(1.0 / k)
    groove = groove_beside(unit_joint.superior_process, lambda p: _transverse_processes(p, unit), joint.side,
                            unit.transverse_center_z + 0.5 * unit.transverse_height,
                            unit.transverse_y + 0.5 * unit.transverse_thickness, NECK_SLOPE_DEG[shape.level],
                            0.5 * unit.transverse_height + 0.5)
    return groove.scaled(k)


@lru_cache(maxsize=16)
def sacral_groove(shape: "SacrumShape", joint: FacetJoint) -> NeckGroove:
    """The groove the L5 dorsal ramus runs down, between the sacral ala and the root of the S1
    superior articular process (sacrum frame, mm): beside the articular plate, behind the ala's
    upper surface, falling at :data:`NECK_SLOPE_DEG` ``["sacrum"]`` to the caudal end of the
    process (Bogduk's description; Lau et al. 2004: the electrode lies opposite the middle and
    posterior thirds of the S1 superior articular process). The process ends in front of the back
    of the ala: the wall is its lateral extent 1 mm in front of its posterior end, and the ramus
    turns down over the back of the ala behind it (nothing is carved)."""
    k = shape.scale
    unit, unit_joint = shape.unit(), joint.scaled(1.0 / k)

    def ala(points: np.ndarray) -> np.ndarray:
        s, t = unit.along_axis(points)
        return _sacral_mass(points, unit, s, t)

    # The process's posterior end 2 mm above the ala, on a 0.1 mm raster of its axial section.
    x, y = np.meshgrid(unit_joint.center[0] + joint.side * np.arange(-10.0, 20.0, 0.25),
                       unit_joint.center[1] + np.arange(-10.0, 15.0, 0.1))
    section = np.column_stack([x.ravel(), y.ravel(), np.full(x.size, unit.ala_top_z + 2.0)])
    posterior_end = float(section[unit_joint.superior_process(section) < 0.0, 1].max())
    groove = groove_beside(unit_joint.superior_process, ala, joint.side, unit.ala_top_z, posterior_end + 3.0,
                            NECK_SLOPE_DEG["sacrum"], 0.8 * unit_joint.process_extra_down, wall_y=posterior_end - 1.0)
    return groove.scaled(k)


def _body(points: np.ndarray, shape: VertebraShape, concavity_mm: float = 1.5) -> np.ndarray:
    """Vertebral body: elliptic footprint flattened posteriorly, wedged concave endplates."""
    x, y, z = points.T
    a, b = 0.5 * shape.body_width, 0.5 * shape.body_depth
    # Elliptic footprint whose front is at -b, cut flat at the posterior wall (+b).
    # Waist: the walls are about 1.5 mm concave at mid-height.
    waist = 1.0 - 0.06 * np.clip(1.0 - (2.0 * z / shape.mid_height) ** 2, 0.0, 1.0)
    footprint = sdf.ellipse_2d(x, y - 3.0, a * waist, (b + 3.0) * waist)
    footprint = sdf.smooth_intersection(footprint, y - shape.posterior_wall_y, 3.0)
    slope = shape.endplate_slope
    norm = np.sqrt(1.0 + slope**2)
    top = (z - (0.5 * shape.mid_height - y * slope)) / norm
    bottom = ((-0.5 * shape.mid_height + y * slope) - z) / norm
    body = sdf.smooth_intersection(footprint, np.maximum(top, bottom), 1.5)
    # Endplate concavity: shallow dishes cut into both endplates.
    for sign in (1.0, -1.0):
        dish_center = np.array([0.0, 0.0, sign * (0.5 * shape.mid_height + 10.0 - concavity_mm)])
        dish = sdf.ellipsoid(points, dish_center, (0.36 * shape.body_width, 0.36 * shape.body_depth, 10.0))
        body = sdf.smooth_subtract(body, dish, 1.0)
    return body


def _pedicles(points: np.ndarray, shape: VertebraShape) -> np.ndarray:
    angle = np.radians(shape.pedicle_angle_deg)
    parts = []
    for side in (1, -1):
        along = np.array([side * np.sin(angle), np.cos(angle), 0.0])
        across = np.array([side * np.cos(angle), -np.sin(angle), 0.0])
        # From 4 mm behind the isthmus to 12 mm in front of it: well into the body.
        center = np.array([side * shape.pedicle_center_x, shape.isthmus_y, shape.pedicle_center_z]) - along * 4.0
        radius = 0.45 * min(shape.pedicle_width, shape.pedicle_height)
        half = (0.5 * shape.pedicle_width, 12.0, 0.5 * shape.pedicle_height)
        parts.append(sdf.rounded_box(points, center, half, np.array([across, along, [0, 0, 1.0]]), radius))
    return np.minimum(*parts)


def _transverse_processes(points: np.ndarray, shape: VertebraShape) -> np.ndarray:
    parts = []
    tilt = np.radians(8.0 if shape.level != "L5" else 0.0)   # lumbar TPs point slightly backwards
    rise = np.radians(12.0 if shape.level == "L5" else 0.0)  # L5 TP points up and out
    for side in (1, -1):
        along = np.array([side * np.cos(tilt) * np.cos(rise), np.sin(tilt), np.sin(rise)])
        along /= np.linalg.norm(along)
        posterior = np.array([-side * np.sin(tilt), np.cos(tilt), 0.0])
        up = np.cross(along, posterior) * side
        root_x = shape.pedicle_center_x
        tip_x = 0.5 * shape.transverse_span
        half_t, half_h = 0.5 * shape.transverse_thickness, 0.5 * shape.transverse_height
        r = half_t - 0.2  # stadium cross-section: fully rounded front and back
        support = (half_t - r) * abs(posterior[0]) + (half_h - r) * abs(up[0]) + r
        root = np.array([side * root_x, shape.transverse_y, shape.transverse_center_z])
        length = (tip_x - support - root_x) / abs(along[0])
        tip = root + along * length
        # Root half as tall again as the tip: two blocks blended along the process.
        mid = root + along * 0.45 * length
        axes = np.array([along, posterior, up])
        near = sdf.rounded_box(points, 0.5 * (root + mid), (0.25 * length, half_t, half_h), axes, r)
        far = sdf.rounded_box(points, 0.5 * (mid + tip), (0.3 * length, half_t * 0.85, half_h * 0.72), axes, r * 0.85)
        parts.append(sdf.smooth_union(near, far, 4.0))
    return np.minimum(*parts)


def _laminae_and_spine(points: np.ndarray, shape: VertebraShape, joints: list[FacetJoint]) -> np.ndarray:
    y0 = shape.posterior_wall_y
    # Laminae reach from the pedicles' mid-height to well below the inferior endplate, so the
    # interlaminar window between two levels is about a centimetre.
    z_top = shape.pedicle_center_z + 2.0
    z_bottom = -0.5 * shape.mid_height - 8.0
    parts = []
    for joint in joints:
        side = joint.side
        start = np.array([side * (0.5 * shape.canal_width + 4.0), y0 + 0.6 * shape.canal_depth])
        end = np.array([0.0, y0 + shape.canal_depth + 2.5])
        mid = 0.5 * (start + end)
        direction = (end - start) / np.linalg.norm(end - start)
        along = np.array([direction[0], direction[1], 0.0])
        normal = np.array([-direction[1], direction[0], 0.0])
        half = (0.5 * np.linalg.norm(end - start) + 3.0, 4.0, 0.5 * (z_top - z_bottom))
        center = np.array([mid[0], mid[1], 0.5 * (z_top + z_bottom)])
        parts.append(sdf.rounded_box(points, center, half, np.array([along, normal, [0, 0, 1.0]]), 3.2))
        # Pars interarticularis: from the pedicle's end down the lateral lamina to the
        # inferior articular process.
        pars_top = np.array([side * (shape.pedicle_center_x + 0.5), y0 + 12.0, shape.pedicle_center_z])
        pars_bottom = np.array([side * (0.5 * shape.canal_width + 5.0), y0 + 0.75 * shape.canal_depth + 2.0, z_bottom + 2.0])
        parts.append(sdf.capsule(points, pars_top, pars_bottom, 5.0))
        # The articular pillar: pedicle, superior process and pars merge into one column (on
        # oblique fluoroscopy, the neck and ears of the "Scotty dog").
        pillar = np.array([side * shape.pedicle_center_x, shape.isthmus_y + 7.0, shape.pedicle_center_z + 2.0])
        parts.append(sdf.ellipsoid(points, pillar, (4.5, 6.0, 10.0)))
    # Spinous process: a "hatchet", low where it leaves the laminae, tall at its free end.
    base_y, tip_y = y0 + shape.canal_depth + 2.0, y0 + shape.spinous_length
    z_mid = -0.2 * shape.mid_height
    neck = sdf.rounded_box(points, np.array([0.0, 0.5 * (base_y + tip_y), z_mid + 1.0]),
                           (3.2, 0.5 * (tip_y - base_y), 0.38 * shape.spinous_height), None, 3.0)
    blade = sdf.rounded_box(points, np.array([0.0, tip_y - 0.32 * (tip_y - base_y), z_mid]),
                            (3.8, 0.32 * (tip_y - base_y), 0.5 * shape.spinous_height), None, 3.6)
    parts.append(sdf.smooth_union(neck, blade, 4.0))
    # The free end is thickened (the spinous "tubercle").
    parts.append(sdf.ellipsoid(points, np.array([0.0, tip_y - 4.5, z_mid]), (4.2, 4.5, 0.5 * shape.spinous_height - 1.0)))
    result = parts[0]
    for part in parts[1:]:
        result = sdf.smooth_union(result, part, FILLET_MM)
    return result


def mamillary_and_accessory(shape: VertebraShape, groove: NeckGroove) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The mamillary and the accessory process on one side, as ellipsoids (centre, semi-axes in mm).

    They flank the lower end of the neck groove (:func:`neck_groove`): the mamillary process on
    the posterior border of the superior articular process, medial of the groove and above its
    end; the accessory process on the back of the transverse process's root, lateral of it and
    below. The medial branch leaves the groove through the notch between the two, under the
    mamillo-accessory ligament (Bogduk, Spine 1981). In the vertebra's frame, at its scale;
    ``groove`` is the neck groove on that side (:func:`neck_groove`, or one found on an
    imported bone).
    """
    k = shape.scale
    notch = groove.notch
    side = groove.side
    mamillary = np.array([groove.wall_x - side * 3.5 * k, notch[1] + 0.5 * k, notch[2] + 3.5 * k])
    accessory = np.array([groove.wall_x + side * 4.5 * k, shape.transverse_y + 0.5 * shape.transverse_thickness + 0.5 * k,
                          notch[2] - 1.0 * k])
    return (mamillary, np.array([2.6, 3.0, 3.5]) * k), (accessory, np.array([1.8, 2.2, 2.6]) * k)


def _mamillary_and_accessory(points: np.ndarray, shape: VertebraShape, joints: list[FacetJoint]) -> np.ndarray:
    """Signed distance to the mamillary and accessory processes of both sides (mm)."""
    return sdf.union(*(sdf.ellipsoid(points, center, tuple(radii))
                       for joint in joints for center, radii in mamillary_and_accessory(shape, neck_groove(shape, joint))))


def canal_distance(points: np.ndarray, shape: VertebraShape) -> np.ndarray:
    """The vertebral canal as an elliptic cylinder along local z (negative inside)."""
    x, y, _ = points.T
    y0 = shape.posterior_wall_y
    return sdf.ellipse_2d(x, y - (y0 + 0.5 * shape.canal_depth), 0.5 * shape.canal_width, 0.5 * shape.canal_depth)


def lumbar_vertebra_distance(points: np.ndarray, shape: VertebraShape, superior_joints: list[FacetJoint],
                             inferior_joints: list[FacetJoint], lower_from_self: Pose) -> np.ndarray:
    """Signed distance (mm) to a lumbar vertebra at ``points`` given in its local frame.

    Parameters
    ----------
    points : numpy.ndarray, shape (n, 3)
        Points in the vertebra's local frame, mm.
    shape : VertebraShape
        Scaled dimensions.
    superior_joints : list of FacetJoint
        The joints above (left and right), in this vertebra's frame.
    inferior_joints : list of FacetJoint
        The joints below, in the frame of the bone below.
    lower_from_self : Pose
        Maps this vertebra's local frame into the frame of the bone below.
    """
    body = _body(points, shape)
    posterior = sdf.smooth_union(_pedicles(points, shape), _transverse_processes(points, shape), FILLET_MM)
    posterior = sdf.smooth_union(posterior, _laminae_and_spine(points, shape, superior_joints), FILLET_MM)
    for joint in superior_joints:
        posterior = sdf.smooth_union(posterior, joint.superior_process(points), FILLET_MM)
    for joint in superior_joints:  # room for the medial branch of the level above on the neck
        posterior = sdf.smooth_subtract(posterior, neck_groove(shape, joint).distance(points), 1.0)
    posterior = sdf.smooth_union(posterior, _mamillary_and_accessory(points, shape, superior_joints), 2.0)
    points_below = lower_from_self.patient_from_local(points)
    for joint in inferior_joints:
        posterior = sdf.smooth_union(posterior, joint.inferior_process(points_below), FILLET_MM)
    bone = sdf.smooth_union(body, posterior, FILLET_MM)
    # The joint space is kept whatever else is near it: this bone stays clear of the articular
    # processes it faces across its joints, by the joint gap.
    for joint in inferior_joints:
        bone = sdf.subtract(bone, joint.superior_process(points_below) - FACET_GAP_MM)
    for joint in superior_joints:
        bone = sdf.subtract(bone, joint.inferior_process(points) - FACET_GAP_MM)
    return sdf.subtract(bone, canal_distance(points, shape))


#: The sacral axis through the middle of the fused bodies, at unit scale: (y, z) offsets in mm
#: from the centre of the S1 superior endplate, from the endplate to the apex. It runs straight
#: along S1 and then bends forwards (the pelvic surface is concave): about 50° between the axis
#: of S1 and that of S5. Segment lengths 30 (S1), 25, 21, 17 and 14 mm: about 106 mm along the
#: curve, the anterior length of an adult sacrum.
SACRAL_AXIS_YZ = ((0.0, 40.0), (0.0, 0.0), (0.0, -30.0), (-2.5, -55.0), (-8.5, -74.5), (-17.0, -88.5), (-27.5, -97.0))
#: Where the profiles below are given: arc length (mm) from the S1 endplate at the segment
#: boundaries S1/S2 ... and the apex.
_PROFILE_ARC = (0.0, 30.0, 55.0, 76.0, 93.0, 106.0)
#: Half the depth of the fused bodies, as a fraction of the S1 body's half depth.
_BODY_HALF_DEPTH = (1.0, 0.91, 0.6, 0.42, 0.32, 0.25)
#: Canal depth and width as fractions of S1's: the canal flattens and narrows downwards.
_CANAL_DEPTH = (1.0, 0.9, 0.6, 0.45, 0.4, 0.35)
_CANAL_WIDTH = (1.0, 0.97, 0.7, 0.6, 0.55, 0.5)
#: Half width of the sacrum as a fraction of half the ala span: alae and auricular surfaces,
#: then the lateral borders converge on the apex.
_HALF_WIDTH = (1.0, 0.97, 0.82, 0.52, 0.3, 0.14)
#: Thickness of the dorsal wall (fused laminae) behind the canal, mm.
_ROOF = (8.0, 7.0, 5.0, 4.0, 3.0, 2.5)
#: Extra thickness of the lateral masses behind the dorsal wall's line (alae, auricular part), mm.
_LATERAL_MASS = (4.0, 4.0, 1.0, 0.0, 0.0, 0.0)
#: The sacral hiatus: below this arc length the canal is open dorsally (mm).
HIATUS_ARC_MM = 84.0
#: The sacral foramina S2-S4 (S1's are the nerve channels): arc length, |x| of the dorsal and
#: of the pelvic foramen, and their radii (mm, unit scale).
_FORAMINA = ((53.0, 17.0, 23.0, 3.4, 4.5), (73.0, 15.0, 20.0, 3.0, 3.8), (89.0, 10.5, 15.0, 2.5, 3.0))


@dataclass(frozen=True)
class SacrumShape:
    """Dimensions of the sacrum (mm), in its frame: origin at the S1 body centre.

    Below S1 the sacrum follows a curved axis (:data:`SACRAL_AXIS_YZ`); its parts are built in
    coordinates along that axis (:meth:`along_axis`): ``s`` the arc length from the S1
    superior endplate (mm, caudal positive) and ``t`` the offset across it (mm, posterior
    positive).
    """

    body_width: float
    body_depth: float
    body_height: float
    canal_width: float
    canal_depth: float
    ala_span: float
    facet_angle_deg: float
    pedicle_center_x: float
    scale: float = 1.0

    @classmethod
    def from_morphometry(cls, m: SacrumMorphometry, l5: VertebraShape, scale: float) -> "SacrumShape":
        return cls(m.body_width_mm * scale, m.body_depth_mm * scale, 28.0 * scale, l5.canal_width * 0.95,
                   l5.canal_depth * 0.85, m.ala_span_mm * scale, m.facet_angle_deg, l5.pedicle_center_x, scale)

    def unit(self) -> "SacrumShape":
        """The same sacrum at size factor 1."""
        return _unit(self)

    @property
    def posterior_wall_y(self) -> float:
        return 0.5 * self.body_depth

    @property
    def ala_top_z(self) -> float:
        """Height of the alae's upper surface next to the superior articular process."""
        return 0.5 * self.body_height - 4.0 * self.scale

    @cached_property
    def _axis(self) -> tuple[cKDTree, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Dense axis (y, z), its tree, unit tangents (caudal), normals (posterior), arc lengths."""
        controls = np.array([[0.0, y, z + 0.5 * self.body_height / self.scale] for y, z in SACRAL_AXIS_YZ]) * self.scale
        dense = smooth_path(controls, 0.5 * self.scale)[:, 1:]
        tangents = np.gradient(dense, axis=0)
        tangents /= np.linalg.norm(tangents, axis=1, keepdims=True)
        normals = np.column_stack([-tangents[:, 1], tangents[:, 0]])
        arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(dense, axis=0), axis=1))])
        top = np.searchsorted(dense[:, 1] <= 0.5 * self.body_height, True)  # first sample at or below the endplate
        arc -= arc[top] + (dense[top, 1] - 0.5 * self.body_height)
        return cKDTree(dense), dense, tangents, normals, arc

    def _nearest_on_axis(self, yz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tree, dense, tangents, normals, arc = self._axis
        _, index = tree.query(yz)
        dy, dz = yz[:, 0] - dense[index, 0], yz[:, 1] - dense[index, 1]
        return arc[index] + dy * tangents[index, 0] + dz * tangents[index, 1], dy * normals[index, 0] + dz * normals[index, 1]

    @cached_property
    def _axis_table(self) -> tuple[np.ndarray, float, np.ndarray]:
        """``s`` and ``t`` tabulated on a (y, z) grid round the sacrum: origin, spacing, table."""
        k = self.scale
        spacing = 0.5 * k
        origin = np.array([-70.0 * k, 0.5 * self.body_height - 150.0 * k])
        shape = (int(200.0 * k / spacing) + 1, int(240.0 * k / spacing) + 1)
        y, z = np.meshgrid(origin[0] + spacing * np.arange(shape[0]), origin[1] + spacing * np.arange(shape[1]), indexing="ij")
        s, t = self._nearest_on_axis(np.column_stack([y.ravel(), z.ravel()]))
        return origin, spacing, np.stack([s.reshape(shape), t.reshape(shape)])

    def along_axis(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Arc length ``s`` and posterior offset ``t`` (mm) of points (sacrum frame) along the axis.

        Both depend on (y, z) only and vary smoothly, so they are read from a table
        (bilinear, 0.5 mm) near the sacrum and computed exactly elsewhere.
        """
        origin, spacing, table = self._axis_table
        index = (points[:, 1:] - origin) / spacing
        inside = np.all((index >= 0) & (index <= np.array(table.shape[1:]) - 1), axis=1)
        s, t = np.empty(len(points)), np.empty(len(points))
        s[inside], t[inside] = (map_coordinates(table[i], index[inside].T, order=1) for i in range(2))
        if not inside.all():
            s[~inside], t[~inside] = self._nearest_on_axis(points[~inside, 1:])
        return s, t

    def from_axis(self, x: float, t: float, s: float) -> np.ndarray:
        """The point (sacrum frame, mm) at lateral ``x``, posterior offset ``t``, arc length ``s``."""
        _, dense, _, normals, arc = self._axis
        y, z = (np.interp(s, arc, dense[:, a]) + t * np.interp(s, arc, normals[:, a]) for a in range(2))
        return np.array([x, y, z])

    def profile(self, s: np.ndarray | float, fractions: tuple[float, ...]) -> np.ndarray:
        """A profile given at the segment boundaries, at arc lengths ``s`` (mm).

        Interpolated smoothly (monotone cubic), so the surfaces built from it have no creases.
        """
        return _smooth_profile(fractions)(np.clip(np.asarray(s) / self.scale, _PROFILE_ARC[0], _PROFILE_ARC[-1]))

    def body_half_depth(self, s: np.ndarray | float) -> np.ndarray:
        """Half the depth of the fused bodies at arc lengths ``s``: their back is at ``t`` = this (mm)."""
        return 0.5 * self.body_depth * self.profile(s, _BODY_HALF_DEPTH)

    def dorsal_wall_back(self, s: np.ndarray | float) -> np.ndarray:
        """Posterior offset ``t`` (mm) of the dorsal wall's back on the midline, behind the canal."""
        return self.body_half_depth(s) + self.canal_depth * self.profile(s, _CANAL_DEPTH) + self.profile(s, _ROOF) * self.scale

    def canal_center(self, s: float) -> np.ndarray:
        """Centre of the sacral canal (sacrum frame, mm) at arc length ``s``."""
        return self.from_axis(0.0, self.body_half_depth(s) + 0.5 * self.canal_depth * self.profile(s, _CANAL_DEPTH), s)

    def foramina(self) -> list[tuple[str, int, np.ndarray, np.ndarray, np.ndarray, float, float]]:
        """The sacral foramina S2-S4 (S1's are the nerve channels of the layout).

        Each as (level, side, inner, dorsal, pelvic, dorsal radius, pelvic radius): a canal from
        ``inner`` (beside the sacral canal) to the dorsal and to the pelvic surface, in the
        sacrum frame (mm).
        """
        k = self.scale
        result = []
        for level, (s_foramen, x_dorsal, x_pelvic, r_dorsal, r_pelvic) in zip(("S2", "S3", "S4"), _FORAMINA):
            s_f = s_foramen * k
            half_depth = self.body_half_depth(s_f)
            for side in (1, -1):
                inner = self.from_axis(side * 0.4 * self.canal_width * self.profile(s_f, _CANAL_WIDTH), half_depth + 2.0 * k, s_f)
                dorsal = self.from_axis(side * x_dorsal * k, half_depth + 30.0 * k, s_f + 3.0 * k)
                pelvic = self.from_axis(side * x_pelvic * k, -half_depth - 12.0 * k, s_f + 2.0 * k)
                result.append((level, side, inner, dorsal, pelvic, r_dorsal * k, r_pelvic * k))
        return result

    def superior_joint(self, side: int, disc_above_mm: float) -> FacetJoint:
        k = self.scale
        z_low = self.ala_top_z
        # Its tip stays below the L5 ganglion, which lies in front of it in the L5-S1 foramen.
        z_high = 0.5 * self.body_height + 0.5 * disc_above_mm + 5.0 * k
        center = np.array([side * (self.pedicle_center_x + 1.0 * k), self.posterior_wall_y + 15.0 * k, 0.5 * (z_low + z_high)])
        return FacetJoint(side, center, self.facet_angle_deg, 8.0 * k, 0.5 * (z_high - z_low), process_extra_down=10.0 * k)

    def sacral_canal(self, points: np.ndarray, s: np.ndarray | None = None, t: np.ndarray | None = None) -> np.ndarray:
        """The canal, an elliptic section along the axis; above S1 it continues straight up.

        ``s`` and ``t`` are the points' :meth:`along_axis` coordinates, when already known.
        """
        if s is None or t is None:
            s, t = self.along_axis(points)
        s = np.maximum(s, 0.0)
        half_depth = self.body_half_depth(s)
        depth = self.canal_depth * self.profile(s, _CANAL_DEPTH)
        width = self.canal_width * self.profile(s, _CANAL_WIDTH)
        canal = sdf.ellipse_2d(points[:, 0], t - (half_depth + 0.5 * depth), 0.5 * width, 0.5 * depth)
        return sdf.smooth_intersection(canal, s - (_PROFILE_ARC[-1] - 6.0) * self.scale, 2.0)


@lru_cache(maxsize=None)
def _smooth_profile(values: tuple[float, ...]) -> PchipInterpolator:
    return PchipInterpolator(_PROFILE_ARC, values)


def _sacral_body(points: np.ndarray, shape: SacrumShape) -> np.ndarray:
    """S1 body: elliptic footprint flattened posteriorly, flat concave superior endplate."""
    x, y, z = points.T
    w, d, h = shape.body_width, shape.body_depth, shape.body_height
    footprint = sdf.smooth_intersection(sdf.ellipse_2d(x, y - 3.0, 0.5 * w, 0.5 * d + 3.0), y - 0.5 * d, 3.0)
    body = sdf.smooth_intersection(footprint, np.maximum(z - 0.5 * h, -0.5 * h - 6.0 - z), 1.5)
    dish = sdf.ellipsoid(points, np.array([0.0, 0.0, 0.5 * h + 8.5]), (0.36 * w, 0.36 * d, 10.0))
    return sdf.smooth_subtract(body, dish, 1.0)


def _sacral_mass(points: np.ndarray, shape: SacrumShape, s: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Fused bodies, lateral masses and dorsal wall below S1's body, along the curved axis.

    A section that is widest at the alae, with a front at the fused bodies (the alae a little
    behind it) and a convex back behind the canal, shrinking down to the apex. ``s`` and ``t``
    are the points' :meth:`SacrumShape.along_axis` coordinates.
    """
    x, _, z = points.T
    half_depth = shape.body_half_depth(s)
    lateral = np.abs(x) - 0.5 * shape.ala_span * shape.profile(s, _HALF_WIDTH)
    beyond_body = np.clip((np.abs(x) - 0.5 * shape.body_width) / 15.0, 0.0, 1.0)
    front = -half_depth * (1.0 - 0.35 * beyond_body) - t
    back_mid = shape.dorsal_wall_back(s)
    # Convex back, falling away laterally, more so below the lateral masses of S1-S2.
    fall = (0.003 + 0.004 * np.clip(s / (55.0 * shape.scale), 0.0, 1.0)) / shape.scale
    back = t - (back_mid + shape.profile(s, _LATERAL_MASS) * shape.scale - fall * x**2)
    # The ala's upper surface falls away laterally.
    top = z - (shape.ala_top_z - 0.22 * np.maximum(np.abs(x) - 0.5 * shape.body_width, 0.0))
    bottom = s - _PROFILE_ARC[-1] * shape.scale
    section = sdf.smooth_intersection(sdf.smooth_intersection(front, back, 6.0), lateral, 8.0)
    return sdf.smooth_intersection(sdf.smooth_intersection(section, top, 6.0), bottom, 6.0)


def _dorsal_relief(points: np.ndarray, shape: SacrumShape) -> np.ndarray:
    """Median sacral crest with the tubercles of S1-S3 (fused spinous processes)."""
    k = shape.scale
    parts = []
    for s_start, s_end in ((8.0, 40.0), (40.0, 76.0)):
        a, b = (shape.from_axis(0.0, _crest_t(shape, s * k), s * k) for s in (s_start, s_end))
        parts.append(sdf.capsule(points, a, b, 3.2 * k))
    for s_tubercle, size in ((14.0, 1.0), (38.0, 0.85), (60.0, 0.7)):
        center = shape.from_axis(0.0, _crest_t(shape, s_tubercle * k) + 1.5 * k, s_tubercle * k)
        parts.append(sdf.ellipsoid(points, center, (3.8 * k, 5.0 * k * size, 7.0 * k * size)))
    return sdf.union(*parts)


def _crest_t(shape: SacrumShape, s: float) -> float:
    """Posterior offset (mm) of the median crest's line: 3 mm behind the dorsal wall's midline."""
    return float(shape.dorsal_wall_back(s) + 3.0 * shape.scale)


def sacrum_distance(points: np.ndarray, shape: SacrumShape, superior_joints: list[FacetJoint],
                    nerve_channels: list[tuple[np.ndarray, np.ndarray, float]]) -> np.ndarray:
    """Signed distance (mm) to the sacrum (S1 to the apex) at ``points`` in its local frame.

    ``nerve_channels`` are (start, end, radius) capsules, in the sacrum frame, carved out of the
    bone: the S1 foramina around the S1 nerves.
    """
    k = shape.scale
    d = shape.body_depth
    s, t = shape.along_axis(points)
    bone = sdf.smooth_union(_sacral_body(points, shape), _sacral_mass(points, shape, s, t), FILLET_MM)
    bone = sdf.smooth_union(bone, _dorsal_relief(points, shape), 3.0)
    for joint in superior_joints:
        bone = sdf.smooth_union(bone, joint.superior_process(points), FILLET_MM)
    # The L5-S1 interlaminar space: the top of the posterior wall between the superior
    # articular processes is lower, under the L5 laminae.
    window = sdf.rounded_box(points, np.array([0.0, 0.5 * d + 30.0, shape.ala_top_z + 4.0]),
                             (shape.pedicle_center_x - 4.0, 20.0, 9.0), None, 3.0)
    bone = sdf.smooth_subtract(bone, window, 2.0)
    for joint in superior_joints:  # keep the joint space to L5's inferior processes
        bone = sdf.subtract(bone, joint.inferior_process(points) - FACET_GAP_MM)
    bone = sdf.subtract(bone, shape.sacral_canal(points, s, t))
    # The hiatus: no dorsal wall over the canal's lowest part.
    hiatus = sdf.smooth_intersection(
        sdf.smooth_intersection(np.abs(points[:, 0]) - 0.5 * shape.canal_width * shape.profile(s, _CANAL_WIDTH),
                                HIATUS_ARC_MM * k - s, 3.0),
        shape.body_half_depth(s) + 1.0 * k - t, 1.0)
    bone = sdf.smooth_subtract(bone, hiatus, 1.5)
    channels = list(nerve_channels)
    for _, _, inner, dorsal, pelvic, r_dorsal, r_pelvic in shape.foramina():
        channels += [(inner, dorsal, r_dorsal), (inner, pelvic, r_pelvic)]
    for start, end, radius in channels:
        # Only points near a channel can change: the others are skipped (much faster).
        low, high = np.minimum(start, end) - radius - 2.0 * k, np.maximum(start, end) + radius + 2.0 * k
        near = np.all((points >= low) & (points <= high), axis=1)
        bone[near] = sdf.smooth_subtract(bone[near], sdf.capsule(points[near], start, end, radius), 1.0)
    return bone
