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

import numpy as np

from simulator.anatomy import sdf
from simulator.anatomy.morphometry import LevelMorphometry, SacrumMorphometry
from simulator.anatomy.pose import Pose

__all__ = ["VertebraShape", "FacetJoint", "lumbar_vertebra_distance", "sacrum_distance", "SacrumShape"]

#: Fillet radius where parts of one bone meet (mm).
FILLET_MM = 2.5
#: Joint space between facing articular surfaces (cartilage and cavity), mm.
FACET_GAP_MM = 2.0


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


def _unit(shape):
    """A shape dataclass with every length divided by its scale, and scale 1."""
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

    def superior_process(self, points: np.ndarray, thickness: float = 6.0) -> np.ndarray:
        """The superior articular process: a block on the anterolateral side of the joint."""
        extra_down = self.process_extra_down
        u, n, z = self.axes()
        center = self.center - n * (0.5 * FACET_GAP_MM + 0.5 * thickness) - z * 0.5 * extra_down
        half = (self.half_length, 0.5 * thickness, self.half_height + 0.5 * extra_down)
        return sdf.rounded_box(points, center, half, self.axes(), radius=0.5 * thickness - 0.2)

    def inferior_process(self, points: np.ndarray, thickness: float = 6.5, extra_up: float = 8.0) -> np.ndarray:
        """The upper bone's inferior articular process: a block on the posteromedial side."""
        u, n, z = self.axes()
        center = self.center + n * (0.5 * FACET_GAP_MM + 0.5 * thickness) + z * (0.5 * extra_up + 1.0)
        half = (self.half_length - 1.0, 0.5 * thickness, self.half_height - 1.0 + 0.5 * extra_up)
        return sdf.rounded_box(points, center, half, self.axes(), radius=0.5 * thickness - 0.2)


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
        parts.append(sdf.capsule(points, pars_top, pars_bottom, 4.0))
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


@dataclass(frozen=True)
class SacrumShape:
    """Dimensions of the sacrum (mm), in its frame: origin at the S1 body centre."""

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

    def superior_joint(self, side: int, disc_above_mm: float) -> FacetJoint:
        k = self.scale
        z_low = self.ala_top_z
        # Its tip stays below the L5 ganglion, which lies in front of it in the L5-S1 foramen.
        z_high = 0.5 * self.body_height + 0.5 * disc_above_mm + 5.0 * k
        center = np.array([side * (self.pedicle_center_x + 1.0 * k), self.posterior_wall_y + 15.0 * k, 0.5 * (z_low + z_high)])
        return FacetJoint(side, center, self.facet_angle_deg, 8.0 * k, 0.5 * (z_high - z_low), process_extra_down=10.0 * k)

    def sacral_canal(self, points: np.ndarray) -> np.ndarray:
        x, y, z = points.T
        # The canal narrows and drifts posteriorly down the sacrum.
        depth = np.clip(self.canal_depth - 0.08 * np.maximum(-z, 0.0), 6.0, None)
        width = np.clip(self.canal_width - 0.12 * np.maximum(-z, 0.0), 12.0, None)
        center_y = self.posterior_wall_y + 0.5 * depth + 0.15 * np.maximum(-z, 0.0)
        return sdf.ellipse_2d(x, y - center_y, 0.5 * width, 0.5 * depth)


def _sacral_body(points: np.ndarray, shape: SacrumShape) -> np.ndarray:
    """S1 body: elliptic footprint flattened posteriorly, flat concave superior endplate."""
    x, y, z = points.T
    w, d, h = shape.body_width, shape.body_depth, shape.body_height
    footprint = sdf.smooth_intersection(sdf.ellipse_2d(x, y - 3.0, 0.5 * w, 0.5 * d + 3.0), y - 0.5 * d, 3.0)
    body = sdf.smooth_intersection(footprint, np.maximum(z - 0.5 * h, -0.5 * h - 6.0 - z), 1.5)
    dish = sdf.ellipsoid(points, np.array([0.0, 0.0, 0.5 * h + 8.5]), (0.36 * w, 0.36 * d, 10.0))
    return sdf.smooth_subtract(body, dish, 1.0)


