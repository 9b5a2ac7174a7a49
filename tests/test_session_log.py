"""The session log keeps every acknowledged record through crashes (simulator/session_log.py)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.errors import FileFormatError
from simulator.session_log import FORMAT_NAME, SessionLog, read_log

RECORDS = [{"t_s": float(i), "command": {"do": "note", "text": f"step {i} – ünïcode"}, "events": [{"kind": "note"}]}
           for i in range(12)]


def _written(tmp_path, records=RECORDS):
    path = tmp_path / "session.jsonl"
    with SessionLog.create(path, {"scenario": "x", "seed": 7}) as log:
        numbers = [log.append(r) for r in records]
    assert numbers == list(range(1, len(records) + 1))
    return path


def test_records_come_back_in_order_with_the_header(tmp_path):
    contents = read_log(_written(tmp_path))
    assert contents.header["format"] == FORMAT_NAME and contents.header["seed"] == 7
    assert contents.records == RECORDS and contents.warnings == []


def test_a_log_is_never_overwritten(tmp_path):
    path = _written(tmp_path)
    with pytest.raises(FileFormatError, match="never overwritten"):
        SessionLog.create(path, {})


@settings(max_examples=60, deadline=None)
@given(cut=st.integers(min_value=0, max_value=10_000))
def test_a_log_cut_anywhere_keeps_every_complete_record(tmp_path_factory, cut):
    """Truncate the file at a random byte: every record whose line (and newline) survived is
    read back, a partial last line is a warning, nothing raises past the header."""
    path = _written(tmp_path_factory.mktemp("log"))
    data = path.read_bytes()
    cut = cut % (len(data) + 1)
    path.write_bytes(data[:cut])
    header_end = data.index(b"\n") + 1
    if cut < header_end:
        with pytest.raises(FileFormatError, match="header"):
            read_log(path)
        return
    contents = read_log(path)
    whole_lines = data[:cut].count(b"\n") - 1
    assert contents.records == RECORDS[:whole_lines]
    torn = not data[:cut].endswith(b"\n")
    assert bool(contents.warnings) == torn
    if torn:
        assert f"line {whole_lines + 2} is incomplete" in contents.warnings[0]


def test_resume_cuts_the_torn_tail_and_goes_on(tmp_path):
    path = _written(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:-15])  # the last record is torn
    log, contents = SessionLog.resume(path)
    assert len(contents.records) == len(RECORDS) - 1 and contents.warnings
    assert log.append({"t_s": 99.0, "command": {"do": "note", "text": "after the crash"}}) == len(RECORDS)
    log.close()
    again = read_log(path)
    assert again.warnings == [] and again.records[-1]["t_s"] == 99.0 and again.records[:-1] == RECORDS[:-1]


@pytest.mark.parametrize("damage, message", [
    (lambda d: d.replace(b'"t_s":3.0', b'"t_s":3.0,,', 1), "line 5: is not a JSON record"),
    (lambda d: d.replace(b"rhizosim-session", b"other-format", 1), "not a Rhizosim session log"),
    (lambda d: d.replace(b'"format_version":1', b'"format_version":9', 1), "format version 9"),
    (lambda d: b"[1, 2]\n" + d, "line 1: is a JSON list"),
    (lambda d: b"", "no complete header line"),
])
def test_damage_in_the_middle_is_an_error_naming_the_line(tmp_path, damage, message):
    path = _written(tmp_path)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(FileFormatError, match=message):
        read_log(path)


def test_missing_and_folder_logs_are_clear_errors(tmp_path):
    with pytest.raises(FileFormatError, match="no such session log"):
        read_log(tmp_path / "nowhere.jsonl")
    with pytest.raises(FileFormatError, match="is a folder"):
        read_log(tmp_path)


def test_lines_are_canonical_json(tmp_path):
    path = _written(tmp_path, RECORDS[:1])
    line = path.read_bytes().split(b"\n")[1]
    assert line == json.dumps(RECORDS[0], sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
