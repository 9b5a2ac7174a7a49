"""Where each bone of the lumbar spine sits: the alignment chain, facet joints and discs.

Convention: the L3 body centre is the origin of the patient frame with L3 upright; the other
bones are placed by walking up and down the chain, each segment bent by its share of the
lordosis (sagittal) and of the scoliosis (coronal), each vertebra turned by its axial rotation.
The chain is then shifted left-right so the sacrum is centred (x = 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.anatomy import sdf
from simulator.anatomy.morphometry import LUMBAR_LEVELS, MORPHOMETRY, SACRUM
from simulator.anatomy.parameters import PatientParameters
from simulator.anatomy.pose import Pose, rotation_x, rotation_y, rotation_z
from simulator.anatomy.vertebra import (
    FacetJoint,
    NeckGroove,
    SacrumShape,
    VertebraShape,
    lumbar_vertebra_distance,
    neck_groove,
    sacral_groove,
    sacrum_distance,
)

__all__ = ["SpineLayout", "build_layout", "disc_distance", "BONES", "DISCS", "SIDES"]

BONES: tuple[str, ...] = (*LUMBAR_LEVELS, "sacrum")
#: Patient sides and the sign of x on them (LPS: +x is the patient's left).
SIDES: dict[str, int] = {"left": 1, "right": -1}
#: Smallest gap kept between two neighbouring bones (mm); facet joint spaces are 2 mm nominal.
BONE_CLEARANCE_MM = 1.0
#: Disc ids, upper level first: ``disc_L4_L5`` lies between L4 and L5.
DISCS: tuple[str, ...] = ("disc_L1_L2", "disc_L2_L3", "disc_L3_L4", "disc_L4_L5", "disc_L5_S1")


@dataclass(frozen=True, eq=False)
class SpineLayout:
    """Shapes and poses of the six bones, and the joints between them."""

    parameters: PatientParameters
    shapes: dict[str, VertebraShape]
    sacrum: SacrumShape
    poses: dict[str, Pose]
    disc_heights_mm: dict[str, float]
    superior_joints: dict[str, list[FacetJoint]]
    #: S1 foramina per side, as (start, end, radius) capsules in the sacrum frame.
    sacral_channels_by_side: dict[str, list[tuple[np.ndarray, np.ndarray, float]]]
    #: Each bone's facet joints at size factor 1, fitted in the neutral posture (default
    #: lordosis, no scoliosis): bone shapes do not depend on posture, only joint engagement.
    unit_joints: dict[str, list[FacetJoint]]
    #: Neutral-posture pose of each bone in the frame of the bone below, at size factor 1.
    unit_lower_from: dict[str, Pose]

    @property
    def bones(self) -> tuple[str, ...]:
        """The bones of the layout, top to bottom (a fitted layout may lack some)."""
        return BONES

    @property
    def lumbar_levels(self) -> tuple[str, ...]:
        """The lumbar vertebrae of the layout, top to bottom."""
        return LUMBAR_LEVELS

    @property
    def discs(self) -> tuple[str, ...]:
        """The discs between neighbouring bones, upper level first."""
        return DISCS

    def lower_bone(self, bone: str) -> str | None:
        """The bone below ``bone`` (``None`` below the sacrum)."""
        index = BONES.index(bone) + 1
        return BONES[index] if index < len(BONES) else None

    def has_groove(self, bone: str, side: int) -> bool:
        """Whether :meth:`groove` knows this groove (always, for the generated bones)."""
        return True

    def groove(self, bone: str, side: int) -> NeckGroove:
        """The groove on the neck of ``bone``'s superior articular process on one side (``side``
        +1 left, -1 right), in the bone's frame: where the medial branch of the level above runs
        (for the sacrum: the L5 dorsal ramus)."""
        joint = self.superior_joints[bone][0 if side > 0 else 1]
        return sacral_groove(self.sacrum, joint) if bone == "sacrum" else neck_groove(self.shapes[bone], joint)

    def lower_from(self, bone: str) -> Pose:
        """Pose mapping ``bone``'s frame into the frame of the bone below it."""
        return self.poses[self.lower_bone(bone)].inverse().compose(self.poses[bone])

    def bone_distance_local(self, bone: str, points_local: np.ndarray) -> np.ndarray:
        """Signed distance (mm) to ``bone`` at points in that bone's local frame.

        Each bone yields to the one below it: it keeps :data:`BONE_CLEARANCE_MM` away from it,
        so no two bones overlap whatever the curvature of the spine.
        """
        distance = self._own_distance_local(bone, points_local)
        if bone == "sacrum":
            return distance
        lower = self.lower_bone(bone)
        points_lower = self.lower_from(bone).patient_from_local(points_local)
        low, high = self.local_box(lower)
        near = np.all((points_lower >= low) & (points_lower <= high), axis=1)
        if near.any():
            neighbour = self._own_distance_local(lower, points_lower[near])
            distance[near] = np.maximum(distance[near], BONE_CLEARANCE_MM * self.parameters.size_scale - neighbour)
        return distance

    def _own_distance_local(self, bone: str, points_local: np.ndarray) -> np.ndarray:
        # Evaluated at size factor 1 on coordinates divided by the scale: every length scales.
        scale = self.parameters.size_scale
        unit_points = points_local / scale
        if bone == "sacrum":
            channels = [(a / scale, b / scale, r / scale) for side in self.sacral_channels_by_side.values() for a, b, r in side]
            return scale * sacrum_distance(unit_points, self.sacrum.unit(), self.unit_joints["sacrum"], channels)
        lower = self.lower_bone(bone)
        return scale * lumbar_vertebra_distance(unit_points, self.shapes[bone].unit(), self.unit_joints[bone],
                                                self.unit_joints[lower], self.unit_lower_from[bone])

    def local_box(self, bone: str) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
        """A box (mm, the bone's own frame) that contains the whole bone."""
        if bone == "sacrum":
            s = self.sacrum
            return ((-0.5 * s.ala_span - 8, -0.5 * s.body_depth - 16 * s.scale, 0.5 * s.body_height - 114 * s.scale),
                    (0.5 * s.ala_span + 8, 0.5 * s.body_depth + 45, 0.5 * s.body_height + 28))
        s = self.shapes[bone]
        return ((-0.5 * s.transverse_span - 6, -0.5 * s.body_depth - 6, -0.5 * s.mid_height - 24),
                (0.5 * s.transverse_span + 6, 0.5 * s.body_depth + s.spinous_length + 6, 0.5 * s.mid_height + 26))

    def bone_distance(self, bone: str, points: np.ndarray) -> np.ndarray:
        """Signed distance (mm) to ``bone`` at points in the patient frame."""
        return self.bone_distance_local(bone, self.poses[bone].local_from_patient(points))

    def mid_height(self, bone: str) -> float:
        return self.sacrum.body_height if bone == "sacrum" else self.shapes[bone].mid_height

    def disc_distance(self, disc: str, points: np.ndarray) -> np.ndarray:
        """Signed distance (mm) to an intervertebral disc, at points in the patient frame
        (:func:`disc_distance`)."""
        return disc_distance(self, disc, points)

    def body_distance(self, bone: str, points: np.ndarray) -> np.ndarray:
        """Signed distance (mm) to the vertebral body alone at points in the patient frame (the
        disc ends at its surface), same scaling rule."""
        from simulator.anatomy.vertebra import _body, _sacral_body

        scale = self.parameters.size_scale
        unit_local = self.poses[bone].local_from_patient(points) / scale
        if bone == "sacrum":
            return scale * _sacral_body(unit_local, self.sacrum.unit())
        return scale * _body(unit_local, self.shapes[bone].unit())

    @staticmethod
    def disc_bones(disc: str) -> tuple[str, str]:
        """The bones above and below a disc (``disc_L5_S1`` -> L5, sacrum)."""
        _, upper, lower = disc.split("_")
        return upper, ("sacrum" if lower == "S1" else lower)


