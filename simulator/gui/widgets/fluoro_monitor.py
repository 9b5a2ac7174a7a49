"""The fluoroscopy monitor: the last image large, the earlier ones as a strip with their C-arm angles."""

from __future__ import annotations

import time

from PyQt6.QtCore import QSize, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap
from PyQt6.QtWidgets import QListWidget, QListWidgetItem, QSizePolicy, QVBoxLayout, QWidget

from simulator.gui.render.fluoro_image import to_qimage

__all__ = ["FluoroMonitor", "MonitorImage", "ShotStrip"]


class MonitorImage(QWidget):
    """The big image. The mouse wheel over it advances (up) or withdraws (down) the current
    needle by the model's step; ``frameShown`` is emitted once a new image has been painted."""

    frameShown = pyqtSignal(float)  # time.perf_counter() when painted

    def __init__(self, model, parent=None) -> None:
        super().__init__(parent)
        self.model = model
        self.view = None
        self._image = None
        self._painted = True
        self.setObjectName("fluoroImage")
        self.setMinimumSize(360, 360)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setToolTip("Fluoroscopy. Space/F: shot (hold for a run); Up/Down or the wheel: advance/withdraw")

    def show_view(self, view) -> None:
        self.view = view
        self._image = None if view is None else to_qimage(view.image)
        self._painted = False
        self.update()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("black"))
        if self._image is not None:
            side = min(self.width(), self.height())
            x, y = (self.width() - side) // 2, (self.height() - side) // 2
            painter.drawImage(self.rect().adjusted(x, y, -x, -y) if side else self.rect(), self._image)
            painter.setPen(QColor("#9fe29f"))
            painter.setFont(QFont("DejaVu Sans", 10))
            v = self.view
            status = "LIVE" if v.live else f"{v.mode}  {v.t_s / 60:.1f} min  (last image hold)"
            painter.drawText(x + 8, y + 18, v.pose)
            painter.drawText(x + 8, y + side - 10, status)
            if v.live:
                painter.setBrush(QColor("red"))
                painter.setPen(Qt.PenStyle.NoPen)
                painter.drawEllipse(x + side - 24, y + 8, 14, 14)
        else:
            painter.setPen(QColor("#888"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No image yet: press Space or F for a shot")
        painter.end()
        if not self._painted:
            self._painted = True
            self.frameShown.emit(time.perf_counter())

    def wheelEvent(self, event) -> None:
        notches = event.angleDelta().y() / 120.0
        if notches:
            self.model.step_needle(self.model.step_mm * (1 if notches > 0 else -1))
        event.accept()


class ShotStrip(QListWidget):
    """The earlier shots, newest last, each with its pose and time; a click shows one large."""

    THUMB = 96

    def __init__(self, model, parent=None) -> None:
        super().__init__(parent)
        self.model = model
        self.setObjectName("shotStrip")
        self.setViewMode(QListWidget.ViewMode.IconMode)
        self.setFlow(QListWidget.Flow.LeftToRight)
        self.setWrapping(False)
        self.setIconSize(QSize(self.THUMB, self.THUMB))
        self.setFixedHeight(self.THUMB + 58)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setMovement(QListWidget.Movement.Static)
        self.setSpacing(4)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def add_view(self, view) -> None:
        pixmap = QPixmap.fromImage(to_qimage(view.image)).scaled(self.THUMB, self.THUMB,
                                                                   Qt.AspectRatioMode.KeepAspectRatio,
                                                                   Qt.TransformationMode.SmoothTransformation)
        item = QListWidgetItem(QIcon(pixmap), f"{view.pose}\n{view.t_s / 60:.1f} min")
        item.setData(Qt.ItemDataRole.UserRole, self.count())
        item.setSizeHint(QSize(self.THUMB + 40, self.THUMB + 44))
        self.addItem(item)
        self.scrollToBottom()

    def show_views(self, views) -> None:
        self.clear()
        for view in views:
            self.add_view(view)


class FluoroMonitor(QWidget):
    """The monitor: :class:`MonitorImage` above a :class:`ShotStrip`."""

    def __init__(self, model, parent=None) -> None:
        super().__init__(parent)
        self.model = model
        self.image = MonitorImage(model, self)
        self.strip = ShotStrip(model, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.image, 1)
        layout.addWidget(self.strip)
        model.shotTaken.connect(self._on_shot)
        model.shotsReset.connect(self._on_reset)
        self.strip.itemClicked.connect(self._on_strip_click)

    def _on_shot(self, view) -> None:
        self.image.show_view(view)
        if not view.live:
            self.strip.add_view(view)

    def _on_reset(self) -> None:
        self.strip.show_views(self.model.shots)
        self.image.show_view(self.model.shots[-1] if self.model.shots else None)

    def _on_strip_click(self, item) -> None:
        index = item.data(Qt.ItemDataRole.UserRole)
        if index is not None and 0 <= index < len(self.model.shots):
            self.image.show_view(self.model.shots[index])
