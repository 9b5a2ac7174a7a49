"""The parts of simulator.gui without Qt (sessions folder, gestures as commands, a recorded
session walked through), and the boundary: the core never imports the GUI, and these parts
import no Qt. No display needed."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simulator.commands import Insert, MoveCArm, Tick
from simulator.gui import intents
from simulator.gui.sessions import new_session_path, sessions_folder, unfinished_sessions

ROOT = Path(__file__).resolve().parents[2]


def test_the_core_never_imports_the_gui():
    offenders = []
    for path in (ROOT / "simulator").rglob("*.py"):
        if "gui" in path.relative_to(ROOT / "simulator").parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                allowed = path.name == "cli.py" and name == "simulator.gui"  # the gui command, imported lazily
                if (name.startswith("simulator.gui") or name.split(".")[0] in ("PyQt6", "pyvistaqt")) and not allowed:
                    offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []


def test_the_gui_parts_without_qt_import_no_qt():
    code = ("import json, sys; import simulator.gui, simulator.gui.sessions, simulator.gui.intents, simulator.gui.replay;"
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('PyQt6', 'pyvistaqt'))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_sessions_folder_option_env_default(tmp_path, monkeypatch):
    monkeypatch.delenv("RHIZOSIM_SESSIONS", raising=False)
    assert sessions_folder() == Path.home() / ".local" / "share" / "rhizosim" / "sessions"
    monkeypatch.setenv("RHIZOSIM_SESSIONS", str(tmp_path / "env"))
    assert sessions_folder() == tmp_path / "env"
    assert sessions_folder(tmp_path / "option") == tmp_path / "option"


def test_a_new_session_never_overwrites(tmp_path):
    first = new_session_path(tmp_path, "case", when=0.0)
    first.write_text("x")
    second = new_session_path(tmp_path, "case", when=0.0)
    assert first.name.startswith("case-") and first.suffix == ".jsonl" and second != first and second.stem.endswith("-2")


def test_unfinished_sessions_are_those_without_end(tmp_path):
    from simulator.commands import End
    from simulator.scenario import find_scenario
    from simulator.session import Session

    scenario = find_scenario("l4_medial_branch_right_rf")
    with Session.start(scenario, tmp_path / "ended.jsonl") as s:
        s.run(Tick(step="prone_positioning"), 1.0)
        s.run(End(), 2.0)
    with Session.start(scenario, tmp_path / "cut.jsonl") as s:
        s.run(Tick(step="prone_positioning"), 1.0)
    with Session.start(scenario, tmp_path / "empty.jsonl"):
        pass
    (tmp_path / "junk.jsonl").write_text("not a session\n")
    found = unfinished_sessions(tmp_path)
    assert [u.path.name for u in found] == ["cut.jsonl"]
    assert found[0].records == 1 and found[0].scenario_title == scenario.meta.title
    assert unfinished_sessions(tmp_path / "missing") == []


def test_gestures_become_canonical_commands(default_scene, tmp_path):
    from simulator.needle import aim_direction
    from simulator.scenario import find_scenario
    from simulator.session import Session

    scenario = find_scenario("l4_medial_branch_right_rf")
    with Session.start(scenario, tmp_path / "s.jsonl", scene=default_scene) as session:
        state = session.state
        ap = intents.carm_view(session, "ap", level="L5")
        oblique = intents.carm_view(session, "oblique", level="L5", side="right", oblique_deg=20.0)
        assert isinstance(ap, MoveCArm) and oblique.oblique_left_deg == pytest.approx(ap.oblique_left_deg - 20.0)
        assert oblique.tilt_cranial_deg == pytest.approx(ap.tilt_cranial_deg)
        lateral = intents.carm_view(session, "lateral", side="right")
        assert lateral.oblique_left_deg == -90.0
        with pytest.raises(ValueError, match="needle"):
            intents.carm_view(session, "trajectory")
        panned = intents.carm_pan(state, left_mm=10.0, cranial_mm=-5.0)
        assert np.allclose(np.subtract(panned.isocenter_mm, state.carm["isocenter_mm"]), [10.0, 0.0, -5.0])
        entry = default_scene.landmark("sap_tp_junction_L5_right") + [0.0, 60.0, -40.0]
        beam = intents.needle_direction(default_scene, state, entry)
        assert np.allclose(beam, [0.0, -1.0, 0.0], atol=1e-9), "AP beam: the needle goes straight anterior"
        by_angles = intents.needle_direction(default_scene, state, entry, aim="angles", approach_caudal_deg=55.0,
                                             medial_deg=10.0, frame_level="L5")
        expected = aim_direction(entry, 55.0, 10.0, frame=default_scene.layout.poses["L5"].rotation)
        assert np.allclose(by_angles, expected)
        with pytest.raises(ValueError, match="frame_level"):
            intents.needle_direction(default_scene, state, entry, aim="angles", frame_level="L9")
        command = intents.insert_at("needle 1", "rf_18g_150mm_10mm", entry, by_angles)
        assert isinstance(command, Insert) and session.run(command, 1.0).events[0].kind == "skin_entry"


def test_lesion_fields_follow_the_scenarios_limits():
    from simulator.scenario import find_scenario

    rf = {f.name: f for f in intents.setting_fields(find_scenario("l4_medial_branch_right_rf"))}
    assert (rf["set_temperature_c"].minimum, rf["set_temperature_c"].maximum) == (60.0, 90.0)
    assert (rf["duration_s"].minimum, rf["duration_s"].maximum, rf["duration_s"].default) == (60.0, 180.0, 90.0)
    assert rf["repeats"].kind == "int" and rf["repeats"].maximum == 3
    cryo = [f.name for f in intents.setting_fields(find_scenario("l4_medial_branch_left_cryo"))]
    assert cryo == ["freeze_s", "thaw_s", "cycle_count", "probe_temperature_c"]
    chemical = {f.name: f for f in intents.setting_fields(find_scenario("l3_medial_branch_right_chemical"))}
    assert chemical["agent"].kind == "choice" and chemical["agent"].default in chemical["agent"].choices
    assert intents.lesion_settings("rf", {"set_temperature_c": 80.0, "duration_s": 90.0, "repeats": 2.0}) == \
        {"set_temperature_c": 80.0, "duration_s": 90.0, "repeats": 2}


def test_a_recorded_session_walked_through(tmp_path):
    from simulator.gui.replay import start_state, state_after, walk
    from simulator.scenario import find_scenario
    from simulator.session import Session, load_session

    scenario = find_scenario("l4_medial_branch_right_rf")
    with Session.start(scenario, tmp_path / "s.jsonl") as s:
        start_carm = dict(s.state.carm)
        s.run(Tick(step="prone_positioning"), 1.0)
        s.run(MoveCArm(oblique_left_deg=-20.0, tilt_cranial_deg=5.0, isocenter_mm=(0.0, 0.0, -80.0)), 2.0)
        final = s.state
    loaded = load_session(tmp_path / "s.jsonl")
    assert dict(start_state(loaded).carm) == start_carm
    steps = list(walk(loaded))
    assert [n for n, _, _ in steps] == [0, 1] and "prone_positioning" in steps[1][2].ticks
    assert state_after(loaded, 2).to_dict() == final.to_dict() and state_after(loaded, 0).ticks == {}


def test_rhizosim_gui_without_a_display_is_a_clear_error(monkeypatch, capsys):
    from simulator.cli import main

    for variable in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(variable, raising=False)
    assert main(["gui"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("rhizosim: error:") and ("no display" in error or "pip install" in error)
    assert "Traceback" not in error


@pytest.mark.parametrize("modality", ["rf", "chemical"])
def test_the_live_curve_is_the_logged_curve_in_the_same_order(modality):
    """What the panel draws while a lesion is computed (its progress reports) is what it draws
    from the log afterwards: same curves, same order (so same colours), same values at the
    record times, even when the log's keys were sorted."""
    from simulator.ablation import (ChemicalSettings, RFSettings, TissueBlock, block_needle, chemical_lesion,
                                    rf_lesion)
    from simulator.gui.render.curves import lesion_series, progress_series
    from simulator.lesions import _time_course

    reports = []
    keep = lambda report: reports.append(report) or True  # noqa: E731
    block = TissueBlock("muscle", perfused=False)
    if modality == "rf":
        result = rf_lesion(block, block_needle("rf_22g_100mm_5mm"), RFSettings(80.0, 20.0), spacing_mm=1.0,
                           progress=keep)
        first, unit = "electrode_c", "°C"
    else:
        result = chemical_lesion(block, block_needle("spinal_22g_89mm"), ChemicalSettings("phenol", 0.3, 6.0, 300.0),
                                 spacing_mm=1.0, progress=keep)
        first, unit = "tip_pct", "%"
    logged = lesion_series(json.loads(json.dumps({"time_course": _time_course(result)}, sort_keys=True)))
    live = progress_series(reports)
    assert [s.name for s in live] == [s.name for s in logged] and live[0].name == first
    assert {s.unit for s in live} == {unit}
    compared = 0
    for live_curve, logged_curve in zip(live, logged):
        for t, v in zip(logged_curve.time_s, logged_curve.values):
            at = [lv for lt, lv in zip(live_curve.time_s, live_curve.values) if lt == pytest.approx(t)]
            if at and v is not None:
                assert at[0] == pytest.approx(v, rel=1e-9)
                compared += 1
    assert compared >= 10