def disc_distance(layout, disc: str, points: np.ndarray) -> np.ndarray:
    """Signed distance (mm) to an intervertebral disc, at points in the patient frame.

    The disc fills the space between the two endplates (including their concavities) over
    the mean of the two endplate footprints, bulging 0.5 mm beyond them, and ends at the
    surfaces of the two bodies (``layout.body_distance``). ``layout`` is a
    :class:`SpineLayout` or any layout with the same shapes, poses and body distances (a
    spine fitted to imported bones).
    """
    upper, lower = layout.disc_bones(disc)
    up_pose, low_pose = layout.poses[upper], layout.poses[lower]
    # Mid-frame: halfway rotation, centred between the two endplate centres.
    up_local = up_pose.local_from_patient(points)
    low_local = low_pose.local_from_patient(points)
    up_shape = layout.shapes[upper]
    if lower == "sacrum":
        low_w, low_d, low_top_slope, low_h = layout.sacrum.body_width, layout.sacrum.body_depth, 0.0, layout.sacrum.body_height
    else:
        s = layout.shapes[lower]
        low_w, low_d, low_top_slope, low_h = s.body_width, s.body_depth, s.endplate_slope, s.mid_height
    width = 0.5 * (up_shape.body_width + low_w) + 1.0
    depth = 0.5 * (up_shape.body_depth + low_d) + 1.0
    mid_local = 0.5 * (up_local + low_local)
    # Into the endplates' concavities the disc reaches 3 mm past the endplate planes, but not
    # at the rim: there a thin sleeve of disc round each body would be left (sub-voxel slivers).
    radial = np.hypot(mid_local[:, 0] / (0.5 * width), (mid_local[:, 1] - 3.0) / (0.5 * depth + 3.0))
    into_endplate = 3.0 * np.clip((0.9 - radial) / 0.15, 0.0, 1.0)
    # Below the upper body's inferior endplate plane ...
    below_upper = (up_local[:, 2] - (-0.5 * up_shape.mid_height + up_local[:, 1] * up_shape.endplate_slope + into_endplate))
    # ... and above the lower body's superior endplate plane.
    above_lower = ((0.5 * low_h - low_local[:, 1] * low_top_slope - into_endplate) - low_local[:, 2])
    footprint = sdf.smooth_intersection(
        sdf.ellipse_2d(mid_local[:, 0], mid_local[:, 1] - 3.0, 0.5 * width, 0.5 * depth + 3.0),
        mid_local[:, 1] - 0.5 * depth, 3.0)
    disc = sdf.smooth_intersection(footprint, np.maximum(below_upper, above_lower), 1.0)
    # The bodies themselves are bone: the disc ends at their surfaces.
    for bone in (upper, lower):
        disc = np.maximum(disc, -layout.body_distance(bone, points))
    return disc



