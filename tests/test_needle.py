"""Needles on the default patient: the catalogue, insertion mechanics, bone stops and events.

Trajectories are written from the anatomy (landmarks and the bones' own frames), as a clinician
would plan them, and their outcomes are checked against the scene's own crossings.
"""

from __future__ import annotations

import numpy as np
import pytest

from simulator.devices import CATALOGUE, CURVE_DEG, device
from simulator.errors import ParameterError, UnknownStructureError
from simulator.approach import place_needle, textbook_approach
from simulator.needle import (REAIM_DEPTH_MM, advance, advance_until_bone, aim_direction, entry_towards, insert, reaim,
                              rotate, withdraw)
from simulator.targeting import assess
from tests.helpers import record


def _local(scene, bone: str, point_local) -> np.ndarray:
    return scene.layout.poses[bone].patient_from_local(np.asarray([point_local], dtype=float))[0]


def test_catalogue_has_the_published_devices():
    """procedure.md §2: RF cannulas 16/18/20/22 G (OD 1.651/1.270/0.908/0.718 mm), 100 and
    150 mm, 5/10/15 mm active tips; cryoprobes 14/16 G; a 22 G spinal needle."""
    for gauge, diameter in ((16, 1.651), (18, 1.270), (20, 0.908), (22, 0.718)):
        for length in (100, 150):
            for tip in (5, 10, 15):
                straight, curved = device(f"rf_{gauge}g_{length}mm_{tip}mm"), device(f"rf_{gauge}g_{length}mm_{tip}mm_curved")
                for model in (straight, curved):
                    assert (model.outer_diameter_mm, model.length_mm, model.active_tip_mm) == (diameter, length, tip)
                assert (straight.curve_deg, curved.curve_deg) == (0.0, CURVE_DEG)
                assert "curved active tip" in curved.description
    assert device("cryo_14g_100mm").outer_diameter_mm == 2.108
    assert device("spinal_22g_89mm").active_tip_mm == 0.0
    assert {m.kind for m in CATALOGUE.values()} == {"rf_cannula", "cryoprobe", "injection_needle"}
    with pytest.raises(UnknownStructureError, match="rf_18g_100mm_10mm"):
        device("rf_18g_100mm_10")


def test_aim_angles_follow_the_clinical_names():
    right_entry = np.array([-40.0, 80.0, 0.0])
    straight = aim_direction(right_entry, 0.0, 0.0)
    np.testing.assert_allclose(straight, [0.0, -1.0, 0.0])
    tilted = aim_direction(right_entry, 30.0, 10.0)
    assert tilted[2] > 0 and tilted[0] > 0, "cranial is +z; medial from the right side is +x"
    assert np.degrees(np.arctan2(tilted[2], -tilted[1])) == pytest.approx(30.0)
    assert np.degrees(np.arctan2(tilted[0], -tilted[1])) == pytest.approx(10.0)


def test_entry_is_moved_onto_the_skin(default_scene):
    target = default_scene.landmark("pedicle_L4_right")
    skin = entry_towards(default_scene, target, [0.0, -1.0, 0.0])
    outside = skin + np.array([0.0, 6.0, 0.0])
    needle, events = insert(default_scene, "rf_18g_100mm_10mm", outside, [0.0, -1.0, 0.0])
    offset = float(default_scene.signed_distance("body", needle.entry_mm[None])[0])
    record("needle entry: distance to the skin surface after snapping", "6 mm outside", offset, "|d| < 0.05 mm",
           abs(offset) < 0.05)
    assert abs(offset) < 0.05
    assert events[0].kind == "skin_entry"


