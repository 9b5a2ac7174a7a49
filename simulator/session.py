"""A recorded procedure: a scenario, a patient, commands applied one by one and logged as they happen.

:class:`Session` is what the GUI and the plan runner drive: :meth:`Session.run` applies a
command (:mod:`simulator.procedure`) and appends it, with its facts and events, to the session
log (:mod:`simulator.session_log`) before returning — an acknowledged command is on the disk.
The log's header embeds the scenario's text, so a session can be scored long after the library
changed, on any machine.

- :func:`load_session` rebuilds the final state from the logged facts alone (no patient, a few
  milliseconds): what scoring needs.
- :func:`replay` executes the logged commands again on the patient and checks every fact
  against the log: the proof that the record is what happened.
- :meth:`Session.resume` reopens a session cut off by a crash: every complete record is kept,
  a torn last line is reported and cut.

Examples
--------
>>> session = Session.start(find_scenario("l4_mb_right_rf"), "out/s1.jsonl", seed=1)   # doctest: +SKIP
>>> events = session.run(Tick(step="prone_positioning"), t_s=10.0)                    # doctest: +SKIP
>>> load_session("out/s1.jsonl").state.ticks                                          # doctest: +SKIP
mappingproxy({'prone_positioning': 10.0})
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from simulator import __version__
from simulator.anatomy.generator import GENERATOR_VERSION
from simulator.commands import Command, parse_command
from simulator.errors import FileFormatError, ParameterError, SimulatorError
from simulator.procedure import Context, Execution, ProcedureState, apply, execute, fold, initial_state
from simulator.scenario import Scenario, scenario_from_text
from simulator.scene import Scene
from simulator.session_log import LogContents, SessionLog, read_log

if TYPE_CHECKING:  # the lesion models load only when a lesion is made
    from simulator.ablation.solver import LesionProgress

__all__ = ["Session", "LoadedSession", "load_session", "replay", "scene_for", "Replay", "SESSION_SCHEMA_VERSION"]

#: Version of the records' schema (commands and facts), in the header.
SESSION_SCHEMA_VERSION = 1


def scene_for(scenario: Scenario) -> Scene:
    """The scenario's patient: its folder, or generated from its parameters (cached on disk)."""
    from simulator.anatomy.cache import patient_folder

    folder = scenario.patient_folder()
    return Scene.load(folder if folder is not None else patient_folder(scenario.patient.parameters()))


def _initial(scenario: Scenario, scene: Scene | None, header: dict | None = None) -> ProcedureState:
    state = initial_state(scenario, scene)
    if header is not None and "carm" in header:  # the pose the session started in, as recorded
        from types import MappingProxyType
        from dataclasses import replace

        state = replace(state, carm=MappingProxyType(dict(header["carm"])))
    return state


class Session:
    """A procedure being recorded (start with :meth:`start` or :meth:`resume`)."""

    def __init__(self, context: Context, state: ProcedureState, log: SessionLog) -> None:
        self.context = context
        self.state = state
        self.log = log

    @classmethod
    def start(cls, scenario: Scenario, path: str | Path, *, seed: int = 0, scene: Scene | None = None) -> "Session":
        """Begin a session of ``scenario``, logging to the new file ``path``."""
        if scenario.text is None:
            raise ParameterError("scenario", scenario.meta.id, "a scenario read from a file (load_scenario)")
        scene = scene or scene_for(scenario)
        state = initial_state(scenario, scene)
        header = {"schema_version": SESSION_SCHEMA_VERSION, "software": __version__, "generator_version": GENERATOR_VERSION,
                  "scenario_id": scenario.meta.id, "scenario_version": scenario.meta.version,
                  "scenario_path": str(scenario.path), "scenario_sha256": scenario.sha256, "scenario_text": scenario.text,
                  "seed": int(seed), "carm": dict(state.carm)}
        return cls(Context.create(scene, scenario, seed), state, SessionLog.create(path, header))

    @classmethod
    def resume(cls, path: str | Path, *, scene: Scene | None = None) -> tuple["Session", list[str]]:
        """Reopen a session to go on (after a crash): returns it and the warnings (a torn tail)."""
        log, contents = SessionLog.resume(path)
        loaded = _loaded(contents)
        scene = scene or scene_for(loaded.scenario)
        return cls(Context.create(scene, loaded.scenario, loaded.seed), loaded.state, log), loaded.warnings

    def run(self, command: Command | dict, t_s: float, *, progress: Callable[[LesionProgress], bool] | None = None) -> Execution:
        """Apply ``command`` at session time ``t_s`` (s), record it (synced), return what it did
        (its events; a shot's image, a lesion's result).

        A command that cannot be carried out (a needle that does not exist, a pose that hits the
        table, a lesion cancelled through ``progress``) raises its error and records nothing; the
        state is unchanged.
        """
        if isinstance(command, dict):
            command = parse_command(command)
        if not math.isfinite(t_s):
            raise ParameterError("t_s", t_s, "a finite session time in s")
        state, execution = apply(self.context, self.state, command, float(t_s), progress=progress)
        self.log.append({"seq": self.log.records + 1, "t_s": float(t_s), "command": command.model_dump(mode="json"),
                         "facts": execution.facts, "events": [e.to_dict() for e in execution.events]})
        self.state = state
        return execution

    def close(self) -> None:
        self.log.close()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class LoadedSession:
    """A session read back: its scenario, seed, final state (folded from the logged facts), its
    records and warnings."""

    path: Path
    header: dict
    scenario: Scenario
    seed: int
    state: ProcedureState
    records: list[dict]
    warnings: list[str] = field(default_factory=list)


