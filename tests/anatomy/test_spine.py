"""Placement of the bones: the frames the tests measure in, and no bone inside another.

Neighbouring bones meet only across joints: the disc between the bodies and the facet joints
between the articular processes. A facet joint has a joint space (cartilage and cavity) of
about 2 mm in the generator (``vertebra.FACET_GAP_MM``), so the surfaces of two bones must stay
apart everywhere; 0.3 mm is allowed for the meshes' sampling and decimation.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import BONES, LUMBAR, record

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