@pytest.mark.parametrize("side", ["left", "right"])
def test_needle_aimed_at_the_transverse_process_stops_on_it(default_scene, side):
    """Straight down (anteriorly) onto the middle of the L4 transverse process: the needle stops
    where the scene says bone begins, and names the transverse process."""
    layout = default_scene.layout
    shape = layout.shapes["L4"]
    sign = 1.0 if side == "left" else -1.0
    middle = _local(default_scene, "L4", [sign * 0.4 * shape.transverse_span, shape.transverse_y, shape.transverse_center_z])
    entry = entry_towards(default_scene, middle, [0.0, -1.0, 0.0])
    needle, _ = insert(default_scene, "rf_18g_100mm_10mm", entry, [0.0, -1.0, 0.0])
    needle, events = advance_until_bone(default_scene, needle, limit_mm=120.0)
    bone_entry = next(c for c in default_scene.segment_crossings(entry, middle + [0.0, -20.0, 0.0]) if c.role == "bone")
    contact = [e for e in events if e.kind == "bone_contact"]
    record("needle onto the L4 transverse process: stop depth vs bone surface", side,
           f"{needle.depth_mm:.2f} / {bone_entry.entry_mm:.2f} mm", "equal within 0.01 mm",
           abs(needle.depth_mm - bone_entry.entry_mm) < 0.01)
    assert contact and contact[0].message.endswith("L4 transverse process"), [e.message for e in events]
    assert needle.bone_contact == "L4 transverse process"
    assert needle.depth_mm == pytest.approx(bone_entry.entry_mm, abs=0.01)
    # Pushing on bone does not move it.
    pushed, events = advance(default_scene, needle, 1.0)
    assert pushed.depth_mm == needle.depth_mm and events[0].kind == "bone_contact"
    # The crossings end in the paraspinal muscle, in order from the skin.
    kinds = [c.kind for c in needle.crossings(default_scene)]
    assert kinds[:2] == ["skin", "fat"] and kinds[-1] == "muscle"


def test_paramedian_needle_into_the_dural_sac_raises_csf(default_scene):
    """A paramedian interlaminar trajectory (right, 10° medial, level) at the L3-L4 window,
    aimed at the centre of the canal just below L4's superior endplate, meets no bone and
    enters the dural sac: CSF event where the scene says the sac begins."""
    layout = default_scene.layout
    shape = layout.shapes["L4"]
    canal = _local(default_scene, "L4", [0.0, shape.posterior_wall_y + 0.5 * shape.canal_depth, 0.5 * shape.mid_height - 3.0])
    right_of_midline = canal + np.array([-1.0, 0.0, 0.0])
    direction = aim_direction(right_of_midline, 0.0, 10.0)
    entry = entry_towards(default_scene, canal, direction)
    needle, _ = insert(default_scene, "spinal_22g_127mm", entry, direction)
    needle, events = advance_until_bone(default_scene, needle, limit_mm=float(np.linalg.norm(canal - entry)) + 2.0)
    csf = [e for e in events if e.kind == "csf"]
    sac = next(c for c in default_scene.segment_crossings(entry, canal) if c.structure_id == "dural_sac")
    assert needle.bone_contact is None, needle.bone_contact
    assert csf and csf[0].structure_id == "dural_sac"
    assert csf[0].depth_mm == pytest.approx(sac.entry_mm, abs=0.01)


def test_reaim_only_near_the_skin_and_counting_redirections(default_scene):
    target = default_scene.landmark("pedicle_L4_right")
    entry = entry_towards(default_scene, target, [0.0, -1.0, 0.0])
    needle, _ = insert(default_scene, "rf_18g_100mm_10mm", entry, [0.0, -1.0, 0.0])
    needle, _ = advance(default_scene, needle, 5.0)
    needle, events = reaim(default_scene, needle, aim_direction(entry, 5.0, 0.0))
    assert events[0].kind == "aim" and needle.redirections == 0
    needle, _ = advance(default_scene, needle, 25.0)
    with pytest.raises(ParameterError, match="withdraw first"):
        reaim(default_scene, needle, aim_direction(entry, 10.0, 0.0))
    needle, _ = withdraw(default_scene, needle, needle.depth_mm - 3.0)
    assert needle.depth_mm == pytest.approx(3.0) and needle.depth_mm <= REAIM_DEPTH_MM
    needle, events = reaim(default_scene, needle, aim_direction(entry, 10.0, 0.0))
    assert events[0].kind == "redirection" and needle.redirections == 1
    # Path in tissue: 5 + 25 + 27 mm of tip travel plus two small pivots at 5 and 3 mm depth.
    assert 57.0 < needle.path_mm < 58.5


