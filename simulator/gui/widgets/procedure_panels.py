"""Stimulation (sensory 50 Hz, motor 2 Hz), local anaesthetic, and the procedure checklist."""

from __future__ import annotations

from PyQt6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                             QPushButton, QVBoxLayout)

from simulator.commands import ANAESTHETICS, Inject, Stimulate, Tick
from simulator.rubric import CHECKLIST_STEPS

__all__ = ["StimulationPanel", "ChecklistPanel", "STEP_TITLES"]

STEP_TITLES = {"verify_patient_and_level": "Patient, side and level verified", "prone_positioning": "Prone positioning",
               "sterile_preparation": "Sterile preparation and draping", "skin_local_anaesthetic": "Skin local anaesthetic",
               "confirm_position_two_views": "Position confirmed in two views",
               "record_parameters": "Lesion parameters recorded"}


class StimulationPanel(QGroupBox):
    """Tests through the current needle and the patient's answer; lidocaine before a heat lesion."""

    def __init__(self, model, parent=None) -> None:
        super().__init__("Stimulation", parent)
        self.model = model
        form = QFormLayout(self)
        self.sensory = QPushButton("Sensory 50 Hz (find threshold)")
        self.sensory.setObjectName("sensoryTest")
        self.sensory.clicked.connect(lambda: self._test("sensory"))
        form.addRow(self.sensory)
        self.voltage = QDoubleSpinBox()
        self.voltage.setObjectName("motorVoltage")
        self.voltage.setRange(0.1, 3.0)
        self.voltage.setSingleStep(0.1)
        self.voltage.setValue(2.0)
        self.voltage.setSuffix(" V")
        self.motor = QPushButton("Motor 2 Hz")
        self.motor.setObjectName("motorTest")
        self.motor.clicked.connect(lambda: self._test("motor"))
        row = QHBoxLayout()
        row.addWidget(self.voltage)
        row.addWidget(self.motor, 1)
        form.addRow(row)
        self.answer = QLabel("—")
        self.answer.setObjectName("patientAnswer")
        self.answer.setWordWrap(True)
        form.addRow("patient", self.answer)
        self.agent = QComboBox()
        self.agent.addItems(list(ANAESTHETICS))
        self.volume = QDoubleSpinBox()
        self.volume.setObjectName("anaestheticMl")
        self.volume.setRange(0.1, 5.0)
        self.volume.setSingleStep(0.1)
        self.volume.setValue(0.5)
        self.volume.setSuffix(" mL")
        self.inject = QPushButton("Inject")
        self.inject.setObjectName("injectAnaesthetic")
        self.inject.clicked.connect(self._inject)
        row = QHBoxLayout()
        row.addWidget(self.agent)
        row.addWidget(self.volume)
        row.addWidget(self.inject)
        form.addRow("anaesthetic", row)
        model.eventsRaised.connect(self._on_events)
        model.stateChanged.connect(self.refresh)
        model.selectionChanged.connect(self.refresh)
        model.busyChanged.connect(lambda _busy: self.refresh())
        model.sessionChanged.connect(lambda: self.answer.setText("—"))

    def _test(self, test: str) -> None:
        m = self.model
        if m.current_needle is None:
            m.errorRaised.emit("no needle to stimulate through")
            return
        m.run(Stimulate(needle=m.current_needle, test=test, voltage_v=self.voltage.value() if test == "motor" else None))

    def _inject(self) -> None:
        m = self.model
        if m.current_needle is not None:
            m.run(Inject(needle=m.current_needle, agent=self.agent.currentText(), volume_ml=self.volume.value()))

    def _on_events(self, events) -> None:
        for event in events:
            if event.kind in ("sensory_test", "motor_test"):
                self.answer.setText(f"{'50 Hz' if event.kind == 'sensory_test' else '2 Hz'}: {event.message}")

    def refresh(self) -> None:
        m = self.model
        self.setEnabled(m.live and not m.busy and m.current_needle is not None)


class ChecklistPanel(QGroupBox):
    """The procedure's checklist: ticking a step logs it (a tick cannot be taken back)."""

    def __init__(self, model, parent=None) -> None:
        super().__init__("Checklist", parent)
        self.model = model
        layout = QVBoxLayout(self)
        self.boxes: dict[str, QCheckBox] = {}
        for step in CHECKLIST_STEPS:
            box = QCheckBox(STEP_TITLES.get(step, step.replace("_", " ")))
            box.setObjectName(f"tick_{step}")
            box.clicked.connect(lambda checked, s=step: self._tick(s, checked))
            layout.addWidget(box)
            self.boxes[step] = box
        model.stateChanged.connect(self.refresh)
        model.busyChanged.connect(lambda _busy: self.refresh())

    def _tick(self, step: str, checked: bool) -> None:
        if checked:
            self.model.run(Tick(step=step))
        self.refresh()

    def refresh(self) -> None:
        m = self.model
        ticks = {} if m.state is None else m.state.ticks
        for step, box in self.boxes.items():
            done = step in ticks
            box.setChecked(done)
            box.setEnabled(m.live and not m.busy and not done)
            box.setToolTip(f"ticked at {ticks[step] / 60:.1f} min" if done else "")
