"""Driving the window as a user would: clicks, keys, the wheel."""

from __future__ import annotations

from PyQt6.QtCore import QPoint, QPointF, Qt
from PyQt6.QtGui import QWheelEvent
from PyQt6.QtWidgets import QApplication


def click(qtbot, widget) -> None:
    """Click a widget where a user would: a check box or radio button on its box, others in the middle."""
    from PyQt6.QtWidgets import QCheckBox, QRadioButton

    if isinstance(widget, (QCheckBox, QRadioButton)):
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=QPoint(8, widget.height() // 2))
    else:
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def tap(qtbot, widget, key) -> None:
    qtbot.keyPress(widget, key)
    qtbot.keyRelease(widget, key)


def type_value(qtbot, spin, text: str) -> None:
    """Select a spin box's text and type a new value, then Enter."""
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, text)
    qtbot.keyClick(spin, Qt.Key.Key_Return)


def toolbar_button(window, action):
    from PyQt6.QtWidgets import QToolBar

    return window.findChild(QToolBar, "procedureToolbar").widgetForAction(action)


def wheel(widget, notches: int) -> None:
    """Turn the mouse wheel over ``widget`` (one notch = 120)."""
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0), QPoint(0, 120 * notches),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def log_commands(path) -> list[dict]:
    from simulator.session import load_session

    return [r["command"] for r in load_session(path).records]


def log_event_kinds(path) -> list[str]:
    from simulator.session import load_session

    return [e["kind"] for r in load_session(path).records for e in r["events"]]