def build_layout(parameters: PatientParameters) -> SpineLayout:
    """Place the six bones for a patient."""
    scale = parameters.size_scale
    shapes = {level: VertebraShape.from_morphometry(MORPHOMETRY[level], scale) for level in LUMBAR_LEVELS}
    sacrum = SacrumShape.from_morphometry(SACRUM, shapes["L5"], scale)
    disc_heights = {disc: MORPHOMETRY[disc.split("_")[1]].disc_height_below_mm * scale for disc in DISCS}
    poses = _chain(parameters, shapes, sacrum, disc_heights)

    # Joints are fitted once, at size 1 in the neutral posture.
    unit_shapes = {level: shape.unit() for level, shape in shapes.items()}
    unit_sacrum = sacrum.unit()
    unit_discs = {disc: height / scale for disc, height in disc_heights.items()}
    neutral = _chain(PatientParameters(), unit_shapes, unit_sacrum, unit_discs)
    unit_joints = {}
    for index, bone in enumerate(BONES):
        above = BONES[index - 1] if index else None
        disc_above = unit_discs[f"disc_{above}_{'S1' if bone == 'sacrum' else bone}"] if above else 9.0
        owner = unit_sacrum if bone == "sacrum" else unit_shapes[bone]
        unit_joints[bone] = [owner.superior_joint(side, disc_above) for side in (1, -1)]
    unit_lower_from = {upper: neutral[lower].inverse().compose(neutral[upper]) for upper, lower in zip(BONES[:-1], BONES[1:])}
    superior = {bone: [joint.scaled(scale) for joint in joints] for bone, joints in unit_joints.items()}
    channels = {side: [(a * scale, b * scale, r * scale) for a, b, r in capsules]
                for side, capsules in sacral_channels(unit_sacrum).items()}
    return SpineLayout(parameters, shapes, sacrum, poses, disc_heights, superior, channels, unit_joints, unit_lower_from)


