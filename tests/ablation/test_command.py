"""``rhizosim lesion``: figures, JSON, pictures and one-line errors (no traceback)."""

from __future__ import annotations

import json

import pytest

from simulator.cli import main


def test_rf_block_lesion_prints_its_figures(capsys):
    assert main(["lesion", "--modality", "rf", "--gauge", "18", "--tip-mm", "10", "--temp-c", "80", "--time-s", "90",
                 "--tissue", "muscle", "--ex-vivo"]) == 0
    out = capsys.readouterr().out
    assert "18 G 100 mm RF cannula, 10 mm active tip" in out
    assert "volume" in out and "mm³" in out and "ex vivo" in out


def test_json_gives_sizes_in_mm_and_the_time_taken(capsys, tmp_path):
    picture = tmp_path / "cryo.png"
    assert main(["lesion", "--modality", "cryo", "--time-s", "60", "--cycles", "1", "--json", "--out", str(picture)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["modality"] == "cryo" and info["device"] == "cryo_14g_100mm"
    assert info["volume_mm3"] > 0 and 0 < info["width_mm"] < info["zones"]["ice_ball_0c"]["width_mm"]
    assert info["time_taken_s"] > 0 and info["grid"]["spacing_mm"] == 0.75
    assert picture.stat().st_size > 10_000 and info["pictures"] == [str(picture)]


def test_lesion_at_a_textbook_needle_in_the_patient(capsys, tmp_path):
    picture = tmp_path / "rf.png"
    assert main(["lesion", "--target", "medial_branch_L4_right", "--json", "--out", str(picture)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["site"] == "scene" and info["target"] == "medial_branch_L4_right"
    assert info["target_length_mm"] >= 4.0 and "touches bone" in info["placement"]
    assert (tmp_path / "rf_3d.png").stat().st_size > 10_000


@pytest.mark.parametrize("argv, words", [
    (["--temp-c", "120"], ["--temp-c", "60 to 90 °C"]),
    (["--time-s", "-5"], ["--time-s", "10 to 600 s"]),
    (["--modality", "chemical", "--agent", "phenol", "--volume-ml", "10"], ["--volume-ml", "0.1 to 3 mL of phenol"]),
    (["--modality", "cryo", "--temp-c", "-120"], ["--temp-c", "-89 to -40 °C"]),
    (["--gauge", "19"], ["unknown device", "rf_18g_100mm_10mm"]),
    (["--tissue", "steel"], ["unknown tissue"]),
])
def test_bad_input_is_one_line_naming_the_option_and_range(capsys, argv, words):
    assert main(["lesion", *argv]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and len(captured.err.strip().splitlines()) == 1
    for word in words:
        assert word in captured.err