def test_bad_needle_input_gives_clear_errors(default_scene):
    target = default_scene.landmark("pedicle_L4_right")
    entry = entry_towards(default_scene, target, [0.0, -1.0, 0.0])
    with pytest.raises(ParameterError, match="within 15 mm of the skin"):
        insert(default_scene, "rf_18g_100mm_10mm", entry + [0.0, 40.0, 0.0], [0.0, -1.0, 0.0])
    with pytest.raises(ParameterError, match="into the body"):
        insert(default_scene, "rf_18g_100mm_10mm", entry, [0.0, 1.0, 0.0])
    with pytest.raises(ParameterError, match="non-zero"):
        insert(default_scene, "rf_18g_100mm_10mm", entry, [0.0, 0.0, 0.0])
    needle, _ = insert(default_scene, "rf_18g_100mm_5mm", entry, [0.0, -1.0, 0.0])
    for bad in (-2.0, 0.0, float("nan"), 500.0):
        with pytest.raises(ParameterError, match="distance_mm"):
            advance(default_scene, needle, bad)
    with pytest.raises(ParameterError, match="100 mm long"):
        advance(default_scene, needle, 120.0)
    needle, _ = advance(default_scene, needle, 10.0)
    with pytest.raises(ParameterError, match="up to the tip depth, 10.0 mm"):
        withdraw(default_scene, needle, 12.0)
    with pytest.raises(ParameterError, match="cranial_deg"):
        aim_direction(entry, 95.0, 0.0)


def test_curved_tip_geometry_and_turning_the_hub(default_scene):
    """A 10 mm curved tip bent CURVE_DEG off the shaft ends 10 sin(10°) = 1.74 mm off the shaft's
    axis; half a turn of the hub swings it 3.47 mm to the other side, at the same depth, without
    a new pass."""
    target = default_scene.landmark("pedicle_L4_right")
    entry = entry_towards(default_scene, target, [0.0, -1.0, 0.0])
    needle, _ = insert(default_scene, "rf_18g_100mm_10mm_curved", entry, [0.0, -1.0, 0.0])
    needle, _ = advance(default_scene, needle, 25.0)
    offset = 10.0 * np.sin(np.radians(CURVE_DEG))
    axis_point = needle.entry_mm + needle.depth_mm * needle.direction
    assert np.linalg.norm(needle.tip_mm - axis_point) == pytest.approx(offset, abs=1e-6)
    assert needle.tip_mm[2] > axis_point[2], "at roll 0 the tip bends towards the head"
    start, tip = needle.active_segment_mm
    assert np.linalg.norm(tip - start) == pytest.approx(10.0)
    assert np.degrees(np.arccos(needle.tip_direction @ needle.direction)) == pytest.approx(CURVE_DEG)
    turned, events = rotate(default_scene, needle, 180.0)
    assert events[0].kind == "rotation" and turned.roll_deg == pytest.approx(180.0)
    assert np.linalg.norm(turned.tip_mm - needle.tip_mm) == pytest.approx(2 * offset, abs=1e-6)
    assert turned.depth_mm == needle.depth_mm and turned.redirections == 0
    assert turned.path_mm == pytest.approx(needle.path_mm + 2 * offset)
    # Clockwise seen from the hub: a quarter turn from "towards the head" points the tip to the
    # needle's right-hand side, -x for a needle going down (-y) with the head up (+z).
    quarter, _ = rotate(default_scene, needle, 90.0)
    assert (quarter.tip_mm - axis_point)[0] == pytest.approx(-offset, abs=1e-6)
    # The crossings follow the shaft, then the bend: up to the bend they are the shaft's, a
    # structure spanning the bend is one crossing, and none reaches past the tip.
    crossings = needle.crossings(default_scene)
    shaft_length = float(np.linalg.norm(needle.bend_mm - needle.entry_mm))
    shaft_only = default_scene.segment_crossings(needle.entry_mm, needle.bend_mm)
    assert [c.structure_id for c in crossings][: len(shaft_only) - 1] == [c.structure_id for c in shaft_only][:-1]
    ids = [c.structure_id for c in crossings]
    assert all(a != b for a, b in zip(ids, ids[1:])), ids
    assert max(c.exit_mm for c in crossings) <= shaft_length + 10.0 + 1e-6
    # A straight needle turns without moving.
    straight, _ = insert(default_scene, "rf_18g_100mm_10mm", entry, [0.0, -1.0, 0.0])
    straight, _ = advance(default_scene, straight, 25.0)
    np.testing.assert_allclose(rotate(default_scene, straight, 90.0)[0].tip_mm, straight.tip_mm)


