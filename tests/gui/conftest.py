"""GUI tests: pytest-qt under a display (``make test`` runs them under ``xvfb-run``).

Tests marked ``gui`` are skipped, with the reason, where PyQt6 or pyvistaqt is missing or no
display exists. The modules of ``simulator.gui`` without Qt (sessions, intents, replay) are
tested here without a display.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

_MISSING = [name for name in ("PyQt6", "pyvistaqt", "pytestqt") if importlib.util.find_spec(name) is None]
_DISPLAY = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def pytest_collection_modifyitems(config, items):
    reason = None
    if _MISSING:
        reason = f"GUI test: {', '.join(_MISSING)} not installed (pip install -e '.[gui,test]')"
    elif not _DISPLAY:
        reason = "GUI test: no display (DISPLAY is not set); run under xvfb-run, as make test does"
    if reason is None:
        return
    for item in items:
        if item.get_closest_marker("gui"):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def sessions(tmp_path):
    folder = tmp_path / "sessions"
    folder.mkdir()
    return folder


@pytest.fixture
def make_window(qtbot, sessions):
    """A shown main window over a fresh model writing to a temporary sessions folder."""
    from simulator.gui.model import ProcedureModel
    from simulator.gui.window import MainWindow

    made = []

    def make(scenario: str | None = None, *, startup: bool = True, offer_resume: bool = False):
        window = MainWindow(ProcedureModel(sessions, seed=1))
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        if startup:
            window.startup(scenario, offer_resume=offer_resume)
        made.append(window)
        return window

    yield make
    for window in made:
        window.close()


@pytest.fixture
def window(make_window):
    """The window on the default scenario (what ``rhizosim gui`` opens)."""
    return make_window()
