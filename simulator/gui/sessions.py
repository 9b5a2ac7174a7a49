"""Where the GUI keeps its sessions, and which of them were cut off (no Qt here).

A session the GUI records is a JSON Lines file (:mod:`simulator.session_log`) in the sessions
folder: ``$RHIZOSIM_SESSIONS`` if set, else ``~/.local/share/rhizosim/sessions``; the
``--sessions`` option of ``rhizosim gui`` overrides both. A session whose final state is not
``ended`` (no End command was applied) was cut off, by a crash or by closing the window: the
next start offers to resume the newest such session.

Examples
--------
>>> sessions_folder("/tmp/s").name
's'
>>> new_session_path("/tmp/s", "l4_mb_right_rf", when=0.0).name      # doctest: +SKIP
'l4_mb_right_rf-19700101-000000.jsonl'
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from simulator.errors import SimulatorError

__all__ = ["sessions_folder", "new_session_path", "unfinished_sessions", "Unfinished", "SESSIONS_ENV"]

#: Environment variable naming the sessions folder.
SESSIONS_ENV = "RHIZOSIM_SESSIONS"


def sessions_folder(folder: str | Path | None = None) -> Path:
    """The sessions folder: ``folder`` if given, else ``$RHIZOSIM_SESSIONS``, else
    ``~/.local/share/rhizosim/sessions`` (not created here)."""
    if folder is not None:
        return Path(folder).expanduser()
    if os.environ.get(SESSIONS_ENV):
        return Path(os.environ[SESSIONS_ENV]).expanduser()
    return Path.home() / ".local" / "share" / "rhizosim" / "sessions"


def new_session_path(folder: str | Path, scenario_id: str, *, when: float | None = None) -> Path:
    """A new file name in ``folder`` for a session of ``scenario_id`` started at ``when``
    (seconds since the epoch, default now): ``<id>-<YYYYmmdd-HHMMSS>.jsonl``, with ``-2``, ``-3``
    … added rather than overwrite a session."""
    folder = Path(folder)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if when is None else when))
    candidate = folder / f"{scenario_id}-{stamp}.jsonl"
    number = 1
    while candidate.exists():
        number += 1
        candidate = folder / f"{scenario_id}-{stamp}-{number}.jsonl"
    return candidate


@dataclass(frozen=True)
class Unfinished:
    """A session that was cut off: its file, scenario title, commands recorded and last time (s)."""

    path: Path
    scenario_title: str
    records: int
    time_s: float


def unfinished_sessions(folder: str | Path) -> list[Unfinished]:
    """The sessions in ``folder`` that did not end (no End command) and recorded at least one
    command, newest file first. Files that cannot be read as sessions are left out (a torn last
    line is not a reason: it is cut when the session is resumed)."""
    from simulator.session import load_session

    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            loaded = load_session(path)
        except (SimulatorError, OSError):
            continue
        if not loaded.state.ended and loaded.records:
            found.append(Unfinished(path, loaded.scenario.meta.title, len(loaded.records), loaded.state.time_s))
    return found
