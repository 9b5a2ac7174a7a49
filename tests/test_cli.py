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
