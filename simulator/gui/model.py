"""The GUI's model: one procedure being recorded (or a recorded one replayed), with Qt signals.

:class:`ProcedureModel` is the only thing the widgets talk to. Every user action becomes a
command applied with :meth:`simulator.session.Session.run` at the session clock (wall-clock
seconds since the session started, continued after a resume), so the session log records it
as it happens and a replay reproduces it. The model holds no procedure logic of its own: the
state is the core's :class:`~simulator.procedure.ProcedureState`, and the widgets subscribe to
the model's signals and redraw from it.

Errors a user can cause (a pose that hits the table, a needle pushed past its length, a bad
scenario file) are :class:`~simulator.errors.SimulatorError`; the model catches them and emits
:attr:`ProcedureModel.errorRaised` with the readable message, never a traceback.

The fluoroscopy pedal (:meth:`ProcedureModel.pedal_down` / :meth:`pedal_up`): a press shorter
than :data:`TAP_S` is one single shot; a longer hold is one pulsed (or continuous) run whose
``duration_s`` is the time the pedal was held, logged as ONE Shot command when the pedal is
released (its dose is the whole run's). While the pedal is held the monitor shows live frames
(:data:`PULSE_RATE_HZ`) rendered like the logged shot but not logged (the logged command
accounts for the whole exposure); a needle moved during the run is seen at once.

A lesion runs off the GUI thread (:class:`LesionWorker`); while it runs the model is
:attr:`busy` and refuses other commands (the session is not thread-safe); its progress is
emitted and it can be cancelled (nothing is recorded then).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from PyQt6.QtCore import QEventLoop, QObject, QThread, QTimer, pyqtSignal

from simulator.commands import Ablate, Advance, End, Shot, Withdraw
from simulator.errors import SimulationCancelled, SimulatorError

__all__ = ["ProcedureModel", "ShotView", "LesionWorker", "TAP_S", "PULSE_RATE_HZ", "DEFAULT_SCENARIO"]

#: A pedal press shorter than this (s) is a single shot; longer, a pulsed run.
TAP_S = 0.3
#: Frames per second shown while the pedal is held (the pulsed technique's default rate).
PULSE_RATE_HZ = 8.0
#: The scenario the GUI opens when none is named (the README's main job).
DEFAULT_SCENARIO = "l4_medial_branch_right_rf"


@dataclass(frozen=True)
class ShotView:
    """A fluoroscopy image for the monitor: 8-bit grey ``image`` (row, col), the pose in
    clinical words, the session time (s) and whether it is a live frame (not logged)."""

    image: object
    pose: str
    t_s: float
    live: bool = False
    mode: str = "single"


class BackgroundJob(QThread):
    """Runs ``job()`` in a worker thread; :attr:`error` holds what it raised (None: it worked)."""

    def __init__(self, job) -> None:
        super().__init__()
        self._job = job
        self.error: BaseException | None = None

    def run(self) -> None:  # in the worker thread
        try:
            self._job()
        except BaseException as error:  # handed to the GUI thread, which reports it
            self.error = error


class LesionWorker(QThread):
    """Runs one Ablate command through the session in a worker thread, with progress and cancel."""

    progress = pyqtSignal(object)  # simulator.ablation.LesionProgress
    done = pyqtSignal(object, object)  # execution or None, error or None

    def __init__(self, session, command: Ablate, t_s: float) -> None:
        super().__init__()
        self._session, self._command, self._t_s = session, command, t_s
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def _progress(self, report) -> bool:
        self.progress.emit(report)
        return not self._cancel.is_set()

    def run(self) -> None:  # in the worker thread
        try:
            if self._cancel.is_set():
                raise SimulationCancelled("lesion", 0.0)
            execution = self._session.run(self._command, self._t_s, progress=self._progress)
            self.done.emit(execution, None)
        except SimulatorError as error:
            self.done.emit(None, error)
        except Exception as error:  # a bug: reported, the GUI stays alive
            self.done.emit(None, error)


class ProcedureModel(QObject):
    """One procedure: a live :class:`~simulator.session.Session`, or a recorded one in debrief.

    Parameters
    ----------
    sessions_folder : str or Path, optional
        Where new sessions are written (:func:`simulator.gui.sessions.sessions_folder`).
    seed : int, default: 0
        Fluoroscopy noise seed of new sessions.
    """

    stateChanged = pyqtSignal()
    shotTaken = pyqtSignal(object)        # ShotView (logged, or a live frame)
    shotsReset = pyqtSignal()             # the shot history was replaced (new session, debrief seek)
    eventsRaised = pyqtSignal(list)       # list of simulator.procedure.Event
    errorRaised = pyqtSignal(str)         # a user error, in words
    sessionChanged = pyqtSignal()         # a session started, resumed or opened for debrief
    busyChanged = pyqtSignal(bool)
    lesionProgress = pyqtSignal(object)   # simulator.ablation.LesionProgress: fraction done, latest temperatures
    lesionFinished = pyqtSignal(object)   # the lesion's facts (dict), or None when cancelled/failed
    pedalChanged = pyqtSignal(bool)
    procedureEnded = pyqtSignal(object)   # simulator.scoring.ScoreReport
    selectionChanged = pyqtSignal()       # current needle or picked entry point changed
    modeChanged = pyqtSignal(str)         # "trainee" or "instructor"
    preparingPatient = pyqtSignal(str)    # a scenario's patient (its id) is being generated, off the GUI thread
    patientPrepared = pyqtSignal()

    def __init__(self, sessions_folder: str | Path | None = None, *, seed: int = 0) -> None:
        super().__init__()
        from simulator.gui.sessions import sessions_folder as folder_of

        self.sessions_folder = folder_of(sessions_folder)
        self.seed = int(seed)
        self.session = None
        self.loaded = None          # a LoadedSession in debrief
        self.context = None
        self.state = None
        self.scenario = None
        self.view_mode = "trainee"
        self.shots: list[ShotView] = []
        self.lesions: list[dict] = []          # facts of each lesion shown (live or replayed)
        self.lesion_meshes: list[object] = []  # their TriangleMesh, when computed
        self.current_needle: str | None = None
        self.entry_mm = None                    # the skin point picked for the next needle
        self.replay_index = 0
        self.step_mm = 1.0                      # needle step of the keys and the wheel (0.5 or 1 mm)
        self._scenes: dict[str, object] = {}
        self._clock_zero = 0.0
        self._clock_start = time.monotonic()
        self._last_t = 0.0
        self._warmup: threading.Thread | None = None
        self._worker: LesionWorker | None = None
        self._pedal_start: float | None = None
        self._pedal_mode = "pulsed"
        self._live_count = 0
        self._live_timer = QTimer(self)
        self._live_timer.setInterval(int(1000 / PULSE_RATE_HZ))
        self._live_timer.timeout.connect(self._live_frame)
        self._replay_shots: dict[int, object] = {}
        self._replay_lesions: dict[int, object] = {}

    # -- what is open ---------------------------------------------------------------------
    @property
    def live(self) -> bool:
        """Whether a session is being recorded (not a debrief, not ended)."""
        return self.session is not None and self.loaded is None and not self.state.ended

    @property
    def busy(self) -> bool:
        """Whether a lesion is being computed (other commands wait)."""
        return self._worker is not None

    @property
    def scene(self):
        return None if self.context is None else self.context.scene

    @property
    def session_path(self) -> Path | None:
        if self.session is not None:
            return Path(self.session.log.path)
        return None if self.loaded is None else Path(self.loaded.path)

    def _scene_for(self, scenario):
        from simulator.anatomy.cache import is_prepared
        from simulator.session import scene_for

        key = str(scenario.patient_folder() or scenario.patient.parameters())
        if key not in self._scenes:
            if scenario.patient_folder() is None and not is_prepared(scenario.patient.parameters()):
                self._generate_patient(scenario)
            self._scenes[key] = scene_for(scenario)
        return self._scenes[key]

    def _generate_patient(self, scenario) -> None:
        """Generate a scenario's patient (10-20 s, the first time it is used) in a worker thread
        while the GUI thread's events keep running; the window shows a busy dialog between
        :attr:`preparingPatient` and :attr:`patientPrepared`. Raises what the generator raised."""
        from simulator.anatomy.cache import patient_folder

        job = BackgroundJob(lambda: patient_folder(scenario.patient.parameters()))
        loop = QEventLoop()
        job.finished.connect(loop.quit)
        self.preparingPatient.emit(scenario.meta.id)
        try:
            job.start()
            loop.exec()
            job.wait()
        finally:
            self.patientPrepared.emit()
        if job.error is not None:
            raise job.error

    def _close(self) -> None:
        if self._worker is not None:  # a lesion still running is cancelled: nothing is recorded
            self._worker.cancel()
            self._worker.wait()
            self._worker = None
            self.busyChanged.emit(False)
        self._stop_live()
        if self.session is not None:
            self.session.close()
        self.session = self.loaded = self.context = None
        self.shots, self.lesions, self.lesion_meshes = [], [], []
        self.current_needle, self.entry_mm = None, None
        self._replay_shots, self._replay_lesions = {}, {}

    def start(self, scenario) -> Path:
        """Begin a new session of ``scenario`` (a loaded :class:`~simulator.scenario.Scenario`)
        in the sessions folder; returns its file."""
        from simulator.gui.sessions import new_session_path
        from simulator.session import Session

        scene = self._scene_for(scenario)
        self._close()
        self.sessions_folder.mkdir(parents=True, exist_ok=True)
        path = new_session_path(self.sessions_folder, scenario.meta.id)
        self.session = Session.start(scenario, path, seed=self.seed, scene=scene)
        self._opened(self.session.context, self.session.state, 0.0)
        return path

    def resume(self, path: str | Path) -> list[str]:
        """Go on with a session that was cut off; returns the warnings (a torn last line)."""
        from simulator.session import Session, load_session

        loaded = load_session(path)  # the scenario, to share the scene
        scene = self._scene_for(loaded.scenario)
        self._close()
        self.session, warnings = Session.resume(path, scene=scene)
        self._opened(self.session.context, self.session.state, self.session.state.time_s)
        self._rebuild_history(loaded)
        return warnings

    def open_debrief(self, path: str | Path) -> None:
        """Open a recorded session to replay it on the timeline (no command can be run)."""
        from simulator.procedure import Context
        from simulator.session import load_session

        loaded = load_session(path)
        scene = self._scene_for(loaded.scenario)
        self._close()
        self.loaded = loaded
        self.replay_index = len(loaded.records)
        context = Context.create(scene, loaded.scenario, loaded.seed)
        self._opened(context, loaded.state, loaded.state.time_s)
        self.seek(len(loaded.records))

    def _opened(self, context, state, clock_zero: float) -> None:
        self.context, self.state, self.scenario = context, state, context.scenario
        self._clock_zero, self._clock_start, self._last_t = clock_zero, time.monotonic(), clock_zero
        self.current_needle = next(iter(state.needles), None)
        self._warmup = threading.Thread(target=self._warm_up, args=(context, state), daemon=True)
        self._warmup.start()
        self.sessionChanged.emit()
        self.shotsReset.emit()
        self.stateChanged.emit()
        self.selectionChanged.emit()

    @staticmethod
    def _warm_up(context, state) -> None:
        """Prepare the fluoroscope (and its compiled kernels) before the first shot."""
        try:
            from simulator.procedure import take_shot

            take_shot(context, state, Shot())
        except Exception:  # the real shot will say what is wrong
            pass

    def _wait_warm(self) -> None:
        if self._warmup is not None:
            self._warmup.join()
            self._warmup = None

    def _rebuild_history(self, loaded) -> None:
        """The monitor's strip and the lesions after a resume, drawn again from the record."""
        from simulator.commands import parse_command
        from simulator.gui.render.fluoro_image import shot_view
        from simulator.gui.replay import walk
        from simulator.procedure import take_shot

        self._wait_warm()
        shots = []
        for _, record, before in walk(loaded, self.scene):
            if record["command"]["do"] == "shot":
                command = parse_command(record["command"])
                shots.append(shot_view(take_shot(self.context, before, command), record["t_s"], mode=command.mode))
            if "lesion" in record["facts"]:
                self.lesions.append(record["facts"]["lesion"])
        self.shots = shots[-50:]
        self.shotsReset.emit()

    # -- the clock ------------------------------------------------------------------------
    def clock_s(self) -> float:
        """Session time now, s: wall-clock since the session started (never going backwards)."""
        if self.state is None:
            return 0.0
        now = self._clock_zero + (time.monotonic() - self._clock_start)
        return max(now, self._last_t, self.state.time_s)

    # -- commands -------------------------------------------------------------------------
    def _refuse(self) -> str | None:
        if self.loaded is not None:
            return "this is a recorded session (debrief): nothing can be done in it"
        if self.session is None:
            return "open a scenario first"
        if self.state.ended:
            return f"the procedure ended at {self.state.ended_s / 60:.1f} min"
        if self.busy:
            return "wait until the lesion is finished (or cancel it)"
        return None

    def run(self, command):
        """Apply ``command`` now and record it; returns the execution, or ``None`` when it was
        refused (the reason is emitted on :attr:`errorRaised`)."""
        from simulator.gui.render.fluoro_image import shot_view

        reason = self._refuse()
        if reason:
            self.errorRaised.emit(reason)
            return None
        self._wait_warm()
        t_s = self.clock_s()
        try:
            execution = self.session.run(command, t_s)
        except SimulatorError as error:
            self.errorRaised.emit(str(error))
            return None
        self._last_t = t_s
        self.state = self.session.state
        if getattr(command, "needle", None) and command.needle in self.state.needles and command.do != "remove":
            self.current_needle = command.needle
        elif command.do == "remove":
            self.current_needle = next(iter(self.state.needles), None)
        if command.do == "insert":
            self.entry_mm = None
        # The image first (what the operator watches), then the rest of the window.
        if execution.shot is not None:
            self._add_shot(shot_view(execution.shot, t_s, mode=command.mode))
        if self._pedal_start is not None and command.do in ("advance", "withdraw", "rotate", "reaim", "insert", "carm"):
            self._live_frame()  # the needle is seen to move during a run
        self.eventsRaised.emit(list(execution.events))
        self.stateChanged.emit()
        if command.do in ("insert", "remove"):
            self.selectionChanged.emit()
        return execution

    def _add_shot(self, view: ShotView) -> None:
        self.shots.append(view)
        del self.shots[:-50]
        self.shotTaken.emit(view)

    def step_needle(self, distance_mm: float):
        """Advance (> 0) or withdraw (< 0) the current needle by ``distance_mm``."""
        if self.current_needle is None:
            self.errorRaised.emit("no needle: pick an entry point on the skin and insert one")
            return None
        if distance_mm > 0:
            return self.run(Advance(needle=self.current_needle, distance_mm=float(distance_mm)))
        return self.run(Withdraw(needle=self.current_needle, distance_mm=float(-distance_mm)))

    def select_needle(self, label: str | None) -> None:
        if label != self.current_needle:
            self.current_needle = label
            self.selectionChanged.emit()

    def pick_entry(self, point_mm) -> None:
        """The skin point the user picked for the next needle (mm, LPS)."""
        import numpy as np

        self.entry_mm = None if point_mm is None else np.asarray(point_mm, float)
        self.selectionChanged.emit()

    def set_view_mode(self, mode: str) -> None:
        """``"trainee"`` (the anatomy hidden) or ``"instructor"`` (bone, nerves, lesions shown)."""
        if mode not in ("trainee", "instructor"):
            raise ValueError(mode)
        if mode != self.view_mode:
            self.view_mode = mode
            self.modeChanged.emit(mode)

    # -- the pedal ------------------------------------------------------------------------
    @property
    def pedal_down_now(self) -> bool:
        return self._pedal_start is not None

    def pedal_down(self, mode: str = "pulsed") -> None:
        """The pedal is pressed: a single shot if released within :data:`TAP_S`, else a run."""
        if self._pedal_start is not None:
            return
        reason = self._refuse()
        if reason:
            self.errorRaised.emit(reason)
            return
        self._pedal_start, self._pedal_mode, self._live_count = time.monotonic(), mode, 0
        self._live_timer.start()
        self.pedalChanged.emit(True)

    def pedal_up(self):
        """The pedal is released: the exposure is logged as one Shot command."""
        if self._pedal_start is None:
            return None
        held = time.monotonic() - self._pedal_start
        self._stop_live()
        command = Shot() if held < TAP_S else Shot(mode=self._pedal_mode, duration_s=round(min(held, 600.0), 3))
        return self.run(command)

    def _stop_live(self) -> None:
        self._live_timer.stop()
        if self._pedal_start is not None:
            self._pedal_start = None
            self.pedalChanged.emit(False)

    def _live_frame(self) -> None:
        """A live frame while the pedal is held (shown, not logged: the run is logged on release)."""
        from simulator.gui.render.fluoro_image import live_frame

        if self._pedal_start is None or time.monotonic() - self._pedal_start < TAP_S or self.session is None:
            return
        self._wait_warm()
        self._live_count += 1
        try:
            frame = live_frame(self.context, self.state, self._live_count, mode=self._pedal_mode)
        except SimulatorError as error:
            self._stop_live()
            self.errorRaised.emit(str(error))
            return
        self.shotTaken.emit(ShotView(frame.to_uint8(), frame.projection.pose.describe(), self.clock_s(), live=True,
                                     mode=self._pedal_mode))

    # -- lesions --------------------------------------------------------------------------
    def ablate(self, settings: dict) -> bool:
        """Start a lesion through the current needle with ``settings`` (in a worker thread)."""
        reason = self._refuse()
        if reason is None and self._pedal_start is not None:
            reason = "release the pedal first"
        if reason or self.current_needle is None:
            self.errorRaised.emit(reason or "no needle to make a lesion through")
            return False
        try:
            command = Ablate(needle=self.current_needle, settings=dict(settings))
        except ValueError as error:
            self.errorRaised.emit(f"lesion settings: {error}")
            return False
        self._wait_warm()
        t_s = self.clock_s()
        self._worker = LesionWorker(self.session, command, t_s)
        self._worker.progress.connect(self.lesionProgress)
        self._worker.done.connect(lambda execution, error: self._lesion_done(execution, error, t_s))
        self.busyChanged.emit(True)
        self._worker.start()
        return True

    def cancel_lesion(self) -> None:
        if self._worker is not None:
            self._worker.cancel()

    def _lesion_done(self, execution, error, t_s: float) -> None:
        if self._worker is None:  # the session was closed while it ran
            return
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.wait()
        self.busyChanged.emit(False)
        if execution is None:
            message = str(error) if isinstance(error, SimulatorError) else f"the lesion model failed: {error!r}"
            self.errorRaised.emit(message + ("; nothing was recorded" if isinstance(error, SimulationCancelled) else ""))
            self.lesionFinished.emit(None)
            return
        self._last_t = t_s
        self.state = self.session.state
        facts = execution.facts["lesion"]
        self.lesions.append(facts)
        try:
            self.lesion_meshes.append(execution.lesion.mesh())
        except Exception:  # an empty lesion has no surface
            pass
        self.eventsRaised.emit(list(execution.events))
        self.stateChanged.emit()
        self.lesionFinished.emit(facts)

    # -- the end --------------------------------------------------------------------------
    def end_procedure(self):
        """Apply End, then score the session from its log; returns the score report."""
        from simulator.scoring import score
        from simulator.session import load_session

        if self.run(End()) is None:
            return None
        loaded = load_session(self.session_path)
        report = score(loaded.scenario, loaded.state)
        self.procedureEnded.emit(report)
        return report

    # -- debrief --------------------------------------------------------------------------
    @property
    def record_count(self) -> int:
        return 0 if self.loaded is None else len(self.loaded.records)

    def record_time_s(self, index: int) -> float:
        """Session time of the state after ``index`` records (0: the start)."""
        if self.loaded is None or index <= 0:
            return 0.0
        return float(self.loaded.records[min(index, len(self.loaded.records)) - 1]["t_s"])

    def seek(self, index: int) -> None:
        """Show the recorded session as it was after its first ``index`` commands: the state is
        folded from the logged facts (nothing executed again); the shots taken until then are
        drawn again from their records."""
        from simulator.commands import parse_command
        from simulator.gui.render.fluoro_image import shot_view
        from simulator.gui.replay import state_after, walk
        from simulator.lesions import make_lesion
        from simulator.procedure import take_shot

        if self.loaded is None:
            return
        index = max(0, min(int(index), len(self.loaded.records)))
        self.replay_index = index
        self._wait_warm()
        shots, lesions, meshes = [], [], []
        for number, record, before in walk(self.loaded, self.scene, index):
            do = record["command"]["do"]
            if do == "shot":
                if number not in self._replay_shots:
                    command = parse_command(record["command"])
                    self._replay_shots[number] = shot_view(take_shot(self.context, before, command), record["t_s"],
                                                           mode=command.mode)
                shots.append(self._replay_shots[number])
            elif do == "ablate":
                if number not in self._replay_lesions:
                    command = parse_command(record["command"])
                    try:
                        _, _, result = make_lesion(self.context, before.needle(command.needle), command.settings)
                        self._replay_lesions[number] = result.mesh()
                    except SimulatorError:
                        self._replay_lesions[number] = None
                lesions.append(record["facts"]["lesion"])
                if self._replay_lesions[number] is not None:
                    meshes.append(self._replay_lesions[number])
        state = state_after(self.loaded, index, self.scene)
        self.state, self.shots, self.lesions, self.lesion_meshes = state, shots[-50:], lesions, meshes
        if self.current_needle not in state.needles:
            self.current_needle = next(iter(state.needles), None)
        self.shotsReset.emit()
        self.stateChanged.emit()
        self.selectionChanged.emit()

    def close(self) -> None:
        self._close()
