"""The session log: an append-only JSON Lines file that survives crashes.

Line 1 is a header (what was run: the format and schema version, the scenario and its hash,
the random seed, the software version); every further line is one record (one command and what
it did). Each line is written whole, then flushed and synced to the disk before
:meth:`SessionLog.append` returns: a record that was acknowledged is on the disk.

A process killed mid-write (power loss, ``kill -9``) leaves at most the last line torn.
:func:`read_log` keeps every complete record and reports the torn tail as a warning;
:meth:`SessionLog.resume` cuts the tail off and goes on appending. A broken line anywhere else
is not a crash but damage, and is an error naming the line.

Examples
--------
>>> log = SessionLog.create(tmp / "s.jsonl", {"scenario": "l4_mb_right_rf"})     # doctest: +SKIP
>>> log.append({"t_s": 0.0, "command": {"do": "note", "text": "start"}})           # doctest: +SKIP
1
>>> read_log(tmp / "s.jsonl").records[0]["command"]["do"]                         # doctest: +SKIP
'note'
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from simulator._files import read_bytes
from simulator.errors import FileFormatError

__all__ = ["SessionLog", "LogContents", "read_log", "FORMAT_NAME", "FORMAT_VERSION"]

FORMAT_NAME = "rhizosim-session"
FORMAT_VERSION = 1
#: Longest line read (bytes): a longer one is damage, not a record.
MAX_LINE_BYTES = 4_000_000
#: Largest log read (bytes).
MAX_LOG_BYTES = 2_000_000_000


@dataclass
class LogContents:
    """What a log holds: the header, the complete records in order, and warnings (a torn tail)."""

    path: Path
    header: dict
    records: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Byte length of the complete part (where a resumed log goes on writing).
    complete_bytes: int = 0


def _dumps(value: dict) -> bytes:
    # Sorted keys and no spaces: the same record is always the same bytes.
    return (json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False) + "\n").encode()


def read_log(path: str | Path) -> LogContents:
    """Read a session log. Damage raises :class:`FileFormatError` naming the line; a torn last
    line (the process died while writing it) is dropped with a warning."""
    path = Path(path)
    data = read_bytes(path, "session log", MAX_LOG_BYTES)
    lines = data.split(b"\n")
    complete, tail = lines[:-1], lines[-1]  # the text after the last newline: empty, or torn
    contents = LogContents(path, {})
    offset = 0
    for number, raw in enumerate(complete, start=1):
        value = _parse_line(path, number, raw, last=False)
        if number == 1:
            _check_header(path, value)
            contents.header = value
        else:
            contents.records.append(value)
        offset += len(raw) + 1
    contents.complete_bytes = offset
    if tail:
        number = len(complete) + 1
        try:
            value = _parse_line(path, number, tail, last=True)
        except FileFormatError:
            value = None
        contents.warnings.append(f"{path}: line {number} is incomplete ({len(tail)} bytes, the process stopped while "
                                 f"writing it){'' if value is None else ' though it parses'}: it was dropped")
    if not complete:
        raise FileFormatError(path, "has no complete header line: not a session log (or it was cut before its first line)")
    return contents


def _parse_line(path: Path, number: int, raw: bytes, last: bool) -> dict:
    if len(raw) > MAX_LINE_BYTES:
        raise FileFormatError(path, f"{len(raw):,} bytes in one line", f"line {number}", f"up to {MAX_LINE_BYTES:,}")
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        reason = error.msg if isinstance(error, json.JSONDecodeError) else type(error).__name__
        raise FileFormatError(path, f"is not a JSON record ({reason})", f"line {number}",
                              None if last else "one JSON object per line") from None
    if not isinstance(value, dict):
        raise FileFormatError(path, f"is a JSON {type(value).__name__}, not an object", f"line {number}")
    return value


def _check_header(path: Path, header: dict) -> None:
    if header.get("format") != FORMAT_NAME:
        raise FileFormatError(path, f"is not a Rhizosim session log (format {header.get('format')!r})", "line 1",
                              f"format {FORMAT_NAME!r}")
    version = header.get("format_version")
    if version != FORMAT_VERSION:
        raise FileFormatError(path, f"format version {version!r} is not supported", "line 1", str(FORMAT_VERSION))


class SessionLog:
    """An open log that records are appended to (:meth:`create` or :meth:`resume`)."""

    def __init__(self, path: Path, handle, records: int) -> None:
        self.path = path
        self._handle = handle
        self.records = records

    @classmethod
    def create(cls, path: str | Path, header: dict) -> "SessionLog":
        """Start a new log (an existing file is never overwritten)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            handle = open(path, "xb")
        except FileExistsError:
            raise FileFormatError(path, "exists already: a session log is never overwritten",
                                  allowed="a new file name, or resume the existing session") from None
        log = cls(path, handle, 0)
        log._write({"format": FORMAT_NAME, "format_version": FORMAT_VERSION, **header})
        return log

    @classmethod
    def resume(cls, path: str | Path) -> tuple["SessionLog", LogContents]:
        """Reopen a log to go on recording: a torn last line is cut off (and reported)."""
        contents = read_log(path)
        handle = open(contents.path, "r+b")
        handle.truncate(contents.complete_bytes)
        handle.seek(contents.complete_bytes)
        os.fsync(handle.fileno())
        return cls(contents.path, handle, len(contents.records)), contents

    def append(self, record: dict) -> int:
        """Write one record, flushed and synced; returns its number (1 for the first record)."""
        self._write(record)
        self.records += 1
        return self.records

    def _write(self, value: dict) -> None:
        self._handle.write(_dumps(value))
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> "SessionLog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