def test_curved_tip_steers_towards_the_nerve_and_cannot_turn_into_bone(default_scene):
    """On the textbook L4 medial-branch approach, a curved tip turned (at the skin) to bend
    medially, towards the neck of the L5 SAP, ends closer to the nerve than one bent laterally;
    turned round against the bone it rests on, it is blocked."""
    approach = textbook_approach("medial_branch_L4_right")
    direction = approach.direction(default_scene)
    results = {}
    for roll in (90.0, 270.0):
        needle, _ = insert(default_scene, "rf_18g_150mm_10mm_curved", approach.entry_mm(default_scene), direction)
        needle, _ = rotate(default_scene, needle, roll)
        bends_medially = needle.curve_direction[0] > 0.0  # medial is +x on the patient's right
        needle, _ = advance_until_bone(default_scene, needle, step_mm=1.0)
        results["medial" if bends_medially else "lateral"] = needle
    distances = {name: assess(default_scene, n, "medial_branch_L4_right").active_to_target_mm for name, n in results.items()}
    record("curved tip: active tip to L4 MB, bent medially / laterally", "right",
           f"{distances['medial']:.2f} / {distances['lateral']:.2f} mm", "medially < laterally",
           distances["medial"] < distances["lateral"])
    assert results["medial"].bone_contact is not None and results["lateral"].bone_contact is not None
    assert distances["medial"] < distances["lateral"] <= 3.0
    needle = results["lateral"]
    outcomes = [rotate(default_scene, needle, float(roll)) for roll in range(30, 360, 30)]
    blocked = [(turned, events) for turned, events in outcomes if events[0].kind == "rotation_blocked"]
    assert blocked, "turning the tip round never met the bone it rests on"
    turned, events = blocked[0]
    assert turned is needle and "cannot turn into bone" in events[0].message
    with pytest.raises(ParameterError, match="by_deg"):
        rotate(default_scene, needle, 720.0)


def test_aiming_down_the_beam_of_a_caudally_tilted_c_arm(default_scene):
    """A 40° caudal tilt puts the detector towards the feet: the beam runs from anterior-cranial
    to posterior-caudal, and a needle down the beam enters caudal and advances cranially
    (procedure.md step 7d), seen end-on."""
    from simulator.needle import down_the_beam

    tilt = np.radians(40.0)
    beam = np.array([0.0, np.cos(tilt), -np.sin(tilt)])
    direction = down_the_beam(beam * 3.0)
    np.testing.assert_allclose(direction, -beam, atol=1e-12)
    target = default_scene.landmark("sap_tp_junction_L5_right")
    needle, _ = insert(default_scene, "rf_18g_150mm_10mm", entry_towards(default_scene, target, direction), direction)
    assert needle.entry_mm[2] < target[2] and needle.entry_mm[1] > target[1]  # caudal and behind its target
    assert np.cross(needle.direction, beam) == pytest.approx(np.zeros(3), abs=1e-9)  # end-on on the image
    with pytest.raises(ParameterError, match="beam_direction"):
        down_the_beam([0.0, 0.0, 0.0])
