"""Placement of the bones: the frames the tests measure in, and no bone inside another.

Neighbouring bones meet only across joints: the disc between the bodies and the facet joints
between the articular processes. A facet joint has a joint space (cartilage and cavity) of
about 2 mm in the generator (``vertebra.FACET_GAP_MM``), so the surfaces of two bones must stay
apart everywhere; 0.3 mm is allowed for the meshes' sampling and decimation.
"""

from __future__ import annotations

import numpy as np
import pytest

from simulator.anatomy.morphometry import MORPHOMETRY, SACRUM
from tests.helpers import BONES, LUMBAR, SIDES, record

MIN_CLEARANCE_MM = 0.3


@pytest.mark.parametrize("level", LUMBAR)
def test_layout_frames_match_the_shipped_patient(default_scene, layout, level):
    """``layout.poses`` (rebuilt from the code) describes the bones of the loaded asset.

    The other anatomy tests measure in these frames, so a stale asset folder (or a layout change
    not yet rebuilt into it) must show here first.
    """
    pose = layout.poses[level]
    center = default_scene.landmark(f"body_center_{level}")
    assert np.linalg.norm(center - pose.translation_mm) < 0.05, f"{level}: body centre {center} vs pose {pose.translation_mm}"
    up = default_scene.landmark(f"superior_endplate_{level}") - center
    left = default_scene.landmark(f"pedicle_{level}_left") - default_scene.landmark(f"pedicle_{level}_right")
    for axis, vector, name in ((2, up, "cranial"), (0, left, "left")):
        angle = np.degrees(np.arccos(np.clip(vector @ pose.rotation[:, axis] / np.linalg.norm(vector), -1, 1)))
        assert angle < 0.5, f"{level}: the {name} axis of the layout is {angle:.2f}° off the asset's landmarks"


@pytest.mark.parametrize("upper,lower", list(zip(BONES[:-1], BONES[1:])))
def test_adjacent_bones_do_not_overlap(default_scene, layout, upper, lower):
    """Every vertex of one bone lies outside its neighbour by more than 0.3 mm, both ways."""
    findings = []
    worst = np.inf
    for a, b in ((upper, lower), (lower, upper)):
        vertices = default_scene.structure(a).mesh.vertices
        distance = default_scene.signed_distance(b, vertices)
        worst = min(worst, float(distance.min()))
        if distance.min() <= MIN_CLEARANCE_MM:
            deepest = layout.poses[lower].local_from_patient(vertices[np.argmin(distance)][None])[0]
            inside = int(np.count_nonzero(distance < 0.0))
            findings.append(f"{inside} vertices of {a} inside {b}, deepest {distance.min():.2f} mm at "
                            f"({deepest[0]:.1f}, {deepest[1]:.1f}, {deepest[2]:.1f}) in the {lower} frame")
    record("bone clearance (min vertex distance)", f"{upper}-{lower}", worst, f"> {MIN_CLEARANCE_MM} mm", not findings)
    assert not findings, "; ".join(findings)


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("upper,lower", list(zip(BONES[:-1], BONES[1:])))
def test_facet_joint_surfaces_face_at_the_published_angle(default_scene, layout, upper, lower, side):
    """The articular surfaces across a facet joint make the published angle with the
    midsagittal plane (Masharawi et al., Spine 2004, via anatomy.md §5: the superior facets of
    L2 31° ... L5 53°, S1 53°), within 5° (their SDs are 6-10°), and face each other.

    Measured on the fields: in three horizontal slices through the middle of the joint, the
    points halfway across the joint space (outside both bones, about as far from each) within
    6 mm of the joint's centre; at each, the outward normals of both bones (central
    differences). The surface's angle to the midsagittal plane is that of its horizontal
    normal to the left-right axis. The layout only says where to look.
    """
    joint = layout.superior_joints[lower][0 if SIDES[side] > 0 else 1]
    pose = layout.poses[lower]
    grid = np.arange(-6.0, 6.01, 0.25)
    gx, gy = (a.ravel() for a in np.meshgrid(grid, grid))
    midway = []
    for dz in (-3.0, 0.0, 3.0):
        local = np.column_stack([joint.center[0] + gx, joint.center[1] + gy, np.full(gx.size, joint.center[2] + dz)])
        world = pose.patient_from_local(local)
        to_lower, to_upper = default_scene.signed_distance(lower, world), default_scene.signed_distance(upper, world)
        midway.append(local[(to_lower > 0.5) & (to_upper > 0.5) & (to_lower + to_upper < 2.6)])
    points = np.vstack(midway)
    assert len(points) > 30, f"no joint space found between {upper} and {lower} ({len(points)} points)"

    def horizontal_normals(bone: str) -> np.ndarray:
        steps = np.eye(3) * 0.1
        gradient = np.column_stack([default_scene.signed_distance(bone, pose.patient_from_local(points + step))
                                    - default_scene.signed_distance(bone, pose.patient_from_local(points - step))
                                    for step in steps])[:, :2]
        return gradient / np.linalg.norm(gradient, axis=1, keepdims=True)

    lower_normals, upper_normals = horizontal_normals(lower), horizontal_normals(upper)
    angle = float(np.median(np.degrees(np.arccos(np.abs(lower_normals[:, 0])))))
    facing = float(np.median(np.einsum("ij,ij->i", lower_normals, upper_normals)))
    published = SACRUM.facet_angle_deg if lower == "sacrum" else MORPHOMETRY[lower].facet_angle_deg
    record("facet joint angle to the midsagittal plane", f"{upper}-{lower} {side}", angle,
           f"{published} ± 5°", abs(angle - published) <= 5.0)
    assert abs(angle - published) <= 5.0, f"{upper}-{lower} {side}: joint at {angle:.1f}°, published {published}°"
    assert facing < -0.95, f"{upper}-{lower} {side}: the two articular surfaces do not face each other ({facing:+.2f})"
