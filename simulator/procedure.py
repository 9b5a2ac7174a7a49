"""One procedure: its state, and the commands that change it.

A command is applied in two steps, so that a recorded session can be scored without the
patient and replayed exactly with it:

1. :func:`execute` works out what the command does in the scene — where the needle goes and
   what it meets, what a shot costs, what the patient answers, what a lesion destroys — and
   returns the *facts*, plain JSON values, and the events the user sees;
2. :func:`fold` adds those facts to the state. It needs nothing but the facts.

:func:`apply` does both. A session log keeps, for every command, the command and its facts:
folding the logged facts rebuilds the state in milliseconds (for scoring), executing the logged
commands again rebuilds it from the patient (replay) and must give the same facts.

Examples
--------
>>> context = Context.create(scene, scenario, seed=1)                              # doctest: +SKIP
>>> state, execution = apply(context, initial_state(scenario, scene), Tick(step="prone_positioning"), t_s=5.0)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Mapping

import numpy as np

from simulator.commands import (Ablate, Advance, Command, End, Insert, Inject, MoveCArm, Note, Reaim, Remove, Rotate, Shot,
                                Stimulate, Tick, Withdraw)
from simulator.devices import device
from simulator.errors import ParameterError
from simulator.needle import Needle, NeedleEvent, advance, insert, reaim, rotate, withdraw
from simulator.scenario import Scenario
from simulator.scene import Scene

if TYPE_CHECKING:  # the lesion models load only when a lesion is made
    from simulator.ablation.solver import LesionProgress

__all__ = ["Context", "ProcedureState", "Event", "Execution", "initial_state", "execute", "fold", "apply", "needle_snapshot",
           "needle_from_snapshot", "CRITICAL_CONTACTS"]

#: Needle events that mean a critical structure was touched.
CRITICAL_CONTACTS = ("csf", "blood", "disc_puncture", "paraesthesia")
#: Critical kinds whose touch by a needle counts (a medial branch touched is the target, not harm).
_CRITICAL_KINDS = ("dural_sac", "root", "ganglion", "ventral_ramus", "artery", "vein", "disc")


@dataclass(frozen=True)
class Event:
    """What the user is told: ``kind`` (``"bone_contact"``, ``"shot"``, ``"lesion"`` …) and a sentence."""

    kind: str
    message: str
    structure_id: str | None = None

    def to_dict(self) -> dict:
        return {"kind": self.kind, "message": self.message, "structure_id": self.structure_id}


@dataclass(frozen=True, eq=False)
class Execution:
    """What executing one command gave: the ``facts`` (JSON values, logged), the ``events`` the
    user is told, and for the screen, not the log, the fluoroscopy ``shot`` a Shot took or the
    ``lesion`` (:class:`~simulator.ablation.LesionResult`) an Ablate made."""

    facts: dict
    events: list[Event]
    shot: Any = None
    lesion: Any = None


@dataclass(eq=False)
class Context:
    """What commands are executed against: the patient, the scenario, the random seed, and the
    fluoroscope (made on first use; it caches the anatomy per C-arm pose)."""

    scene: Scene
    scenario: Scenario
    seed: int = 0

    @classmethod
    def create(cls, scene: Scene, scenario: Scenario, seed: int = 0) -> "Context":
        return cls(scene, scenario, int(seed))

    @cached_property
    def fluoroscope(self):
        from simulator.fluoro import Fluoroscope

        return Fluoroscope.from_scene(self.scene)


@dataclass(frozen=True)
class ProcedureState:
    """Everything a procedure has done so far (a plain value: commands return a new one).

    Parameters
    ----------
    time_s : float
        Session time of the last command, s.
    needles : mapping of str to Needle
        The needles in the patient, by label.
    positions : mapping of str to int
        How many times each needle has moved: tests and injections count for the position they
        were made at.
    carm : dict
        The C-arm's pose: ``oblique_left_deg``, ``tilt_cranial_deg``, ``isocenter_mm``.
    dose : dict
        ``shots``, ``fluoro_time_s``, ``air_kerma_mgy``, ``dap_gy_cm2`` so far.
    ticks : mapping of str to float
        Checklist steps ticked and when (s).
    first_needle_s : float or None
        When the first needle touched the skin.
    stimulations, injections, shots, lesions, contacts : tuple of dict
        The facts of each test, injection, shot, lesion and critical contact, in order.
    removed : tuple of dict
        Snapshots of the needles taken out (their passes and paths still count).
    swept_mm2 : float
        Area swept by the shafts in tissue by re-aiming and turning (Perk Tutor's "tissue damage").
    notes : tuple of (float, str)
        Notes with their times.
    """

    time_s: float = 0.0
    needles: Mapping[str, Needle] = field(default_factory=lambda: MappingProxyType({}))
    positions: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    carm: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    dose: Mapping[str, float] = field(default_factory=lambda: MappingProxyType(
        {"shots": 0, "fluoro_time_s": 0.0, "air_kerma_mgy": 0.0, "dap_gy_cm2": 0.0}))
    ticks: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    first_needle_s: float | None = None
    stimulations: tuple[dict, ...] = ()
    injections: tuple[dict, ...] = ()
    shots: tuple[dict, ...] = ()
    lesions: tuple[dict, ...] = ()
    contacts: tuple[dict, ...] = ()
    removed: tuple[dict, ...] = ()
    swept_mm2: float = 0.0
    notes: tuple[tuple[float, str], ...] = ()
    ended_s: float | None = None

    @property
    def ended(self) -> bool:
        """Whether the procedure was ended (an End command); a session cut off is not."""
        return self.ended_s is not None

    def needle(self, label: str) -> Needle:
        """The needle ``label``; an unknown label is an error naming the ones in the patient."""
        if label not in self.needles:
            raise ParameterError("needle", label, ", ".join(self.needles) or "no needle is in the patient yet")
        return self.needles[label]

    def snapshots(self) -> list[dict]:
        """Every needle used, in the patient or removed, as snapshots."""
        return list(self.removed) + [needle_snapshot(n) for n in self.needles.values()]

    def to_dict(self) -> dict:
        """The whole state as JSON values (needles as snapshots): two states are the same
        procedure exactly when their dicts are equal."""
        return {"time_s": self.time_s, "needles": {k: needle_snapshot(n) for k, n in self.needles.items()},
                "positions": dict(self.positions), "carm": dict(self.carm), "dose": dict(self.dose), "ticks": dict(self.ticks),
                "first_needle_s": self.first_needle_s, "stimulations": list(self.stimulations),
                "injections": list(self.injections), "shots": list(self.shots), "lesions": list(self.lesions),
                "contacts": list(self.contacts), "removed": list(self.removed), "swept_mm2": self.swept_mm2,
                "notes": [list(n) for n in self.notes], "ended_s": self.ended_s}


def initial_state(scenario: Scenario, scene: Scene | None = None) -> ProcedureState:
    """The state before the first command: the C-arm at the scenario's starting pose."""
    start = scenario.carm
    iso = [0.0, 0.0, 0.0]
    if scene is not None:
        iso = [float(v) for v in scene.landmark(start.isocenter_landmark)]
    carm = {"oblique_left_deg": start.oblique_left_deg, "tilt_cranial_deg": start.tilt_cranial_deg, "isocenter_mm": iso}
    return ProcedureState(carm=MappingProxyType(carm))


# -- needles as plain values ----------------------------------------------------------------------------------
def needle_snapshot(needle: Needle) -> dict:
    """A needle as JSON values (every field: :func:`needle_from_snapshot` gives it back exactly)."""
    return {"label": needle.label, "device": needle.model.id, "entry_mm": [float(v) for v in needle.entry_mm],
            "direction": [float(v) for v in needle.direction], "depth_mm": float(needle.depth_mm),
            "redirections": int(needle.redirections), "path_mm": float(needle.path_mm), "bone_contact": needle.bone_contact,
            "deepest_since_aim_mm": float(needle.deepest_since_aim_mm),
            "bone_contact_structure": needle.bone_contact_structure, "roll_deg": float(needle.roll_deg)}


def needle_from_snapshot(snapshot: dict) -> Needle:
    return Needle(snapshot["label"], device(snapshot["device"]), np.array(snapshot["entry_mm"]),
                  np.array(snapshot["direction"]), snapshot["depth_mm"], snapshot["redirections"], snapshot["path_mm"],
                  snapshot["bone_contact"], snapshot["deepest_since_aim_mm"], snapshot["bone_contact_structure"],
                  snapshot["roll_deg"])


# -- execute: what a command does in the scene ------------------------------------------------------------------
def execute(context: Context, state: ProcedureState, command: Command, t_s: float, *,
            progress: Callable[[LesionProgress], bool] | None = None) -> Execution:
    """What ``command`` does at session time ``t_s``: its facts (JSON values) and the events.

    ``progress(LesionProgress)`` is called during a lesion (return False to cancel it: the lesion's
    :class:`~simulator.errors.SimulationCancelled` is raised and nothing happened). Nothing can
    be done after the procedure ended.
    """
    if state.ended:
        raise ParameterError("do", command.do, f"nothing: the procedure ended at {state.ended_s:g} s")
    if t_s < state.time_s:
        raise ParameterError("t_s", t_s, f"at least the last command's time, {state.time_s:g} s")
    if isinstance(command, Ablate):
        result = _execute_ablate(context, state, command, t_s, progress)
    else:
        result = _EXECUTORS[type(command)](context, state, command, t_s)
    facts, events, extra = result if len(result) == 3 else (*result, {})  # extra: the shot or lesion, for the screen
    # Plain JSON values, exactly as a log will hold them, so a folded log is the live state.
    return Execution(json.loads(json.dumps(facts, allow_nan=False)), events, **extra)


def _needle_facts(scene: Scene, before: Needle | None, after: Needle, events: list[NeedleEvent], t_s: float) -> tuple[dict, list[Event]]:
    facts: dict = {"needle": needle_snapshot(after)}
    contacts = []
    for e in events:
        if e.kind in CRITICAL_CONTACTS and e.structure_id and scene.structure(e.structure_id).kind in _CRITICAL_KINDS:
            contacts.append({"t_s": t_s, "needle": after.label, "kind": e.kind, "structure_id": e.structure_id,
                             "depth_mm": None if e.depth_mm is None else float(e.depth_mm)})
    if contacts:
        facts["contacts"] = contacts
    if before is not None:
        facts["swept_mm2"] = _swept_area_mm2(before, after)
    return facts, [Event(e.kind, e.message, e.structure_id) for e in events]


def _swept_area_mm2(before: Needle, after: Needle) -> float:
    """Area the shaft sweeps in tissue when it pivots at the skin (a re-aim), or a curved tip's
    turn: the triangle of the pivot (depth² × angle / 2), or the tip's arc × its bent length."""
    cos = float(np.clip(before.direction @ after.direction, -1.0, 1.0))
    pivot = 0.5 * min(before.depth_mm, after.depth_mm) ** 2 * math.acos(cos)
    turn = 0.0
    if after.model.curved and before.roll_deg != after.roll_deg:
        turn = float(np.linalg.norm(after.tip_mm - before.tip_mm)) * after.model.active_tip_mm * 0.5
    return pivot + turn


def _execute_insert(context, state, command: Insert, t_s):
    if command.needle in state.needles:
        raise ParameterError("needle", command.needle, "a label not in use: " + ", ".join(state.needles))
    allowed = context.scenario.procedure.device_ids()
    if command.device not in allowed:
        device(command.device)  # an unknown id gets the closest ones
        raise ParameterError("device", command.device, "the scenario's devices: " + ", ".join(allowed))
    needle, events = insert(context.scene, command.device, command.entry_mm, command.direction, command.needle)
    return _needle_facts(context.scene, None, needle, events, t_s)


def _needle_move(mover):
    def run(context, state, command, t_s):
        before = state.needle(command.needle)
        after, events = mover(context.scene, before, command)
        return _needle_facts(context.scene, before, after, events, t_s)
    return run


_execute_advance = _needle_move(lambda scene, n, c: advance(scene, n, c.distance_mm))
_execute_withdraw = _needle_move(lambda scene, n, c: withdraw(scene, n, c.distance_mm))
_execute_reaim = _needle_move(lambda scene, n, c: reaim(scene, n, c.direction))
_execute_rotate = _needle_move(lambda scene, n, c: rotate(scene, n, c.by_deg))


def _execute_remove(context, state, command: Remove, t_s):
    needle = state.needle(command.needle)
    return {"removed": needle_snapshot(needle)}, [Event("removed", f"{needle.label} taken out")]


def _execute_tick(context, state, command: Tick, t_s):
    return {"tick": command.step}, [Event("tick", f"checklist: {command.step.replace('_', ' ')}")]


def _execute_end(context, state, command: End, t_s):
    if state.ended:
        raise ParameterError("do", "end", f"one end per procedure (it ended at {state.ended_s:g} s)")
    return {"ended": True}, [Event("end", f"procedure ended at {t_s / 60:.1f} min")]


def _execute_note(context, state, command: Note, t_s):
    return {"note": command.text}, [Event("note", command.text)]


def _execute_carm(context, state, command: MoveCArm, t_s):
    from simulator.fluoro import CArmPose, check_reachable

    pose = CArmPose(command.oblique_left_deg, command.tilt_cranial_deg, tuple(command.isocenter_mm))
    check_reachable(context.fluoroscope.geometry, pose)  # a collision with the table is refused
    carm = {"oblique_left_deg": float(pose.oblique_left_deg), "tilt_cranial_deg": float(pose.tilt_cranial_deg),
            "isocenter_mm": [float(v) for v in pose.isocenter_mm]}
    return {"carm": carm}, [Event("carm", f"C-arm: {pose.describe()}")]


def current_pose(state: ProcedureState):
    """The C-arm pose of ``state`` as a :class:`simulator.fluoro.CArmPose`."""
    from simulator.fluoro import CArmPose

    return CArmPose(state.carm["oblique_left_deg"], state.carm["tilt_cranial_deg"], tuple(state.carm["isocenter_mm"]))


def take_shot(context: Context, state: ProcedureState, command: Shot):
    """The fluoroscopy shot a :class:`Shot` command takes in ``state`` (the image, for the GUI and
    reports; seeded by the session's seed and the shot's number, so a replay sees the same)."""
    from simulator.fluoro import Exposure

    exposure = Exposure(command.mode, command.duration_s)
    seed = np.random.SeedSequence([context.seed, len(state.shots)])
    return context.fluoroscope.shot(current_pose(state), needles=list(state.needles.values()), exposure=exposure,
                                    rng=np.random.default_rng(seed), automatic_brightness=True)


def _execute_shot(context, state, command: Shot, t_s):
    from simulator.fluoro import exposure_dose

    shot = take_shot(context, state, command)
    dose = exposure_dose(shot.exposure, context.fluoroscope.geometry)
    facts = {"shot": {"t_s": t_s, "carm": dict(state.carm), "mode": command.mode, "duration_s": float(command.duration_s),
                      "kvp": float(shot.exposure.technique.kvp), "tube_current_ma": float(shot.exposure.technique.tube_current_ma),
                      "beam_on_s": float(shot.exposure.beam_on_s), "air_kerma_mgy": float(dose.air_kerma_mgy),
                      "dap_gy_cm2": float(dose.dap_gy_cm2), "needles": sorted(state.needles)}}
    return facts, [Event("shot", f"{command.mode} shot: {dose.air_kerma_mgy:.2f} mGy, {dose.dap_gy_cm2 * 1000:.1f} mGy·cm²")], \
        {"shot": shot}


def _execute_stimulate(context, state, command: Stimulate, t_s):
    from simulator.stimulation import motor_test, sensory_test

    needle = state.needle(command.needle)
    if needle.model.kind not in ("rf_cannula", "cryoprobe"):
        raise ParameterError("needle", command.needle, "an RF cannula or a cryoprobe (a plain needle cannot stimulate)")
    record = {"t_s": t_s, "needle": needle.label, "position": state.positions[needle.label], "test": command.test}
    if command.test == "sensory":
        target = _nearest_target(context, needle)
        answer = sensory_test(context.scene, needle, target)
        record.update(voltage_v=None, threshold_v=answer.threshold_v, concordant=answer.concordant, nerve_id=answer.nerve_id,
                      responses=[], leg_fasciculation=False, target=target)
    else:
        if command.voltage_v is None:
            raise ParameterError("voltage_v", None, "the motor test's voltage, 0.1 to 3 V")
        answer = motor_test(context.scene, needle, command.voltage_v)
        # After local anaesthetic through this needle the twitch is abolished (procedure.md step 13).
        blocked = any(i["needle"] == needle.label and i["position"] == record["position"] for i in state.injections)
        responses = [] if blocked else list(answer.responses)
        record.update(voltage_v=float(command.voltage_v), threshold_v=None, concordant=False,
                      nerve_id=None if blocked else (answer.nerve_ids[0] if answer.nerve_ids else None),
                      responses=responses, leg_fasciculation=bool(answer.leg_fasciculation and not blocked),
                      after_anaesthetic=blocked)
    message = answer.message if not record.get("after_anaesthetic") else \
        f"at {command.voltage_v:g} V: no twitch (local anaesthetic was given through this needle)"
    return {"stimulation": record}, [Event(f"{command.test}_test", message)]


def _nearest_target(context: Context, needle: Needle) -> str:
    """The scenario target nearest the needle's active tip (the nerve the patient's pain is from)."""
    targets = context.scenario.procedure.targets
    points = needle.active_points_mm()
    return min(targets, key=lambda t: float(context.scene.signed_distance(t, points).min()))


def _execute_inject(context, state, command: Inject, t_s):
    needle = state.needle(command.needle)
    record = {"t_s": t_s, "needle": needle.label, "position": state.positions[needle.label], "agent": command.agent,
              "volume_ml": float(command.volume_ml)}
    return {"injection": record}, [Event("injection", f"{command.volume_ml:g} mL of {command.agent} through {needle.label}")]


def _execute_ablate(context, state, command: Ablate, t_s, progress=None):
    from simulator.lesions import lesion_facts

    needle = state.needle(command.needle)
    facts, result = lesion_facts(context, state, needle, command.settings, t_s, progress=progress)
    return {"lesion": facts}, [Event("lesion", facts["report"])], {"lesion": result}


_EXECUTORS = {Insert: _execute_insert, Advance: _execute_advance, Withdraw: _execute_withdraw, Reaim: _execute_reaim,
              Rotate: _execute_rotate, Remove: _execute_remove, Tick: _execute_tick, Note: _execute_note,
              MoveCArm: _execute_carm, Shot: _execute_shot, Stimulate: _execute_stimulate, Inject: _execute_inject,
              End: _execute_end}


# -- fold: facts into the state ---------------------------------------------------------------------------------
def fold(state: ProcedureState, facts: dict, t_s: float) -> ProcedureState:
    """The state after a command whose facts are ``facts`` (needs no scene)."""
    changes: dict[str, Any] = {"time_s": max(state.time_s, float(t_s))}
    if "needle" in facts:
        needle = needle_from_snapshot(facts["needle"])
        needles = dict(state.needles)
        positions = dict(state.positions)
        moved = needle.label not in needles or needle_snapshot(needles[needle.label]) != facts["needle"]
        needles[needle.label] = needle
        positions[needle.label] = positions.get(needle.label, -1) + (1 if moved else 0)
        changes.update(needles=MappingProxyType(needles), positions=MappingProxyType(positions))
        if state.first_needle_s is None:
            changes["first_needle_s"] = float(t_s)
    if "removed" in facts:
        label = facts["removed"]["label"]
        needles = {k: v for k, v in state.needles.items() if k != label}
        changes.update(needles=MappingProxyType(needles), removed=state.removed + (facts["removed"],))
    if "contacts" in facts:
        changes["contacts"] = state.contacts + tuple(facts["contacts"])
    if "swept_mm2" in facts:
        changes["swept_mm2"] = state.swept_mm2 + float(facts["swept_mm2"])
    if "tick" in facts:
        changes["ticks"] = MappingProxyType({**state.ticks, facts["tick"]: state.ticks.get(facts["tick"], float(t_s))})
    if "note" in facts:
        changes["notes"] = state.notes + ((float(t_s), facts["note"]),)
    if "carm" in facts:
        changes["carm"] = MappingProxyType(dict(facts["carm"]))
    if "shot" in facts:
        shot = facts["shot"]
        dose = dict(state.dose)
        dose["shots"] += 1
        dose["fluoro_time_s"] += shot["beam_on_s"]
        dose["air_kerma_mgy"] += shot["air_kerma_mgy"]
        dose["dap_gy_cm2"] += shot["dap_gy_cm2"]
        changes.update(shots=state.shots + (shot,), dose=MappingProxyType(dose))
    if "stimulation" in facts:
        changes["stimulations"] = state.stimulations + (facts["stimulation"],)
    if "injection" in facts:
        changes["injections"] = state.injections + (facts["injection"],)
    if "lesion" in facts:
        changes["lesions"] = state.lesions + (facts["lesion"],)
    if facts.get("ended"):
        changes["ended_s"] = float(t_s)
    return replace(state, **changes)


def apply(context: Context, state: ProcedureState, command: Command, t_s: float, *,
          progress: Callable[[LesionProgress], bool] | None = None) -> tuple[ProcedureState, Execution]:
    """Execute ``command`` and fold its facts: the new state and the execution."""
    execution = execute(context, state, command, t_s, progress=progress)
    return fold(state, execution.facts, t_s), execution
