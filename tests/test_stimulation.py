"""Stimulation answers on the default patient (model and constants: simulator/stimulation.py).

Clinical figures: concordant sensation at <= 0.5 V means the tip is close (procedure.md step
11, Koh et al. 2017); a leg twitch at the 2 V motor test means a spinal nerve is within reach
(step 12b).
"""

from __future__ import annotations

import numpy as np
import pytest

from simulator.approach import place_needle, textbook_approach
from simulator.errors import ParameterError
from simulator.needle import advance, aim_direction, entry_towards, insert, withdraw
from simulator.stimulation import MAX_VOLTAGE_V, MOTOR, SENSORY, motor_test, sensory_test, threshold_v
from simulator.targeting import assess


def test_threshold_rises_with_distance_and_half_a_volt_means_close():
    distances = np.linspace(0.0, 6.0, 61)
    volts = threshold_v(distances)
    assert np.all(np.diff(volts) > 0)
    assert threshold_v(0.0) == pytest.approx(0.25)  # near Koh 2017's mean detection threshold, 0.3 V
    assert distances[volts <= 0.5].max() == pytest.approx(1.5)  # <= 0.5 V only within 1.5 mm
    assert threshold_v(3.0) > 1.0
    assert np.all(threshold_v(distances, MOTOR) > threshold_v(distances, SENSORY))


def _junction_needle(scene):
    """The textbook needle for the right L4 medial branch (on the right L5 SAP-TP junction)."""
    return place_needle(scene, textbook_approach("medial_branch_L4_right"))[0]


def test_sensory_threshold_rises_as_the_needle_is_withdrawn_from_the_medial_branch(default_scene):
    needle = _junction_needle(default_scene)
    distances, volts = [], []
    for _ in range(6):
        report = assess(default_scene, needle, "medial_branch_L4_right")
        answer = sensory_test(default_scene, needle, "medial_branch_L4_right")
        distances.append(report.active_to_target_mm)
        volts.append(answer.threshold_v if answer.threshold_v is not None else MAX_VOLTAGE_V + 1.0)  # no answer
        if answer.threshold_v is not None and answer.nerve_id == "medial_branch_L4_right":
            assert answer.concordant and "usual pain" in answer.message
        needle, _ = withdraw(default_scene, needle, 3.0)  # parallel to the nerve: it takes a few mm to leave it
    order = np.argsort(distances)
    assert np.all(np.diff(np.asarray(volts)[order]) >= -1e-9), (distances, volts)
    assert volts[0] == pytest.approx(threshold_v(distances[0]), abs=0.05)
    assert volts[0] < 1.0 < volts[-1]


def test_motor_test_at_the_medial_branch_twitches_multifidus_only(default_scene):
    needle = _junction_needle(default_scene)
    answer = motor_test(default_scene, needle, 2.0)
    assert answer.responses == ("multifidus twitch",)
    assert not answer.leg_fasciculation


def test_motor_test_near_a_root_ganglion_makes_the_leg_twitch(default_scene):
    """Transforaminal path (30° medial) stopped 4 mm short of the middle of the L4 ganglion."""
    ganglion = default_scene.structure("ganglion_L4_right").field.points_mm
    centre = ganglion[len(ganglion) // 2]
    direction = aim_direction(centre, 0.0, 30.0)
    needle, _ = insert(default_scene, "rf_20g_150mm_5mm", entry_towards(default_scene, centre, direction), direction)
    needle, _ = advance(default_scene, needle, float(np.linalg.norm(centre - needle.entry_mm)) - 4.0)
    answer = motor_test(default_scene, needle, 2.0)
    assert answer.leg_fasciculation and "do not lesion" in answer.message
    assert "ganglion_L4_right" in answer.nerve_ids
    sensory = sensory_test(default_scene, needle, "medial_branch_L4_right")
    assert not sensory.concordant and sensory.nerve_id == "ganglion_L4_right"
    assert "leg" in sensory.message
    assert motor_test(default_scene, needle, 0.3).responses == ()  # below the motor threshold at contact


def test_bad_stimulation_input(default_scene):
    needle = _junction_needle(default_scene)
    with pytest.raises(ParameterError, match="voltage_v"):
        motor_test(default_scene, needle, 25.0)
    with pytest.raises(KeyError, match="medial_branch_L9_right"):
        sensory_test(default_scene, needle, "medial_branch_L9_right")