def sacrum_distance(points: np.ndarray, shape: SacrumShape, superior_joints: list[FacetJoint],
                    nerve_channels: list[tuple[np.ndarray, np.ndarray, float]]) -> np.ndarray:
    """Signed distance (mm) to the sacrum (S1 to about S3) at ``points`` in its local frame.

    ``nerve_channels`` are (start, end, radius) capsules, in the sacrum frame, carved out of the
    bone: the S1 foramina around the S1 nerves.
    """
    x, y, z = points.T
    w, d, h = shape.body_width, shape.body_depth, shape.body_height
    body = _sacral_body(points, shape)

    # Lateral masses and alae: a plate that curves backwards as it descends (sacral
    # kyphosis), wide at the alae, narrowing quickly below them and tapering to the apex.
    depth_below = np.maximum(shape.ala_top_z - z, 0.0)
    length = 0.5 * h + 62.0 + shape.ala_top_z
    fraction = np.clip(depth_below / length, 0.0, 1.0)
    curve = 22.0 * fraction**2                      # posterior drift of the plate, mm
    half_width = np.where(depth_below < 30.0, 0.5 * shape.ala_span - 0.15 * depth_below,
                          0.5 * shape.ala_span - 4.5 - 1.1 * (depth_below - 30.0))
    half_width = np.maximum(half_width, 14.0)
    lateral = np.abs(x) - half_width
    # The ala's upper surface falls away laterally.
    top = z - (shape.ala_top_z - 0.22 * np.maximum(np.abs(x) - 0.5 * w, 0.0))
    bottom = -z - (0.5 * h + 62.0)
    thickness_front = 0.5 * d * (1.0 - 0.55 * fraction)
    anterior = (curve - thickness_front) - y
    # Convex posterior surface: highest at the midline, falling away laterally.
    posterior_limit = curve + 0.5 * d + 22.0 * (1.0 - 0.5 * fraction) - 0.0025 * x**2
    posterior = y - posterior_limit
    plate = sdf.smooth_intersection(sdf.smooth_intersection(lateral, bottom, 10.0),
                                    sdf.smooth_intersection(top, sdf.smooth_intersection(anterior, posterior, 8.0), 6.0), 6.0)
    bone = sdf.smooth_union(body, plate, FILLET_MM)
    # Median sacral crest (fused spinous processes), strongest at S1-S2.
    crest = sdf.capsule(points, np.array([0.0, 0.5 * d + 24.0, 0.5 * h - 12.0]),
                        np.array([0.0, 0.5 * d + 24.0, -0.5 * h - 38.0]), 3.5)
    bone = sdf.smooth_union(bone, crest, 3.0)
    for joint in superior_joints:
        bone = sdf.smooth_union(bone, joint.superior_process(points), FILLET_MM)
    # The L5-S1 interlaminar space: the top of the posterior plate between the superior
    # articular processes is lower, under the L5 laminae.
    window = sdf.rounded_box(points, np.array([0.0, 0.5 * d + 30.0, shape.ala_top_z + 4.0]),
                             (shape.pedicle_center_x - 4.0, 20.0, 9.0), None, 3.0)
    bone = sdf.smooth_subtract(bone, window, 2.0)
    for joint in superior_joints:  # keep the joint space to L5's inferior processes
        bone = sdf.subtract(bone, joint.inferior_process(points) - FACET_GAP_MM)
    bone = sdf.subtract(bone, shape.sacral_canal(points))
    for start, end, radius in nerve_channels:
        bone = sdf.smooth_subtract(bone, sdf.capsule(points, start, end, radius), 1.0)
    # Posterior and anterior sacral foramina of S2 and S3 (the S1 ones are the nerve channels).
    for depth, radius in ((30.0, 3.6), (52.0, 3.0)):
        z_foramen = -0.5 * h - depth
        drift = 22.0 * (depth / (0.5 * h + 62.0 + shape.ala_top_z)) ** 2
        for side in (1.0, -1.0):
            x_foramen = side * (0.5 * shape.canal_width + 6.0 - 0.08 * depth)
            channel = sdf.capsule(points, np.array([x_foramen, drift - 0.5 * d - 10.0, z_foramen]),
                                  np.array([x_foramen, drift + 0.5 * d + 40.0, z_foramen + 6.0]), radius)
            bone = sdf.smooth_subtract(bone, channel, 1.0)
    return bone
