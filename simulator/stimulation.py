"""Nerve stimulation through the active tip, answered the way a patient would.

Before lesioning, the operator tests with the RF generator: sensory stimulation at 50 Hz raises
the voltage until the patient feels their usual (concordant) pain; motor stimulation at 2 Hz
looks for a multifidus twitch (the medial branch is right) and, above all, for no leg
fasciculation (a root or ventral ramus within reach: stop). See procedure.md steps 11-12.

Model
-----
The threshold of a nerve at distance ``d`` (mm, active tip surface to nerve surface) follows
the current-distance relation of extracellular stimulation, ``I = I0 + k d²`` (BeMent & Ranck,
Exp Neurol 1969; Rattay 1989), turned into volts by the tissue impedance, taken constant::

    V(d) = V_contact + V_per_mm2 * d²

Constants (design values, calibrated to the clinical figures of procedure.md):

- sensory 50 Hz: ``V_contact`` 0.25 V, ``V_per_mm2`` 0.11 V/mm². The mapping study of Koh et
  al. (Korean J Pain 2017) found a mean detection threshold of 0.3 V at the target, and the
  clinical criterion "concordant at ≤ 0.5 V" (step 11) is then met within 1.5 mm, inside the
  2 mm reach of a lesion (Cohen 2011): 0.5 V means really close. At 3 mm the threshold is 1.2 V,
  at 5 mm 3 V.
- motor 2 Hz: ``V_contact`` 0.5 V, ``V_per_mm2`` 0.11 V/mm²: motor fibres need about twice the
  sensory threshold at contact (the DRG study of procedure.md step 12b required motor ≥ 1.5 ×
  sensory). With the customary 2 V safety test (step 12b) a root answers within 3.7 mm.
- no answer above :data:`MAX_VOLTAGE_V` (3 V, the top of a generator's stimulation range).

The patient answers for the nerve with the lowest threshold: concordant pain if it is the target
(or the same nerve under another name: its own dorsal ramus or medial branch, a root's ganglion;
:func:`simulator.targeting.same_nerve`), otherwise a non-concordant sensation named after the
nerve (a root's pain runs down the leg).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator._validation import check_range
from simulator.needle import Needle
from simulator.scene import Scene
from simulator.targeting import nerve_distances, same_nerve

__all__ = ["sensory_test", "motor_test", "threshold_v", "SensoryAnswer", "MotorAnswer", "MAX_VOLTAGE_V",
           "SENSORY", "MOTOR"]

#: Highest stimulation voltage of the generator (V).
MAX_VOLTAGE_V = 3.0
#: (V_contact in V, V_per_mm2 in V/mm²) for each test.
SENSORY = (0.25, 0.11)
MOTOR = (0.5, 0.11)
#: Farther than this no nerve can answer within MAX_VOLTAGE_V (mm), with margin.
_REACH_MM = 8.0

#: What stimulating each kind of nerve feels like, when it is not the target.
_FEELS = {
    "root": "sharp electric pain down the leg: a nerve root",
    "ganglion": "sharp electric pain down the leg: a dorsal root ganglion",
    "ventral_ramus": "tingling pain into the thigh and leg: a ventral ramus",
    "dorsal_ramus": "buzzing in the back, but not the usual pain",
    "medial_branch": "buzzing in the back, but not the usual pain",
}
#: Muscles a motor nerve makes twitch at 2 Hz.
_TWITCH = {
    "root": "leg fasciculation",
    "ganglion": "leg fasciculation",
    "ventral_ramus": "leg fasciculation",
    "dorsal_ramus": "multifidus twitch",
    "medial_branch": "multifidus twitch",
}


def threshold_v(distance_mm: float | np.ndarray, test: tuple[float, float] = SENSORY) -> float | np.ndarray:
    """Threshold voltage (V) of a nerve ``distance_mm`` from the active tip (0 when touching)."""
    contact_v, per_mm2 = test
    d = np.maximum(np.asarray(distance_mm, dtype=float), 0.0)
    result = contact_v + per_mm2 * d * d
    return float(result) if np.ndim(result) == 0 else result


@dataclass(frozen=True)
class SensoryAnswer:
    """The patient's answer to a 50 Hz test.

    ``threshold_v`` is the lowest voltage at which anything is felt (None: nothing up to
    :data:`MAX_VOLTAGE_V`); ``concordant`` whether it is the usual pain; ``nerve_id`` the nerve
    that answered; ``message`` the patient's words.
    """

    threshold_v: float | None
    concordant: bool
    nerve_id: str | None
    message: str


@dataclass(frozen=True)
class MotorAnswer:
    """What is seen during a 2 Hz test at ``voltage_v``: the responses and the nerves behind them."""

    voltage_v: float
    responses: tuple[str, ...]
    nerve_ids: tuple[str, ...]
    leg_fasciculation: bool
    message: str


def _nerves_in_reach(scene: Scene, needle: Needle) -> list[tuple[str, float]]:
    return nerve_distances(scene, needle.active_points_mm(), needle.model.radius_mm, _REACH_MM)


def sensory_test(scene: Scene, needle: Needle, target_id: str) -> SensoryAnswer:
    """50 Hz sensory test: the voltage at which the patient first feels something, and what."""
    scene.structure(target_id)  # an unknown target is an error naming the closest ids
    nerves = _nerves_in_reach(scene, needle)
    if not nerves or threshold_v(nerves[0][1]) > MAX_VOLTAGE_V:
        return SensoryAnswer(None, False, None, f"the patient feels nothing up to {MAX_VOLTAGE_V:g} V")
    nerve_id, distance = nerves[0]
    volts = threshold_v(distance)
    if same_nerve(scene, nerve_id, target_id):
        return SensoryAnswer(volts, True, nerve_id, f"at {volts:.2f} V: \"that's my usual pain\"")
    feeling = _FEELS[scene.structure(nerve_id).kind]
    return SensoryAnswer(volts, False, nerve_id, f"at {volts:.2f} V: {feeling}, not the usual pain ({nerve_id})")


def motor_test(scene: Scene, needle: Needle, voltage_v: float) -> MotorAnswer:
    """2 Hz motor test at ``voltage_v`` (0.1 to :data:`MAX_VOLTAGE_V`)."""
    volts = check_range(voltage_v, "voltage_v", 0.1, MAX_VOLTAGE_V, "V")
    reached = [(nerve_id, d) for nerve_id, d in _nerves_in_reach(scene, needle) if threshold_v(d, MOTOR) <= volts]
    responses = tuple(dict.fromkeys(_TWITCH[scene.structure(nerve_id).kind] for nerve_id, _ in reached))
    leg = "leg fasciculation" in responses
    if leg:
        message = f"at {volts:g} V the leg twitches: a spinal nerve is within reach, do not lesion here"
    elif responses:
        message = f"at {volts:g} V: " + ", ".join(responses) + ", no leg movement"
    else:
        message = f"at {volts:g} V: no twitch"
    return MotorAnswer(volts, responses, tuple(nerve_id for nerve_id, _ in reached), leg, message)
