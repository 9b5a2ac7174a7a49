"""Targeting on the default patient: distances, parallelism, wrong level/side, danger.

Trajectories are planned from the anatomy as a clinician would: aimed at a bone landmark (the
SAP-TP junction, the canal between two laminae), with the caudal tilt and abduction of the
published techniques measured against the vertebra's own endplate (Tran et al., Pain Med
2024;25:13: parasagittal approach, 40-64° caudal, 6-15° abduction; procedure.md step 7c).
"""

from __future__ import annotations

import numpy as np
import pytest

from simulator.errors import ParameterError, UnknownStructureError
from simulator.needle import advance, advance_until_bone, aim_direction, entry_towards, insert
from simulator.targeting import ON_TARGET_MM, PARALLEL_DEG, assess
from tests.helpers import record


def _to_bone(scene, target_mm, direction, device="rf_18g_100mm_10mm", label="needle 1"):
    """Insert at the skin point in line with ``target_mm`` and advance until bone stops it."""
    needle, events = insert(scene, device, entry_towards(scene, target_mm, direction), direction, label)
    needle, steps = advance_until_bone(scene, needle)
    return needle, events + steps


def _junction_approach(scene, level: str, side: str):
    """Parasagittal approach to the SAP-TP junction of ``level``: 50° caudal, 10° abduction."""
    target = scene.landmark(f"sap_tp_junction_{level}_{side}")
    direction = aim_direction(target, 50.0, 10.0, frame=scene.layout.poses[level].rotation)
    return _to_bone(scene, target, direction)


@pytest.fixture(scope="module")
def l4_medial_branch_needle(default_scene):
    """A needle on the right L5 SAP-TP junction, where the L4 medial branch crosses."""
    needle, events = _junction_approach(default_scene, "L5", "right")
    return needle, events


def test_junction_approach_ends_on_bone_beside_the_l4_medial_branch(default_scene, l4_medial_branch_needle):
    needle, events = l4_medial_branch_needle
    report = assess(default_scene, needle, "medial_branch_L4_right")
    record("L5 junction approach: active tip to L4 MB", "right", report.active_to_target_mm, "<= 3 mm",
           report.active_to_target_mm <= 3.0)
    assert needle.bone_contact is not None and needle.bone_contact.startswith("L5")
    assert events[-1].kind == "bone_contact"
    # Bone stops the tip within a lesion's reach of the nerve, but not parallel to it (see below).
    assert report.active_to_target_mm <= 3.0
    assert report.closest_nerve_id in {"medial_branch_L4_right", "dorsal_ramus_L4_right"}
    # Nothing critical pierced or within reach of the active tip on this path.
    assert all(c.shaft_mm > 0.0 and c.active_tip_mm > 1.0 for c in report.critical)
    assert report.verdict == "near", report.reason


@pytest.mark.xfail(strict=True, reason="the generated L4 medial branch turns medially along the back of the L5 "
                   "transverse process instead of running obliquely down the lateral SAP neck, so a textbook "
                   "parallel needle lies about 50° off it (issue 3, open item)")
def test_textbook_l4_medial_branch_placement_is_parallel(default_scene, l4_medial_branch_needle):
    needle, _ = l4_medial_branch_needle
    report = assess(default_scene, needle, "medial_branch_L4_right")
    record("textbook L4 MB placement: angle to the nerve", "right", report.angle_deg, f"<= {PARALLEL_DEG}°",
           report.parallel)
    assert report.verdict == "on target", report.reason


def test_plan_one_level_off_is_reported_as_wrong_level(default_scene):
    """Aiming at the L4 junction (where the L3 medial branch runs) while the target is L4's."""
    needle, _ = _junction_approach(default_scene, "L4", "right")
    report = assess(default_scene, needle, "medial_branch_L4_right")
    assert report.verdict == "wrong level", report.reason
    assert report.closest_nerve_id in {"medial_branch_L3_right", "dorsal_ramus_L3_right"}
    assert "medial_branch_L3_right" in report.reason or "dorsal_ramus_L3_right" in report.reason
    assert report.active_to_target_mm > 15.0  # a whole segment away


def test_other_side_is_reported_as_wrong_side(default_scene, l4_medial_branch_needle):
    needle, _ = l4_medial_branch_needle
    report = assess(default_scene, needle, "medial_branch_L4_left")
    assert report.verdict == "wrong side", report.reason
    assert report.active_to_target_mm > 40.0