def _chain(parameters: PatientParameters, shapes: dict[str, VertebraShape], sacrum: SacrumShape,
           disc_heights: dict[str, float]) -> dict[str, Pose]:
    """Poses of the bones: L3 upright at the origin, the others placed up and down the chain."""
    # Sagittal tilt of each bone relative to L3 (positive = top tilted anteriorly), from the
    # segment angles below each level.
    segment = {level: parameters.lordosis_deg * MORPHOMETRY[level].lordosis_share for level in LUMBAR_LEVELS}
    sagittal = {"L3": 0.0}
    sagittal["L2"] = -segment["L2"]
    sagittal["L1"] = sagittal["L2"] - segment["L1"]
    sagittal["L4"] = segment["L3"]
    sagittal["L5"] = sagittal["L4"] + segment["L4"]
    sagittal["sacrum"] = sagittal["L5"] + segment["L5"]
    # Coronal tilt: a C curve with apex L3, L1 and L5 tilted by half the Cobb angle each
    # (positive Cobb = convex to the left: L1 leans right, L5 leans left); sacrum level.
    cobb = parameters.scoliosis_cobb_deg
    coronal = {"L1": -0.5 * cobb, "L2": -0.25 * cobb, "L3": 0.0, "L4": 0.25 * cobb, "L5": 0.5 * cobb, "sacrum": 0.0}
    # Axial rotation towards the convexity, largest at the apex.
    apex = parameters.scoliosis_rotation_deg * np.sign(cobb) if cobb else 0.0
    axial = {"L1": 0.0, "L2": 0.5 * apex, "L3": apex, "L4": 0.5 * apex, "L5": 0.0, "sacrum": 0.0}
    rotations = {b: rotation_y(coronal[b]) @ rotation_x(sagittal[b]) @ rotation_z(axial[b]) for b in BONES}

    def half_height(bone: str) -> float:
        return 0.5 * (sacrum.body_height if bone == "sacrum" else shapes[bone].mid_height)

    centers = {"L3": np.zeros(3)}
    down = np.array([0.0, 0.0, -1.0])
    for upper, lower in zip(BONES[2:-1], BONES[3:]):  # L3 -> sacrum
        disc = disc_heights[f"disc_{upper}_{'S1' if lower == 'sacrum' else lower}"]
        centers[lower] = (centers[upper] + rotations[upper] @ down * (half_height(upper) + 0.5 * disc)
                          + rotations[lower] @ down * (0.5 * disc + half_height(lower)))
    for lower, upper in zip(BONES[2:0:-1], BONES[1::-1]):  # L3 -> L1
        disc = disc_heights[f"disc_{upper}_{lower}"]
        centers[upper] = (centers[lower] - rotations[lower] @ down * (half_height(lower) + 0.5 * disc)
                          - rotations[upper] @ down * (0.5 * disc + half_height(upper)))
    shift = np.array([centers["sacrum"][0], 0.0, 0.0])
    return {b: Pose(rotations[b], centers[b] - shift) for b in BONES}


def sacral_channels(sacrum: SacrumShape) -> dict[str, list[tuple[np.ndarray, np.ndarray, float]]]:
    """The S1 foramina as capsules in the sacrum frame: to the anterior and posterior foramen.

    Each channel starts at the side of the sacral canal (where the S1 root leaves it) and is
    wide enough for the root and its ganglion (foramen width 8.5 mm: Korean J Pain 2023).
    """
    scale = sacrum.scale
    radius = max(0.5 * SACRUM.posterior_foramen_width_mm * scale, 0.5 * SACRUM.ganglion_width_mm * scale + 1.0 * scale)
    channels = {}
    _, canal_center_y, z = sacrum.canal_center(sacrum.body_height + 4.0 * scale)  # 4 mm below S1's body
    for side_name, side in SIDES.items():
        inner = np.array([side * (0.5 * sacrum.canal_width - 3.0), canal_center_y, z])
        anterior = np.array([side * (0.5 * sacrum.canal_width + 8.0), -0.5 * sacrum.body_depth - 6.0, z - 8.0])
        # To the dorsal foramen, about 5 mm behind the dorsal surface (the dorsal ramus ends there).
        posterior = np.array([side * (0.5 * sacrum.canal_width + 6.0), sacrum.posterior_wall_y + 27.0, z - 2.0])
        channels[side_name] = [(inner, anterior, radius), (inner, posterior, radius * 0.75)]
    return channels