def _scenario_of(contents: LogContents) -> Scenario:
    header = contents.header
    text, source = header.get("scenario_text"), header.get("scenario_path") or "scenario"
    if not isinstance(text, str):
        raise FileFormatError(contents.path, "the header has no scenario text", "line 1", "a session written by Rhizosim")
    try:
        return scenario_from_text(text, source)
    except FileFormatError as error:
        raise FileFormatError(contents.path, f"its scenario does not validate: {error}", "line 1") from None


def _loaded(contents: LogContents) -> LoadedSession:
    header = contents.header
    if header.get("schema_version") != SESSION_SCHEMA_VERSION:
        raise FileFormatError(contents.path, f"schema version {header.get('schema_version')!r} is not supported", "line 1",
                              str(SESSION_SCHEMA_VERSION))
    scenario = _scenario_of(contents)
    seed = header.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise FileFormatError(contents.path, f"seed {seed!r} is not a whole number", "line 1")
    state = _initial(scenario, None, header)
    for number, record in enumerate(contents.records, start=2):
        state = _fold_record(contents.path, number, state, record)
    return LoadedSession(contents.path, header, scenario, seed, state, contents.records, list(contents.warnings))


def _fold_record(path: Path, line: int, state: ProcedureState, record: dict) -> ProcedureState:
    """Fold one logged record, with errors naming the line."""
    where = f"line {line}"
    t_s = record.get("t_s")
    if not isinstance(t_s, (int, float)) or isinstance(t_s, bool) or not math.isfinite(t_s) or t_s < state.time_s:
        raise FileFormatError(path, f"time {t_s!r} is not a session time at or after {state.time_s:g} s", where)
    try:
        parse_command(record.get("command"), source=f"{path}: {where}")
    except ParameterError as error:
        raise FileFormatError(path, f"its command does not validate: {error.name} = {error.value!r}", where,
                              error.allowed) from None
    facts = record.get("facts")
    if not isinstance(facts, dict):
        raise FileFormatError(path, "has no facts", where)
    try:
        return fold(state, facts, t_s)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, SimulatorError) as error:
        raise FileFormatError(path, f"its facts do not fit a {record['command'].get('do')} command "
                              f"({type(error).__name__}: {error})", where) from None


def load_session(path: str | Path) -> LoadedSession:
    """Read a session and rebuild its final state from the logged facts (no patient needed)."""
    return _loaded(read_log(path))


@dataclass
class Replay:
    """A session executed again: the recomputed state and every fact that differs from the log."""

    state: ProcedureState
    mismatches: list[str]
    loaded: LoadedSession

    @property
    def identical(self) -> bool:
        return not self.mismatches


def replay(path: str | Path, *, scene: Scene | None = None) -> Replay:
    """Execute a session's commands again on its patient and compare each record's facts."""
    loaded = load_session(path)
    scene = scene or scene_for(loaded.scenario)
    context = Context.create(scene, loaded.scenario, loaded.seed)
    state = _initial(loaded.scenario, scene, loaded.header)
    mismatches = []
    for number, record in enumerate(loaded.records, start=2):
        command = parse_command(record["command"])
        facts = execute(context, state, command, record["t_s"]).facts
        if facts != record["facts"]:
            mismatches.append(f"line {number} ({command.do}): the facts differ from the log")
        state = fold(state, facts, record["t_s"])
    return Replay(state, mismatches, loaded)
