"""The command line turns user errors into one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import damaged_copy

RHIZOSIM = Path(sys.executable).with_name("rhizosim")


def _run(*arguments: str) -> subprocess.CompletedProcess:
    assert RHIZOSIM.exists(), f"console script not installed next to {sys.executable}"
    return subprocess.run([str(RHIZOSIM), *arguments], capture_output=True, text=True, timeout=300)


def _assert_one_line_error(result: subprocess.CompletedProcess, *needles: str) -> str:
    assert result.returncode == 2, f"exit {result.returncode}; stderr: {result.stderr}"
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}: {result.stderr}"
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    return lines[0]


def test_build_with_fat_thickness_out_of_range_exits_2_with_one_line(tmp_path):
    out = tmp_path / "x"
    result = _run("anatomy", "build", "--fat-thickness-mm", "200", "--out", str(out))
    _assert_one_line_error(result, "fat_thickness_mm", "5 to 80 mm")
    assert not out.exists(), "nothing may be written for rejected parameters"


@pytest.mark.parametrize("corruption", ["truncated_ply", "truncated_ply_checksum_updated", "corrupt_fields_npz",
                                        "corrupt_fields_npz_checksum_updated", "manifest_not_json", "missing_mesh"])
def test_info_on_a_damaged_folder_exits_2_naming_the_file(tmp_path, corruption):
    folder, name = damaged_copy(tmp_path, corruption)
    _assert_one_line_error(_run("anatomy", "info", str(folder)), name)


def test_info_on_a_missing_folder_exits_2(tmp_path):
    _assert_one_line_error(_run("anatomy", "info", str(tmp_path / "nowhere")), "nowhere")


def test_needle_command_places_the_textbook_needle_and_reports_in_json():
    import json

    result = _run("needle", "medial_branch_L4_right", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["verdict"] == "on target" and report["bone_contact"] == "L5 transverse process"
    assert report["approach"]["landmark"] == "sap_tp_junction_L5_right"
    assert 0.0 < report["active_to_target_mm"] <= 2.0 and report["angle_deg"] <= 20.0
    assert report["sensory_50hz"]["concordant"] and report["sensory_50hz"]["threshold_v"] <= 0.5
    assert report["motor_2hz_2v"]["responses"] == ["multifidus twitch"]
    assert [t["structure"] for t in report["tissues"]][:2] == ["skin", "subcutaneous_fat"]


@pytest.mark.parametrize("arguments, needles", [
    (("needle", "medial_branch_L4_rigth"), ("medial_branch_L4_right",)),
    (("needle", "root_L4_left"), ("target_id", "dorsal_ramus_L5_<side>")),
    (("needle", "medial_branch_L4_right", "--device", "rf_18g_99mm"), ("rf_18g_99mm", "did you mean")),
    (("needle", "medial_branch_L4_right", "--caudal-deg", "95"), ("caudal_deg", "0 to 80 deg")),
])
def test_needle_command_rejects_bad_input_in_one_line(arguments, needles):
    _assert_one_line_error(_run(*arguments), *needles)


def test_run_writes_the_session_its_score_and_a_self_contained_report(tmp_path):
    import base64
    import json
    import re

    session = tmp_path / "s.jsonl"
    result = _run("run", "scenarios/plans/l4_medial_branch_right_rf.toml", "--session", str(session), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["score"]["passed"] and summary["score"]["percent"] == 100.0
    assert json.loads((tmp_path / "s.score.json").read_text()) == summary["score"]
    html = (tmp_path / "s.report.html").read_text()
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    # The last shot of each of the 4 views, the lesion in 3D and its curve: all embedded PNGs.
    assert len(images) == 6 and all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert html.count("<tr><td>") >= 15 + len(summary["score"]["criteria"])  # criteria and timeline rows
    assert "PASS" in html and "medial_branch_L4_right" in html
    assert not re.findall(r'(?:src|href)="(?!data:)', html)  # nothing fetched from elsewhere
    again = _run("run", "scenarios/plans/l4_medial_branch_right_rf.toml", "--session", str(session))
    _assert_one_line_error(again, "s.jsonl", "never overwritten")


def test_score_grades_a_cohort_in_parallel_with_a_csv(tmp_path):
    import csv
    import json
    import shutil

    first = tmp_path / "a.jsonl"
    assert _run("run", "scenarios/plans/l2_medial_branch_right_rf.toml", "--session", str(first), "--no-report").returncode == 0
    cohort = [first] + [shutil.copy(first, tmp_path / f"copy_{i}.jsonl") for i in range(5)]
    broken = tmp_path / "broken.jsonl"
    broken.write_text("not a session\n")
    result = _run("score", *map(str, cohort), str(broken), "--workers", "2", "--csv", str(tmp_path / "cohort.csv"), "--json")
    assert result.returncode == 2  # one session could not be read
    results = json.loads(result.stdout)
    assert [r.get("score", {}).get("passed") for r in results] == [True] * 6 + [None]
    assert "broken.jsonl" in results[-1]["error"] and "line 1" in results[-1]["error"]
    assert "6/7" in result.stderr or "7/7" in result.stderr  # the progress bar
    rows = list(csv.DictReader((tmp_path / "cohort.csv").open()))
    assert len(rows) == 7 and rows[0]["passed"] == "True" and float(rows[0]["percent"]) == 100.0
    assert rows[-1]["error"].startswith(str(broken))
    verified = json.loads(_run("score", str(first), "--verify", "--json").stdout)
    assert verified["replay_identical"] is True


def test_scenario_commands():
    import json

    listed = json.loads(_run("scenario", "list", "--json").stdout)
    assert len(listed) >= 8 and {"id", "title", "difficulty", "modality", "targets", "file"} <= set(listed[0])
    shown = json.loads(_run("scenario", "show", "l5_dorsal_ramus_left_rf", "--json").stdout)
    assert shown["procedure"]["targets"] == ["dorsal_ramus_L5_left"] and len(shown["sha256"]) == 64
    schema = json.loads(_run("scenario", "schema").stdout)
    assert "procedure" in schema["properties"]
    _assert_one_line_error(_run("scenario", "show", "l5_dorsal_ramus_lfet_rf"), "no scenario with id", "l5_dorsal_ramus_left_rf")


def test_scenario_validate_names_the_file_and_field(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(Path("scenarios/l4_medial_branch_right_rf.toml").read_text().replace('modality = "rf"', 'modality = "laser"'))
    result = _run("scenario", "validate", "scenarios/l2_medial_branch_right_rf.toml", str(bad))
    assert result.returncode == 2
    assert "l2_medial_branch_right_rf.toml: valid" in result.stdout
    assert f"{bad}: procedure.modality: Input should be 'rf', 'cryo' or 'chemical' (got 'laser')" in result.stdout
