"""The external 3D view: the patient's back, the needle hubs and the C-arm (pyvistaqt).

With "Pick entry" on, a click on the skin sets the entry point of the next needle (a drag
still turns the camera). What is drawn is decided by
:class:`~simulator.gui.render.patient_scene.PatientSceneActors` from the model's state and
view mode.
"""

from __future__ import annotations

from PyQt6.QtCore import QEvent, QPoint, Qt, QTimer
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

__all__ = ["PatientView"]

#: A press and release closer than this (pixels) is a click, not a camera drag.
CLICK_TOLERANCE_PX = 4
#: The 3D view is redrawn this long after the state changed (ms), once for a burst of changes.
REDRAW_DELAY_MS = 30


class PatientView(QWidget):
    def __init__(self, model, parent=None) -> None:
        super().__init__(parent)
        from pyvistaqt import QtInteractor

        self.model = model
        self.actors = None
        self.interactor = QtInteractor(self)
        self.interactor.setObjectName("patientInteractor")
        self.interactor.enable_trackball_style()
        self.interactor.interactor.installEventFilter(self)
        self.pick_button = QPushButton("Pick entry on the skin", self)
        self.pick_button.setObjectName("pickEntry")
        self.pick_button.setCheckable(True)
        self.pick_button.setToolTip("Then click on the patient's back where the needle should enter")
        self.reset_button = QPushButton("Reset view", self)
        self.reset_button.clicked.connect(lambda: self.actors and (self.actors.reset_camera(), self.interactor.render()))
        self.hint = QLabel("", self)
        bar = QHBoxLayout()
        bar.addWidget(self.pick_button)
        bar.addWidget(self.reset_button)
        bar.addWidget(self.hint, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.interactor, 1)
        self._press: QPoint | None = None
        # Redraws are coalesced and come after the fluoroscopy image (the monitor paints first).
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(REDRAW_DELAY_MS)
        self._redraw.timeout.connect(self.refresh)
        model.sessionChanged.connect(self._on_session)
        model.stateChanged.connect(self._redraw.start)
        model.selectionChanged.connect(self._redraw.start)
        model.modeChanged.connect(self._on_mode)

    def _on_session(self) -> None:
        from simulator.gui.render.patient_scene import PatientSceneActors

        if self.model.scene is None:
            return
        if self.actors is None or self.actors.scene is not self.model.scene \
                or self.actors.targets != tuple(self.model.scenario.procedure.targets):
            self.interactor.clear()
            self.actors = PatientSceneActors(self.interactor, self.model.scene, self.model.scenario.procedure.targets)
        self.actors.set_mode(self.model.view_mode)
        self.pick_button.setEnabled(self.model.live)
        self.refresh()

    def _on_mode(self, mode: str) -> None:
        if self.actors is not None:
            self.actors.set_mode(mode)
            self.refresh()

    def refresh(self) -> None:
        if self.actors is None:
            return
        m = self.model
        self.pick_button.setEnabled(m.live)
        self.actors.update(m.state, current_needle=m.current_needle, entry_mm=m.entry_mm, lesion_meshes=m.lesion_meshes)
        if m.entry_mm is not None:
            self.hint.setText("entry at ({:.0f}, {:.0f}, {:.0f}) mm".format(*m.entry_mm))
        else:
            self.hint.setText("drag: turn the view; wheel: zoom")

    def eventFilter(self, watched, event) -> bool:
        kind = event.type()
        if kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position().toPoint()
        elif kind == QEvent.Type.MouseButtonRelease and event.button() == Qt.MouseButton.LeftButton:
            press, self._press = self._press, None
            where = event.position().toPoint()
            if self.pick_button.isChecked() and press is not None \
                    and (where - press).manhattanLength() <= CLICK_TOLERANCE_PX:
                self._pick(where)
        return False

    def _pick(self, where: QPoint) -> None:
        if self.actors is None:
            return
        ratio = self.interactor.interactor.devicePixelRatioF()
        height = self.interactor.interactor.height()
        point = self.actors.pick_skin(where.x() * ratio, (height - where.y() - 1) * ratio)
        if point is None:
            self.hint.setText("that is not the skin: click on the patient's back")
            return
        self.model.pick_entry(point)
        self.pick_button.setChecked(False)

    def widget_position(self, point_mm) -> QPoint:
        """Where ``point_mm`` (patient mm) is on the interactor widget (Qt pixels, origin top left)."""
        x, y = self.actors.display_position(point_mm)
        ratio = self.interactor.interactor.devicePixelRatioF()
        return QPoint(round(x / ratio), round(self.interactor.interactor.height() - 1 - y / ratio))

    def close_view(self) -> None:
        self.interactor.close()
