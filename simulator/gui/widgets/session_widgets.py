"""The event log, the status bar's read-outs, and the debrief timeline."""

from __future__ import annotations

from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QSlider, QWidget

__all__ = ["EventLog", "StatusReadouts", "ReplayBar", "REPLAY_STEP_MS"]

#: Playing a replay shows one more command every this many milliseconds.
REPLAY_STEP_MS = 400
_EVENT_COLORS = {"bone_contact": "#ff8a80", "csf": "#ffd54f", "blood": "#ff5252", "paraesthesia": "#ffd54f",
                 "disc_puncture": "#ffd54f", "lesion": "#ffab40", "error": "#ff5252", "end": "#80cbc4"}


class EventLog(QListWidget):
    """What happened, newest last: each event's message with the session time; refused actions in red."""

    def __init__(self, model, parent=None) -> None:
        super().__init__(parent)
        self.model = model
        self.setObjectName("eventLog")
        self.setWordWrap(True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        model.eventsRaised.connect(self._on_events)
        model.errorRaised.connect(lambda text: self._add("error", f"not done: {text}"))
        model.sessionChanged.connect(self._on_session)
        model.stateChanged.connect(self._on_replay)
        self._shown_records = 0

    def _on_replay(self) -> None:
        """In a debrief: the events of the commands up to the timeline's position."""
        m = self.model
        if m.loaded is None or self._shown_records == m.replay_index:
            return
        self._on_session()
        for record in m.loaded.records[:m.replay_index]:
            for event in record["events"]:
                self._add(event["kind"], event["message"].splitlines()[0], record["t_s"])
        self._shown_records = m.replay_index

    def _add(self, kind: str, message: str, t_s: float | None = None) -> None:
        t_s = self.model.clock_s() if t_s is None else t_s
        item = QListWidgetItem(f"{t_s / 60:5.1f} min  {message}")
        item.setData(Qt.ItemDataRole.UserRole, kind)
        if kind in _EVENT_COLORS:
            item.setForeground(QColor(_EVENT_COLORS[kind]))
        self.addItem(item)
        self.scrollToBottom()

    def _on_events(self, events) -> None:
        for event in events:
            self._add(event.kind, event.message)

    def _on_session(self) -> None:
        self.clear()
        self._shown_records = 0
        m = self.model
        if m.scenario is not None:
            what = "debrief of" if m.loaded is not None else "session"
            self._add("session", f"{what} {m.session_path.name}: {m.scenario.meta.title}", 0.0 if m.loaded else None)

    def kinds(self) -> list[str]:
        """The kinds of the events listed, in order."""
        return [self.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.count())]


class StatusReadouts(QWidget):
    """Elapsed time, shots, fluoroscopy time and dose against the scenario's budgets."""

    def __init__(self, model, parent=None) -> None:
        super().__init__(parent)
        self.model = model
        self.elapsed = QLabel()
        self.elapsed.setObjectName("statusElapsed")
        self.shots = QLabel()
        self.shots.setObjectName("statusShots")
        self.fluoro = QLabel()
        self.fluoro.setObjectName("statusFluoroTime")
        self.dose = QLabel()
        self.dose.setObjectName("statusDose")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in (self.elapsed, self.shots, self.fluoro, self.dose):
            layout.addWidget(w)
        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        model.stateChanged.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        m = self.model
        if m.state is None:
            for w in (self.elapsed, self.shots, self.fluoro, self.dose):
                w.setText("")
            return
        limits = m.scenario.limits
        seconds = m.state.time_s if (m.loaded is not None or m.state.ended) else m.clock_s()
        dose = m.state.dose
        self.elapsed.setText(f"time {int(seconds // 60)}:{int(seconds % 60):02d} of {limits.time_limit_s / 60:.0f} min")
        self.shots.setText(f"shots {dose['shots']}/{limits.shots_budget}")
        self.fluoro.setText(f"fluoro {dose['fluoro_time_s']:.1f}/{limits.fluoro_time_budget_s:g} s")
        over = dose["air_kerma_mgy"] > limits.dose_budget_mgy
        self.dose.setText(f"<span style='color:{'#ff5252' if over else 'inherit'}'>dose "
                          f"{dose['air_kerma_mgy']:.2f}/{limits.dose_budget_mgy:g} mGy · {dose['dap_gy_cm2'] * 1000:.0f} mGy·cm²</span>")


class ReplayBar(QWidget):
    """The debrief timeline: a slider over the recorded commands, play/pause, and what happened there."""

    def __init__(self, model, parent=None) -> None:
        super().__init__(parent)
        self.model = model
        self.play = QPushButton("▶ Play")
        self.play.setObjectName("replayPlay")
        self.play.setCheckable(True)
        self.play.toggled.connect(self._toggle)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("replaySlider")
        self.slider.valueChanged.connect(self._seek)
        self.label = QLabel("")
        self.label.setObjectName("replayLabel")
        self.label.setMinimumWidth(380)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.addWidget(QLabel("Debrief"))
        layout.addWidget(self.play)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.label)
        self.timer = QTimer(self)
        self.timer.setInterval(REPLAY_STEP_MS)
        self.timer.timeout.connect(self._step)
        model.sessionChanged.connect(self._on_session)
        model.stateChanged.connect(self._follow)
        self._on_session()

    def _follow(self) -> None:
        """Keep the slider where the model is (it moves by itself when playing)."""
        m = self.model
        if m.loaded is not None and self.slider.value() != m.replay_index:
            self.slider.blockSignals(True)
            self.slider.setValue(m.replay_index)
            self.slider.blockSignals(False)
            self._describe(m.replay_index)

    def _on_session(self) -> None:
        m = self.model
        self.setVisible(m.loaded is not None)
        self.play.setChecked(False)
        if m.loaded is None:
            return
        self.slider.blockSignals(True)
        self.slider.setRange(0, m.record_count)
        self.slider.setValue(m.replay_index)
        self.slider.blockSignals(False)
        self._describe(m.replay_index)

    def _seek(self, index: int) -> None:
        self.model.seek(index)
        self._describe(index)

    def _describe(self, index: int) -> None:
        m = self.model
        if index == 0:
            self.label.setText(f"0 of {m.record_count}: the start")
            return
        record = m.loaded.records[index - 1]
        message = record["events"][0]["message"].splitlines()[0] if record["events"] else record["command"]["do"]
        message = message if len(message) <= 48 else message[:47] + "…"
        self.label.setText(f"{index} of {m.record_count} · {record['t_s'] / 60:.1f} min · {message}")

    def _toggle(self, on: bool) -> None:
        self.play.setText("❚❚ Pause" if on else "▶ Play")
        if on and self.slider.value() >= self.slider.maximum():
            self.slider.setValue(0)
        (self.timer.start if on else self.timer.stop)()

    def _step(self) -> None:
        if self.slider.value() >= self.slider.maximum():
            self.play.setChecked(False)
            return
        self.slider.setValue(self.slider.value() + 1)
