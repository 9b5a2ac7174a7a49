"""The main window: the fluoroscopy monitor, the external 3D view, the controls and the status bar.

Keys (anywhere in the window but in a number or text field):

- Space or F: the pedal. A tap is a single shot; held, a pulsed (or continuous) run, logged as
  one Shot when released.
- Up / W: advance the current needle one step; Down / S: withdraw it (the step, 0.5 or 1 mm, is
  chosen in the needle panel; the mouse wheel over the monitor does the same).
"""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import QEvent, Qt
from PyQt6.QtGui import QAction, QActionGroup, QKeySequence
from PyQt6.QtWidgets import (QAbstractSpinBox, QApplication, QComboBox, QFileDialog, QLineEdit, QMainWindow,
                             QProgressDialog, QScrollArea, QSplitter, QVBoxLayout, QWidget)

from simulator.errors import SimulatorError
from simulator.gui.model import DEFAULT_SCENARIO, ProcedureModel
from simulator.gui.widgets.ablation_panel import AblationPanel
from simulator.gui.widgets.carm_panel import CArmPanel
from simulator.gui.widgets.dialogs import ScenarioDialog, ScoreDialog, ask_resume, show_error
from simulator.gui.widgets.fluoro_monitor import FluoroMonitor
from simulator.gui.widgets.needle_panel import NeedlePanel
from simulator.gui.widgets.patient_view import PatientView
from simulator.gui.widgets.procedure_panels import ChecklistPanel, StimulationPanel
from simulator.gui.widgets.session_widgets import EventLog, ReplayBar, StatusReadouts

__all__ = ["MainWindow", "PEDAL_KEYS", "ADVANCE_KEYS", "WITHDRAW_KEYS"]

PEDAL_KEYS = (Qt.Key.Key_Space, Qt.Key.Key_F)
ADVANCE_KEYS = (Qt.Key.Key_Up, Qt.Key.Key_W)
WITHDRAW_KEYS = (Qt.Key.Key_Down, Qt.Key.Key_S)


