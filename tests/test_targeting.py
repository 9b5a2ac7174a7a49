"""Targeting on the default patient: distances, parallelism, wrong level/side, danger.

Trajectories are planned from the anatomy as a clinician would: aimed at a bone landmark (the
SAP-TP junction, the ala-SAP groove, the canal between two laminae), with the caudal tilt and
abduction of the published techniques measured against the vertebra's own endplate
(:mod:`simulator.approach`: Tran et al., Pain Med 2024;25:13, parasagittal approach, modal caudal
40-50° at L1-L2 and 50-60° at L3-L5, 6-15° abduction; no oblique for the L5 dorsal ramus,
procedure.md steps 7b-7c).
"""

from __future__ import annotations

import numpy as np
import pytest

from simulator.approach import textbook_approach, place_needle
from simulator.errors import ParameterError, UnknownStructureError
from simulator.needle import advance, aim_direction, entry_towards, insert
from simulator.targeting import ON_TARGET_MM, PARALLEL_DEG, assess
from tests.helpers import record

#: Every target of the parallel technique on the default patient.
TARGETS = [f"medial_branch_L{n}_{side}" for n in (1, 2, 3, 4) for side in ("left", "right")] + \
          ["dorsal_ramus_L5_left", "dorsal_ramus_L5_right"]


@pytest.fixture(scope="module")
def l4_medial_branch_needle(default_scene):
    """The textbook needle for the right L4 medial branch, on the right L5 SAP-TP junction."""
    return place_needle(default_scene, textbook_approach("medial_branch_L4_right"))


def test_textbook_l4_medial_branch_placement_is_on_target_and_parallel(default_scene, l4_medial_branch_needle):
    needle, events = l4_medial_branch_needle
    report = assess(default_scene, needle, "medial_branch_L4_right")
    record("textbook L4 MB placement: active tip to nerve / angle", "right",
           f"{report.active_to_target_mm:.2f} mm / {report.angle_deg:.1f}°", f"<= {ON_TARGET_MM} mm, <= {PARALLEL_DEG}°",
           report.active_to_target_mm <= ON_TARGET_MM and report.parallel)
    # Bone stops the tip at the junction: on the back of the L5 transverse process, at the landmark.
    assert events[-1].kind == "bone_contact" and events[-1].message.endswith("L5 transverse process")
    assert np.linalg.norm(needle.tip_mm - default_scene.landmark("sap_tp_junction_L5_right")) < 0.5
    assert 0.0 < report.active_to_target_mm <= ON_TARGET_MM  # beside the nerve, not through it
    assert report.angle_deg <= PARALLEL_DEG
    assert report.closest_nerve_id in {"medial_branch_L4_right", "dorsal_ramus_L4_right"}
    # Nothing critical pierced or within reach of the active tip on this path.
    assert all(c.shaft_mm > 0.0 and c.active_tip_mm > 1.0 for c in report.critical)
    assert [e.kind for e in events if e.kind not in ("skin_entry", "bone_contact")] == []
    assert report.verdict == "on target", report.reason


@pytest.mark.parametrize("target", TARGETS)
def test_every_textbook_placement_is_on_target(default_scene, target):
    """The same technique at every level and side: on bone, within a lesion's reach, parallel."""
    needle, events = place_needle(default_scene, textbook_approach(target))
    report = assess(default_scene, needle, target)
    record("textbook placement: active tip to nerve / angle", target,
           f"{report.active_to_target_mm:.2f} mm / {report.angle_deg:.1f}°", f"<= {ON_TARGET_MM} mm, <= {PARALLEL_DEG}°",
           report.verdict == "on target")
    assert needle.bone_contact is not None, [e.message for e in events]
    assert report.verdict == "on target", report.reason


def test_plan_one_level_off_is_reported_as_wrong_level(default_scene):
    """The textbook needle for the L3 medial branch (on the L4 junction) judged for the L4 one."""
    needle, _ = place_needle(default_scene, textbook_approach("medial_branch_L3_right"))
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


def test_textbook_l5_dorsal_ramus_placement(default_scene):
    """L5 dorsal ramus: no oblique, caudal tilt, aimed at the ala-S1 SAP groove (procedure.md 7b, 9, 15b)."""
    needle, events = place_needle(default_scene, textbook_approach("dorsal_ramus_L5_right"))
    report = assess(default_scene, needle, "dorsal_ramus_L5_right")
    record("textbook L5 DR placement: active tip to the ramus / angle", "right",
           f"{report.active_to_target_mm:.2f} mm / {report.angle_deg:.1f}°", f"<= {ON_TARGET_MM} mm, <= {PARALLEL_DEG}°",
           report.verdict == "on target")
    assert events[-1].kind == "bone_contact" and events[-1].message.endswith("sacral ala")
    assert report.active_to_target_mm <= ON_TARGET_MM and report.angle_deg <= PARALLEL_DEG
    assert report.closest_nerve_id in {"dorsal_ramus_L5_right", "medial_branch_L5_right"}
    assert report.verdict == "on target", report.reason


def test_textbook_approach_rejects_other_targets():
    with pytest.raises(ParameterError, match="dorsal_ramus_L5_<side>"):
        textbook_approach("root_L4_right")
    with pytest.raises(ParameterError, match="medial_branch_L1..L4"):
        textbook_approach("medial_branch_L5_left")


def test_a_multi_level_procedure_places_three_needles_at_once(default_scene):
    """L4-L5 and L5-S1 facet joints on the right: the L3 and L4 medial branches and the L5 dorsal
    ramus, one needle each; every needle is its own value, judged on its own."""
    from simulator.needle import withdraw

    targets = ("medial_branch_L3_right", "medial_branch_L4_right", "dorsal_ramus_L5_right")
    needles = {t: place_needle(default_scene, textbook_approach(t), label=f"needle {i + 1}")[0] for i, t in enumerate(targets)}
    tips = {t: n.tip_mm.copy() for t, n in needles.items()}
    assert len({n.label for n in needles.values()}) == 3
    distances = [float(np.linalg.norm(a.tip_mm - b.tip_mm)) for a, b in zip(list(needles.values()), list(needles.values())[1:])]
    assert min(distances) > 20.0  # one segment apart
    for target, needle in needles.items():
        assert assess(default_scene, needle, target).verdict == "on target"
    moved, _ = withdraw(default_scene, needles["medial_branch_L4_right"], 5.0)
    assert moved.depth_mm == pytest.approx(needles["medial_branch_L4_right"].depth_mm - 5.0)
    for target, needle in needles.items():
        np.testing.assert_array_equal(needle.tip_mm, tips[target])  # the others did not move
