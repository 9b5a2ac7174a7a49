"""The application: a QApplication, the model and the window (``rhizosim gui``)."""

from __future__ import annotations

import sys

__all__ = ["run_app", "create_window"]


def create_window(scenario: str | None = None, *, sessions: str | None = None, debrief: str | None = None, seed: int = 0,
                  instructor: bool = False, offer_resume: bool = True):
    """The QApplication (made if there is none) and a shown :class:`~simulator.gui.window.MainWindow`
    that has opened ``scenario`` (or offers to resume) or the session ``debrief``."""
    from PyQt6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Rhizosim")
    from simulator.gui.model import ProcedureModel
    from simulator.gui.window import MainWindow

    window = MainWindow(ProcedureModel(sessions, seed=seed))
    window.show()
    if debrief:
        window.open_debrief(debrief)
    else:
        window.startup(scenario, offer_resume=offer_resume)
        if instructor:
            window.instructor_action.trigger()
    return app, window


def run_app(scenario: str | None = None, *, sessions: str | None = None, debrief: str | None = None, seed: int = 0,
            instructor: bool = False) -> int:
    app, window = create_window(scenario, sessions=sessions, debrief=debrief, seed=seed, instructor=instructor)
    return app.exec()