class MainWindow(QMainWindow):
    """Rhizosim's window over a :class:`~simulator.gui.model.ProcedureModel`."""

    def __init__(self, model: ProcedureModel | None = None, parent=None) -> None:
        super().__init__(parent)
        self.model = model or ProcedureModel()
        self.setObjectName("mainWindow")
        self.monitor = FluoroMonitor(self.model)
        self.patient_view = PatientView(self.model)
        self.event_log = EventLog(self.model)
        self.carm_panel = CArmPanel(self.model)
        self.needle_panel = NeedlePanel(self.model)
        self.stimulation_panel = StimulationPanel(self.model)
        self.ablation_panel = AblationPanel(self.model)
        self.checklist_panel = ChecklistPanel(self.model)
        self.replay_bar = ReplayBar(self.model)
        self.status = StatusReadouts(self.model)
        self.score_dialog: ScoreDialog | None = None
        self.preparing: QProgressDialog | None = None  # shown while a scenario's patient is generated

        middle = QSplitter(Qt.Orientation.Vertical)
        middle.addWidget(self.patient_view)
        middle.addWidget(self.event_log)
        middle.setSizes([520, 200])
        controls = QWidget()
        column = QVBoxLayout(controls)
        for panel in (self.carm_panel, self.needle_panel, self.stimulation_panel, self.ablation_panel, self.checklist_panel):
            column.addWidget(panel)
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(controls)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(controls.sizeHint().width() + scroll.verticalScrollBar().sizeHint().width() + 4)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.controls_scroll = scroll
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.monitor)
        split.addWidget(middle)
        split.addWidget(scroll)
        split.setSizes([620, 500, 560])
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setStretchFactor(2, 0)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(split, 1)
        layout.addWidget(self.replay_bar)
        self.setCentralWidget(central)
        self.statusBar().addPermanentWidget(self.status)
        self._actions()
        self.model.errorRaised.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.model.eventsRaised.connect(self._on_events)
        self.model.sessionChanged.connect(self._on_session)
        self.model.procedureEnded.connect(self._on_ended)
        self.model.busyChanged.connect(self._on_busy)
        self.model.preparingPatient.connect(self._on_preparing)
        self.model.patientPrepared.connect(self._on_prepared)
        self.model.modeChanged.connect(lambda _mode: self._on_session())
        self.resize(1680, 980)
        QApplication.instance().installEventFilter(self)
        self._on_session()

    def _on_busy(self, busy: bool) -> None:
        if busy:  # a lesion started: bring its progress and live curve into view
            self.controls_scroll.ensureWidgetVisible(self.ablation_panel.curve, 0, 60)

    # -- menus ------------------------------------------------------------------------------
    def _actions(self) -> None:
        menu = self.menuBar().addMenu("&File")
        self.open_action = QAction("&Open scenario…", self, shortcut=QKeySequence.StandardKey.Open)
        self.open_action.triggered.connect(self.choose_scenario)
        self.open_file_action = QAction("Open scenario &file…", self)
        self.open_file_action.triggered.connect(self.choose_scenario_file)
        self.debrief_action = QAction("&Debrief a recorded session…", self)
        self.debrief_action.triggered.connect(self.choose_debrief)
        self.end_action = QAction("&End procedure", self)
        self.end_action.setObjectName("endProcedure")
        self.end_action.triggered.connect(self.end_procedure)
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        for action in (self.open_action, self.open_file_action, self.debrief_action, self.end_action, quit_action):
            menu.addAction(action)
        view = self.menuBar().addMenu("&View")
        group = QActionGroup(self)
        self.trainee_action = QAction("&Trainee (anatomy hidden)", self, checkable=True, checked=True)
        self.instructor_action = QAction("&Instructor (reveal anatomy)", self, checkable=True)
        self.trainee_action.setObjectName("traineeMode")
        self.instructor_action.setObjectName("instructorMode")
        for action, mode in ((self.trainee_action, "trainee"), (self.instructor_action, "instructor")):
            group.addAction(action)
            view.addAction(action)
            action.triggered.connect(lambda _=False, m=mode: self.model.set_view_mode(m))
        toolbar = self.addToolBar("Procedure")
        toolbar.setObjectName("procedureToolbar")
        toolbar.addAction(self.open_action)
        toolbar.addSeparator()
        toolbar.addAction(self.trainee_action)
        toolbar.addAction(self.instructor_action)
        toolbar.addSeparator()
        toolbar.addAction(self.end_action)

    # -- opening --------------------------------------------------------------------------
    def startup(self, scenario: str | None = None, *, offer_resume: bool = True) -> None:
        """What ``rhizosim gui [SCENARIO]`` does once the window is up: offer to resume the newest
        unfinished session, else open ``scenario`` (default: the README's case)."""
        from simulator.gui.sessions import unfinished_sessions

        unfinished = unfinished_sessions(self.model.sessions_folder) if offer_resume else []
        if unfinished:
            ask_resume(self, unfinished, lambda path: self.resume(path) if path else self.open_scenario(scenario))
        else:
            self.open_scenario(scenario)

    def open_scenario(self, name: str | Path | None = None) -> bool:
        """Start a new session of a scenario (a library id or a file); a bad file gets a dialog."""
        from simulator.scenario import find_scenario

        name = str(name or DEFAULT_SCENARIO)
        try:
            self.setCursor(Qt.CursorShape.WaitCursor)
            scenario = find_scenario(name)
            self.model.start(scenario)
        except SimulatorError as error:
            show_error(self, "Cannot open the scenario", str(error))
            return False
        finally:
            self.unsetCursor()
        return True

    def _on_preparing(self, scenario_id: str) -> None:
        self.preparing = QProgressDialog(f"Preparing the patient of {scenario_id}: generated the first time it is "
                                         "used (about 15 s), then kept.", None, 0, 0, self)
        self.preparing.setWindowTitle("Preparing the patient")
        self.preparing.setWindowModality(Qt.WindowModality.WindowModal)
        self.preparing.setMinimumDuration(0)
        self.preparing.show()

    def _on_prepared(self) -> None:
        if self.preparing is not None:
            self.preparing.close()
            self.preparing = None

    def resume(self, path: str | Path) -> bool:
        try:
            warnings = self.model.resume(path)
        except SimulatorError as error:
            show_error(self, "Cannot resume the session", str(error))
            return False
        for warning in warnings:
            self.statusBar().showMessage(warning, 10000)
        return True

    def choose_scenario(self) -> None:
        dialog = ScenarioDialog(self)
        dialog.chosen.connect(self.open_scenario)
        dialog.open()

    def choose_scenario_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Scenario file", "", "Scenarios (*.toml);;All files (*)")
        if path:
            self.open_scenario(path)

    def choose_debrief(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Recorded session", str(self.model.sessions_folder),
                                              "Sessions (*.jsonl);;All files (*)")
        if path:
            self.open_debrief(path)

    def open_debrief(self, path: str | Path) -> bool:
        """Replay a recorded session on the timeline, the anatomy revealed."""
        try:
            self.model.open_debrief(path)
        except SimulatorError as error:
            show_error(self, "Cannot open the session", str(error))
            return False
        self.instructor_action.setChecked(True)
        self.model.set_view_mode("instructor")
        return True

    # -- the end ---------------------------------------------------------------------------
    def end_procedure(self) -> None:
        if self.model.end_procedure() is None:
            self.statusBar().showMessage("the procedure could not be ended now", 8000)

    def _on_ended(self, report) -> None:
        self.score_dialog = ScoreDialog(report, self.model.session_path, self)
        self.score_dialog.open()
        self._on_session()

    # -- feedback ----------------------------------------------------------------------------
    def _on_events(self, events) -> None:
        if events:
            self.statusBar().showMessage(events[-1].message, 6000)

    def _on_session(self) -> None:
        m = self.model
        title = "Rhizosim"
        if m.scenario is not None:
            what = "debrief" if m.loaded is not None else ("ended" if m.state.ended else "live")
            title += f" — {m.scenario.meta.title} ({what}, {m.view_mode} view)"
        self.setWindowTitle(title)
        self.end_action.setEnabled(m.live)

    # -- keys --------------------------------------------------------------------------------
    def eventFilter(self, watched, event) -> bool:
        kind = event.type()
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) or not isinstance(watched, QWidget) \
                or watched.window() is not self:
            return False
        focus = QApplication.focusWidget()
        if isinstance(focus, (QAbstractSpinBox, QLineEdit, QComboBox)):
            return False
        key = event.key()
        if key in PEDAL_KEYS:
            if not event.isAutoRepeat():
                if kind == QEvent.Type.KeyPress:
                    self.model.pedal_down(self.carm_panel.run_mode.currentText())
                else:
                    self.model.pedal_up()
            return True
        if key in ADVANCE_KEYS + WITHDRAW_KEYS:
            if kind == QEvent.Type.KeyPress:
                sign = 1.0 if key in ADVANCE_KEYS else -1.0
                self.model.step_needle(sign * self.model.step_mm)
            return True
        return False

    def closeEvent(self, event) -> None:
        QApplication.instance().removeEventFilter(self)
        self.model.close()
        self.patient_view.close_view()
        super().closeEvent(event)