def test_deep_medial_trajectory_into_the_dural_sac_is_in_danger(default_scene, layout):
    """Paramedian interlaminar path (20° cranial, 20° medial) to the middle of the canal at L4-L5."""
    shape = layout.shapes["L5"]
    canal = layout.poses["L5"].patient_from_local(
        np.array([[0.0, shape.posterior_wall_y + 0.5 * shape.canal_depth, 0.5 * shape.mid_height + 3.0]]))[0]
    assert default_scene.contains("dural_sac", canal)[0]
    direction = aim_direction(canal + [-10.0, 0.0, 0.0], 20.0, 20.0)
    needle, events = insert(default_scene, "spinal_22g_127mm", entry_towards(default_scene, canal, direction), direction)
    depth = float(np.linalg.norm(canal - needle.entry_mm))
    needle, new = advance(default_scene, needle, depth)
    events += new
    assert needle.bone_contact is None
    assert [e.kind for e in events if e.kind == "csf"] == ["csf"]
    report = assess(default_scene, needle, "medial_branch_L4_right")
    assert report.verdict == "in danger"
    assert "dural_sac" in report.reason
    sac = next(c for c in report.critical if c.structure_id == "dural_sac")
    assert sac.shaft_mm < -1.0  # the tip is well inside the sac


def test_report_lists_critical_structures_nearest_first(default_scene, l4_medial_branch_needle):
    needle, _ = l4_medial_branch_needle
    report = assess(default_scene, needle, "medial_branch_L4_right")
    distances = [c.shaft_mm for c in report.critical]
    assert distances == sorted(distances)
    assert {c.kind for c in report.critical} <= {"root", "ganglion", "ventral_ramus", "dural_sac", "artery", "vein", "disc"}
    for c in report.critical:  # each figure is the exact distance from the shaft
        shaft = np.linspace(needle.entry_mm, needle.tip_mm, 200)
        exact = float(default_scene.signed_distance(c.structure_id, shaft).min()) - needle.model.radius_mm
        assert abs(c.shaft_mm - exact) < 0.3


def test_angle_is_zero_along_the_nerve_and_ninety_across(default_scene):
    """A needle laid along a straight stretch of a ventral ramus, then across it."""
    nerve = default_scene.structure("ventral_ramus_L3_right").field.points_mm
    a, b = nerve[len(nerve) // 2 - 3], nerve[len(nerve) // 2 + 3]
    along = (b - a) / np.linalg.norm(b - a)
    from dataclasses import replace

    from simulator.needle import Needle
    from simulator.devices import device

    needle = Needle("probe", device("rf_22g_150mm_5mm"), a - 40.0 * along, along, depth_mm=40.0 + float(np.linalg.norm(b - a)))
    report = assess(default_scene, needle, "ventral_ramus_L3_right")
    assert report.angle_deg < 8.0
    across = np.cross(along, [0.0, 0.0, 1.0])
    across /= np.linalg.norm(across)
    middle = 0.5 * (a + b)
    report = assess(default_scene, replace(needle, entry_mm=middle - 40.0 * across, direction=across, depth_mm=40.0),
                    "ventral_ramus_L3_right")
    assert report.angle_deg > 80.0


def test_bad_targets_give_clear_errors(default_scene, l4_medial_branch_needle):
    needle, _ = l4_medial_branch_needle
    with pytest.raises(UnknownStructureError, match="medial_branch_L4_right"):
        assess(default_scene, needle, "medial_branch_L4_rigth")
    with pytest.raises(ParameterError, match="a nerve"):
        assess(default_scene, needle, "L4")


@pytest.mark.xfail(strict=True, reason="a needle aimed at the ala-SAP groove landmark (no oblique, caudal tilt) stops "
                   "on the back of the generated sacral ala 10-15 mm short of the L5 dorsal ramus: the groove is "
                   "not reachable from behind in the generated sacrum (issue 3, open item)")
def test_textbook_l5_dorsal_ramus_placement(default_scene):
    """L5 dorsal ramus: no oblique, 15° caudal tilt, aimed at the ala-S1 SAP groove (procedure.md 7b, 15b)."""
    groove = default_scene.landmark("ala_sap_groove_right")
    needle, events = _to_bone(default_scene, groove, aim_direction(groove, 15.0, 0.0), device="rf_18g_150mm_10mm")
    report = assess(default_scene, needle, "dorsal_ramus_L5_right")
    record("textbook L5 DR placement: active tip to the ramus", "right", report.active_to_target_mm, "<= 2 mm",
           report.active_to_target_mm <= ON_TARGET_MM)
    assert report.verdict == "on target", report.reason
