"""C-arm controls: presets (AP, oblique, lateral, down the needle), angles, pan, and the pedal."""

from __future__ import annotations

from PyQt6.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
                             QPushButton, QVBoxLayout)

from simulator.errors import SimulatorError
from simulator.gui import intents
from simulator.gui.widgets.layout import row

__all__ = ["CArmPanel", "PAN_STEP_MM"]

#: One press of a pan button moves the isocentre this far (mm).
PAN_STEP_MM = 10.0


def _spin(low: float, high: float, value: float, suffix: str, step: float = 1.0, name: str = "") -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setDecimals(1)
    box.setSingleStep(step)
    box.setValue(value)
    box.setSuffix(suffix)
    box.setObjectName(name)
    return box


class CArmPanel(QGroupBox):
    def __init__(self, model, parent=None) -> None:
        super().__init__("C-arm", parent)
        self.model = model
        self.level = QComboBox()
        self.level.addItems(intents.LEVELS)
        self.level.setCurrentText("L5")
        self.side = QComboBox()
        self.side.addItems(["right", "left"])
        self.oblique_deg = _spin(0.0, 60.0, 20.0, " °", name="presetObliqueDeg")
        presets = QGridLayout()
        self.preset_buttons = {}
        for column, (view, text) in enumerate((("ap", "AP"), ("oblique", "Oblique"), ("lateral", "Lateral"),
                                                ("trajectory", "Down needle"))):
            button = QPushButton(text)
            button.setObjectName(f"preset_{view}")
            button.setToolTip({"ap": "true AP: the level's superior endplate squared",
                               "oblique": "the squared AP turned towards the side",
                               "lateral": "detector on the side", "trajectory": "the beam along the current needle"}[view])
            button.clicked.connect(lambda _=False, v=view: self._preset(v))
            presets.addWidget(button, 0, column)
            self.preset_buttons[view] = button
        form = QFormLayout()
        form.addRow(row("level", self.level, "side", self.side, self.oblique_deg))
        form.addRow(presets)
        self.oblique_left = _spin(-110.0, 110.0, 0.0, " °", name="obliqueLeftDeg")
        self.oblique_left.setToolTip("orbit: + detector to the patient's left, − to the right")
        self.tilt_cranial = _spin(-60.0, 60.0, 0.0, " °", name="tiltCranialDeg")
        self.tilt_cranial.setToolTip("tilt: + detector to the head (cranial), − to the feet (caudal)")
        self.apply = QPushButton("Move")
        self.apply.setObjectName("carmMove")
        self.apply.clicked.connect(self._move)
        form.addRow(row("oblique L+", self.oblique_left, "tilt cran+", self.tilt_cranial, self.apply))
        pan = QHBoxLayout()
        pan.addWidget(QLabel("pan"))
        for text, left, cranial, tip in (("◀ R", -PAN_STEP_MM, 0.0, "towards the patient's right"),
                                         ("L ▶", PAN_STEP_MM, 0.0, "towards the patient's left"),
                                         ("▲ head", 0.0, PAN_STEP_MM, "towards the head"),
                                         ("▼ feet", 0.0, -PAN_STEP_MM, "towards the feet")):
            button = QPushButton(text)
            button.setToolTip(f"move the isocentre {PAN_STEP_MM:g} mm {tip}")
            button.clicked.connect(lambda _=False, x=left, z=cranial: self._run(lambda: intents.carm_pan(
                self.model.state, left_mm=x, cranial_mm=z)))
            pan.addWidget(button)
        form.addRow(pan)
        self.pedal = QPushButton("Shot  (Space / F; hold for a run)")
        self.pedal.setObjectName("shotButton")
        self.pedal.pressed.connect(lambda: self.model.pedal_down(self.run_mode.currentText()))
        self.pedal.released.connect(self.model.pedal_up)
        self.run_mode = QComboBox()
        self.run_mode.setObjectName("runMode")
        self.run_mode.addItems(["pulsed", "continuous"])
        self.run_mode.setToolTip("what holding the pedal gives: pulsed (8 pulses/s) or continuous fluoroscopy")
        pedal = QHBoxLayout()
        pedal.addWidget(self.pedal, 1)
        pedal.addWidget(self.run_mode)
        form.addRow(pedal)
        self.pose_label = QLabel("")
        self.pose_label.setObjectName("carmPose")
        form.addRow(self.pose_label)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        model.stateChanged.connect(self.refresh)
        model.sessionChanged.connect(self._levels_of_patient)
        model.sessionChanged.connect(self.refresh)
        model.busyChanged.connect(lambda _busy: self.refresh())

    def _levels_of_patient(self) -> None:
        """Offer the lumbar levels this patient has (an imported one may lack some), L5 first
        chosen when present, else its lowest."""
        scene = self.model.scene
        if scene is None:
            return
        present = scene.layout.lumbar_levels if scene.layout is not None else ()
        levels = [level for level in intents.LEVELS if level in present]
        if levels == [self.level.itemText(i) for i in range(self.level.count())]:
            return
        self.level.clear()
        self.level.addItems(levels)
        if levels:
            self.level.setCurrentText("L5" if "L5" in levels else levels[-1])

    def _preset(self, view: str) -> None:
        self._run(lambda: intents.carm_view(self.model.session, view, level=self.level.currentText(),
                                            side=self.side.currentText(), oblique_deg=self.oblique_deg.value(),
                                            needle=self.model.current_needle))

    def _move(self) -> None:
        self._run(lambda: intents.carm_angles(self.model.state, self.oblique_left.value(), self.tilt_cranial.value()))

    def _run(self, make) -> None:
        if self.model.session is None or self.model.state is None:
            return
        try:
            command = make()
        except (SimulatorError, ValueError) as error:
            self.model.errorRaised.emit(str(error))
            return
        self.model.run(command)

    def refresh(self) -> None:
        from simulator.procedure import current_pose

        m = self.model
        self.setEnabled(m.live and not m.busy)
        if m.state is None:
            return
        pose = current_pose(m.state)
        self.oblique_left.setValue(pose.oblique_left_deg)
        self.tilt_cranial.setValue(pose.tilt_cranial_deg)
        iso = pose.isocenter_mm
        self.pose_label.setText(f"{pose.describe()} · isocentre ({iso[0]:.0f}, {iso[1]:.0f}, {iso[2]:.0f}) mm")
