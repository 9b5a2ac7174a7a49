"""Headless plans: a procedure written down as actions, run without a screen.

A plan file (TOML) names a scenario and lists actions in the vocabulary of
:mod:`simulator.commands`, with a few shorthands a person writing a plan needs:

- ``do = "carm"`` with ``view = "ap" | "oblique" | "lateral" | "trajectory"``: the true AP of
  ``level`` (its superior endplate squared), an ipsilateral oblique of ``oblique_deg`` from it,
  a plain lateral, or the view down a needle (``needle``); or the canonical angles.
- ``do = "insert"`` with ``approach = "<target nerve>"``: the textbook parallel approach to that
  nerve (:mod:`simulator.approach`); or ``aim = "down_the_beam"`` with ``towards`` a landmark:
  a needle along the current beam, in line with the landmark; or canonical ``entry_mm`` and
  ``direction``.
- ``do = "advance"`` with ``to = "bone"`` (and ``step_mm``): steps until bone stops the tip.
- ``do = "wait"`` with ``seconds``: time passes.
- ``do = "ablate"``: the lesion settings are the action's other keys.

Every action happens at ``at_s`` if given, otherwise after the previous one plus the time such
an action takes (:data:`ACTION_SECONDS`, design defaults), so a plan's procedure time is
plausible. Each expanded command is applied and logged exactly as the GUI would.

Example::

    schema_version = 1
    scenario = "l4_mb_right_rf"
    seed = 1

    [[action]]
    do = "tick"
    step = "verify_patient_and_level"

    [[action]]
    do = "insert"
    needle = "needle 1"
    device = "rf_18g_150mm_10mm"
    approach = "medial_branch_L4_right"
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from simulator.commands import COMMAND_NAMES, Advance, Command, Insert, MoveCArm, parse_command
from simulator.errors import FileFormatError, ParameterError, SimulatorError
from simulator.scenario import Scenario, find_scenario, parse_toml, read_text
from simulator.session import Session

__all__ = ["Plan", "load_plan", "run_plan", "expand", "ACTION_SECONDS"]

#: How long each kind of action takes when a plan does not say (s; design defaults from the
#: pace of a procedure: a shot with the pedal, a 2 mm push, a stimulation with its questions).
ACTION_SECONDS: dict[str, float] = {"tick": 20.0, "note": 5.0, "carm": 12.0, "shot": 3.0, "insert": 20.0, "advance": 4.0,
                                    "withdraw": 4.0, "reaim": 6.0, "rotate": 3.0, "remove": 5.0, "stimulate": 25.0,
                                    "inject": 20.0, "ablate": 30.0, "end": 5.0, "wait": 0.0}
#: Steps an ``advance to bone`` takes at most (a plan error otherwise loops forever).
MAX_STEPS_TO_BONE = 200
PLAN_SCHEMA_VERSION = 1


@dataclass
class Plan:
    """A plan read from a file: the scenario, the seed and the actions (dicts, in order)."""

    path: Path
    scenario: Scenario
    seed: int
    actions: list[dict]


def load_plan(path: str | Path, scenario_folder: str | Path | None = None) -> Plan:
    """Read a plan; its scenario is a library id or a file path relative to the plan."""
    path = Path(path)
    values = parse_toml(read_text(path, "plan"), path, "plan")
    unknown = set(values) - {"schema_version", "scenario", "seed", "action", "description"}
    if unknown:
        raise FileFormatError(path, f"unknown field {sorted(unknown)[0]!r}", allowed="schema_version, scenario, seed, action, "
                              "description")
    if values.get("schema_version") != PLAN_SCHEMA_VERSION:
        raise FileFormatError(path, f"schema_version {values.get('schema_version')!r} is not supported", "schema_version",
                              str(PLAN_SCHEMA_VERSION))
    name = values.get("scenario")
    if not isinstance(name, str) or not name:
        raise FileFormatError(path, "no scenario", "scenario", "a scenario id from the library or a .toml path")
    if name.endswith(".toml"):
        scenario_path = (path.parent / name).resolve()
        if path.parent.resolve() not in scenario_path.parents:
            raise FileFormatError(path, f"{name!r} leaves the plan's folder", "scenario", "a file inside the plan's own folder")
        name = str(scenario_path)
    scenario = find_scenario(name, scenario_folder)
    seed = values.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
        raise FileFormatError(path, f"seed {seed!r} is not allowed", "seed", "a whole number from 0 to 2^32 - 1")
    actions = values.get("action", [])
    if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
        raise FileFormatError(path, "actions must be [[action]] tables", "action")
    if len(actions) > 5000:
        raise FileFormatError(path, f"{len(actions)} actions", "action", "at most 5000")
    for index, action in enumerate(actions):
        kind = action.get("do")
        if kind not in COMMAND_NAMES + ("wait",):
            raise FileFormatError(path, f"unknown action {kind!r}", f"action[{index}].do", ", ".join(COMMAND_NAMES + ("wait",)))
    return Plan(path, scenario, seed, actions)


def expand(session: Session, action: dict) -> list[Command]:
    """The canonical commands one plan action stands for, in the session's current state.

    ``advance to bone`` is expanded step by step by :func:`run_plan` (each step depends on the
    last); here it gives the first step.
    """
    action = {k: v for k, v in action.items() if k != "at_s"}
    kind = action.get("do")
    if kind == "carm" and "view" in action:
        return [_carm_view(session, action)]
    if kind == "insert" and ("approach" in action or "aim" in action):
        return [_insert_shorthand(session, action)]
    if kind == "advance" and action.get("to") == "bone":
        step = action.get("step_mm", 2.0)
        return [parse_command({"do": "advance", "needle": action.get("needle"), "distance_mm": step})]
    if kind == "carm" and isinstance(action.get("isocenter_mm"), str):
        action["isocenter_mm"] = [float(v) for v in session.context.scene.landmark(action["isocenter_mm"])]
    if kind == "ablate":
        settings = {k: v for k, v in action.items() if k not in ("do", "needle")}
        return [parse_command({"do": "ablate", "needle": action.get("needle"), "settings": settings})]
    return [parse_command(action)]


def _carm_view(session: Session, action: dict) -> MoveCArm:
    from simulator.fluoro import lateral, pose_from_beam, squared_endplate_pose

    scene, view = session.context.scene, action["view"]
    allowed = {"view", "do", "level", "side", "oblique_deg", "needle"}
    extra = set(action) - allowed
    if extra:
        raise ParameterError(sorted(extra)[0], action[sorted(extra)[0]], "with a view: " + ", ".join(sorted(allowed)))
    level, side = action.get("level", "L4"), action.get("side", "right")
    if view == "ap":
        pose = squared_endplate_pose(scene, level)
    elif view == "oblique":
        pose = squared_endplate_pose(scene, level, oblique_side=side, oblique_deg=float(action.get("oblique_deg", 20.0)))
    elif view == "lateral":
        pose = lateral(side, tuple(scene.landmark(f"body_center_{level}")))
    elif view == "trajectory":
        needle = session.state.needle(action.get("needle", ""))
        pose = pose_from_beam(-needle.direction, tuple(needle.tip_mm))
    else:
        raise ParameterError("view", view, "ap, oblique, lateral, trajectory")
    return MoveCArm(oblique_left_deg=float(pose.oblique_left_deg), tilt_cranial_deg=float(pose.tilt_cranial_deg),
                    isocenter_mm=tuple(float(v) for v in pose.isocenter_mm))


def _insert_shorthand(session: Session, action: dict) -> Insert:
    from simulator.approach import textbook_approach
    from simulator.needle import down_the_beam, entry_towards
    from simulator.procedure import current_pose

    scene = session.context.scene
    if "approach" in action:
        approach = textbook_approach(action["approach"])
        entry, direction = approach.entry_mm(scene), approach.direction(scene)
    elif action["aim"] == "down_the_beam":
        direction = down_the_beam(current_pose(session.state).beam_direction)
        entry = entry_towards(scene, scene.landmark(action.get("towards", "")), direction)
    else:
        raise ParameterError("aim", action["aim"], "down_the_beam (with towards = a landmark)")
    return Insert(needle=action.get("needle", "needle 1"), device=action.get("device", ""),
                  entry_mm=tuple(float(v) for v in entry), direction=tuple(float(v) for v in direction))


def run_plan(plan: Plan, session_path: str | Path, *, on_record: Callable[[int, list], None] | None = None) -> Session:
    """Run every action of ``plan`` in a new session logged to ``session_path``.

    ``on_record(number, events)`` is called after each command is on the disk (acknowledged).
    A failing action stops the run with an error naming the plan, the action and the problem;
    what ran until then stays recorded.
    """
    session = Session.start(plan.scenario, session_path, seed=plan.seed)
    t_s = 0.0
    try:
        for index, action in enumerate(plan.actions):
            kind = action["do"]
            if "at_s" in action:
                at = action["at_s"]
                if not isinstance(at, (int, float)) or isinstance(at, bool) or not math.isfinite(at) or at < t_s:
                    raise ParameterError("at_s", at, f"a time in s at or after the previous action's, {t_s:g} s")
                t_s = float(at)
            else:
                t_s += ACTION_SECONDS[kind] if kind != "ablate" else ACTION_SECONDS[kind] + _lesion_seconds(action)
            if kind == "wait":
                seconds = action.get("seconds")
                if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or not 0 <= seconds <= 3600:
                    raise ParameterError("seconds", seconds, "0 to 3600 s")
                t_s += float(seconds)
                continue
            try:
                _run_action(session, action, t_s, on_record)
            except SimulatorError as error:
                raise FileFormatError(plan.path, str(error), f"action[{index}] ({kind})") from None
            t_s = max(t_s, session.state.time_s)  # an advance to bone takes several steps
        return session
    finally:
        session.close()


def _lesion_seconds(action: dict) -> float:
    """How long the lesion of an ``ablate`` action keeps the operator waiting, s."""
    duration = action.get("duration_s", 0.0)
    repeats = action.get("repeats", 1)
    cycles = action.get("cycles")
    if isinstance(cycles, list):  # cryo: freeze/thaw pairs
        return float(sum(sum(pair) for pair in cycles if isinstance(pair, list)))
    if isinstance(duration, (int, float)) and isinstance(repeats, int):
        return float(duration) * repeats
    return 0.0


def _run_action(session: Session, action: dict, t_s: float, on_record) -> None:
    commands = expand(session, action)
    for command in commands:
        events = session.run(command, t_s).events
        if on_record:
            on_record(session.log.records, events)
    if action["do"] == "advance" and action.get("to") == "bone":
        label = action.get("needle")
        step = commands[0].distance_mm
        for _ in range(MAX_STEPS_TO_BONE):
            needle = session.state.needle(label)
            if needle.bone_contact is not None or needle.depth_mm + step > needle.model.length_mm:
                return
            t_s += ACTION_SECONDS["advance"]
            events = session.run(Advance(needle=label, distance_mm=step), t_s).events
            if on_record:
                on_record(session.log.records, events)
