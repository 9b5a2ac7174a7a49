"""The desktop GUI (PyQt6 and pyvistaqt): the only part of Rhizosim that imports Qt.

It drives the core and never the reverse: every user action becomes a command applied with
:meth:`simulator.session.Session.run`, so the session log records it as it happens. The
pieces:

- :mod:`~simulator.gui.model`: :class:`~simulator.gui.model.ProcedureModel`, the session with
  Qt signals, the pedal, the lesion worker thread, the debrief timeline;
- :mod:`~simulator.gui.intents`, :mod:`~simulator.gui.sessions`, :mod:`~simulator.gui.replay`:
  gestures as canonical commands, the sessions folder, a recorded session walked through (no Qt);
- :mod:`~simulator.gui.render`: state-to-view adapters (images, actors, curves);
- :mod:`~simulator.gui.widgets` and :mod:`~simulator.gui.window`: the window's parts.

Start it with ``rhizosim gui [SCENARIO]`` or :func:`run`.
"""

__all__ = ["run", "display_available"]


def display_available() -> bool:
    """Whether a window can be shown here: an X or Wayland display is set (or Qt was told
    which platform to use)."""
    import os

    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM"))


def run(scenario: str | None = None, *, sessions: str | None = None, debrief: str | None = None, seed: int = 0,
        instructor: bool = False) -> int:
    """Open the window (``scenario``: a library id or a file; ``debrief``: a session to replay)
    and run until it is closed; returns the exit code."""
    from simulator.gui.app import run_app

    return run_app(scenario, sessions=sessions, debrief=debrief, seed=seed, instructor=instructor)
