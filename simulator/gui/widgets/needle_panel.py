"""Needle controls: the device, the aim, insert at the picked skin point, advance and withdraw
in 0.5 or 1 mm steps, turn a curved tip, re-aim, remove; depth, tissue and bone read-outs."""

from __future__ import annotations

from PyQt6.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton,
                             QRadioButton)

from simulator.commands import Reaim, Remove, Rotate
from simulator.errors import SimulatorError
from simulator.gui import intents

__all__ = ["NeedlePanel", "STEPS_MM", "TURN_DEG"]

#: The step sizes offered for the keys, the buttons and the wheel (mm).
STEPS_MM = (0.5, 1.0)
#: One press of a turn button (deg).
TURN_DEG = 30.0


class NeedlePanel(QGroupBox):
    def __init__(self, model, parent=None) -> None:
        super().__init__("Needle", parent)
        self.model = model
        form = QFormLayout(self)
        self.device = QComboBox()
        self.device.setObjectName("device")
        form.addRow("device", self.device)
        self.aim = QComboBox()
        self.aim.setObjectName("aim")
        self.aim.addItem("down the beam", "down_the_beam")
        self.aim.addItem("by angles", "angles")
        self.caudal = QDoubleSpinBox()
        self.caudal.setObjectName("approachCaudalDeg")
        self.caudal.setRange(-80.0, 80.0)
        self.caudal.setSuffix(" ° caudal")
        self.caudal.setToolTip("the needle enters below its target and its tip advances cranially by this angle")
        self.medial = QDoubleSpinBox()
        self.medial.setObjectName("medialDeg")
        self.medial.setRange(-80.0, 80.0)
        self.medial.setSuffix(" ° medial")
        self.frame = QComboBox()
        self.frame.setObjectName("angleFrame")
        self.frame.addItem("patient", None)
        for level in ("L1", "L2", "L3", "L4", "L5", "sacrum"):
            self.frame.addItem(f"{level} endplate", level)
        form.addRow("aim", self.aim)
        angles_row = QHBoxLayout()
        for w in (self.caudal, self.medial, self.frame):
            angles_row.addWidget(w)
        form.addRow("angles", angles_row)
        self.aim.currentIndexChanged.connect(self._aim_changed)
        self._aim_changed()
        self.insert = QPushButton("Insert at the picked point")
        self.insert.setObjectName("insertNeedle")
        self.insert.clicked.connect(self._insert)
        self.reaim = QPushButton("Re-aim")
        self.reaim.setObjectName("reaimNeedle")
        self.reaim.setToolTip("point the current needle along the aim above (tip within 10 mm of the skin)")
        self.reaim.clicked.connect(self._reaim)
        row = QHBoxLayout()
        row.addWidget(self.insert, 1)
        row.addWidget(self.reaim)
        form.addRow(row)
        self.needles = QComboBox()
        self.needles.setObjectName("needleChoice")
        self.needles.currentTextChanged.connect(lambda text: text and self.model.select_needle(text))
        self.remove = QPushButton("Remove")
        self.remove.setObjectName("removeNeedle")
        self.remove.clicked.connect(lambda: self.model.current_needle and self.model.run(Remove(needle=self.model.current_needle)))
        row = QHBoxLayout()
        row.addWidget(self.needles, 1)
        row.addWidget(self.remove)
        form.addRow("current", row)
        self.step_buttons = {}
        steps = QHBoxLayout()
        for step in STEPS_MM:
            radio = QRadioButton(f"{step:g} mm")
            radio.setObjectName(f"step_{step:g}".replace(".", "_"))
            radio.toggled.connect(lambda on, s=step: on and setattr(self.model, "step_mm", s))
            steps.addWidget(radio)
            self.step_buttons[step] = radio
        self.step_buttons[1.0].setChecked(True)
        self.advance = QPushButton("Advance ▲")
        self.advance.setObjectName("advanceNeedle")
        self.advance.clicked.connect(lambda: self.model.step_needle(self.model.step_mm))
        self.withdraw = QPushButton("Withdraw ▼")
        self.withdraw.setObjectName("withdrawNeedle")
        self.withdraw.clicked.connect(lambda: self.model.step_needle(-self.model.step_mm))
        self.turn_left = QPushButton(f"⟲ {TURN_DEG:g}°")
        self.turn_left.clicked.connect(lambda: self._turn(-TURN_DEG))
        self.turn_right = QPushButton(f"⟳ {TURN_DEG:g}°")
        self.turn_right.clicked.connect(lambda: self._turn(TURN_DEG))
        form.addRow("step", steps)
        moves = QHBoxLayout()
        for w in (self.advance, self.withdraw, self.turn_left, self.turn_right):
            moves.addWidget(w)
        form.addRow("move", moves)
        self.depth = QLabel("—")
        self.depth.setObjectName("needleDepth")
        self.tissue = QLabel("—")
        self.tissue.setObjectName("needleTissue")
        self.contact = QLabel("")
        self.contact.setObjectName("boneContact")
        self.contact.setWordWrap(True)
        form.addRow("depth", self.depth)
        form.addRow("tissue at tip", self.tissue)
        form.addRow(self.contact)
        model.sessionChanged.connect(self._on_session)
        model.stateChanged.connect(self.refresh)
        model.selectionChanged.connect(self.refresh)
        model.busyChanged.connect(lambda _busy: self.refresh())
        model.eventsRaised.connect(self._on_events)

    def _aim_changed(self) -> None:
        by_angles = self.aim.currentData() == "angles"
        for w in (self.caudal, self.medial, self.frame):
            w.setEnabled(by_angles)

    def _on_session(self) -> None:
        self.device.clear()
        if self.model.scenario is not None:
            from simulator.devices import device

            from simulator.approach import DEFAULT_DEVICE

            for device_id in self.model.scenario.procedure.device_ids():
                self.device.addItem(device(device_id).description, device_id)
            index = self.device.findData(DEFAULT_DEVICE)
            if index >= 0:
                self.device.setCurrentIndex(index)
        self.contact.setText("")
        self.refresh()

    def _direction(self, entry):
        return intents.needle_direction(self.model.scene, self.model.state, entry, aim=self.aim.currentData(),
                                        approach_caudal_deg=self.caudal.value(), medial_deg=self.medial.value(),
                                        frame_level=self.frame.currentData())

    def _insert(self) -> None:
        m = self.model
        if m.entry_mm is None:
            m.errorRaised.emit("pick the entry point on the skin first (Pick entry, then click on the back)")
            return
        try:
            used = list(m.state.needles) + [r["label"] for r in m.state.removed]
            command = intents.insert_at(intents.next_needle_label(used), self.device.currentData(), m.entry_mm,
                                        self._direction(m.entry_mm))
        except (SimulatorError, ValueError) as error:
            m.errorRaised.emit(str(error))
            return
        m.run(command)

    def _reaim(self) -> None:
        m = self.model
        if m.current_needle is None:
            return
        try:
            needle = m.state.needle(m.current_needle)
            direction = self._direction(needle.entry_mm)
            command = Reaim(needle=needle.label, direction=tuple(float(v) for v in direction))
        except (SimulatorError, ValueError) as error:
            m.errorRaised.emit(str(error))
            return
        m.run(command)

    def _turn(self, by_deg: float) -> None:
        if self.model.current_needle is not None:
            self.model.run(Rotate(needle=self.model.current_needle, by_deg=by_deg))

    def _on_events(self, events) -> None:
        for event in events:
            if event.kind == "bone_contact":
                self.contact.setText(f"<b style='color:#d33'>BONE — the needle stops.</b> {event.message}")
            elif event.kind in ("withdrawal", "aim", "redirection", "skin_entry", "rotation"):
                self.contact.setText(event.message)
            elif event.kind in ("csf", "blood", "paraesthesia", "disc_puncture"):
                self.contact.setText(f"<b style='color:#d80'>{event.message}</b>")

    def refresh(self) -> None:
        m = self.model
        self.setEnabled(m.live and not m.busy)
        labels = [] if m.state is None else list(m.state.needles)
        if [self.needles.itemText(i) for i in range(self.needles.count())] != labels:
            self.needles.blockSignals(True)
            self.needles.clear()
            self.needles.addItems(labels)
            self.needles.blockSignals(False)
        if m.current_needle:
            self.needles.setCurrentText(m.current_needle)
        self.insert.setEnabled(m.entry_mm is not None)
        needle = m.state.needles.get(m.current_needle) if m.state is not None and m.current_needle else None
        for w in (self.advance, self.withdraw, self.remove, self.reaim):
            w.setEnabled(needle is not None)
        for w in (self.turn_left, self.turn_right):
            w.setEnabled(needle is not None and needle.model.curved)
        if needle is None:
            self.depth.setText("—")
            self.tissue.setText("—")
            return
        self.depth.setText(f"{needle.depth_mm:.1f} mm of {needle.model.length_mm:g} mm"
                           + (f" · {needle.redirections} redirection{'s' if needle.redirections != 1 else ''}"
                              if needle.redirections else ""))
        self.tissue.setText(self._tissue(needle))

    def _tissue(self, needle) -> str:
        if needle.depth_mm <= 0.0:
            return "on the skin"
        if needle.bone_contact:
            return f"on bone ({needle.bone_contact})"
        tissue = str(self.model.scene.tissue_at(needle.tip_mm[None])[0])
        return tissue.replace("_", " ")
