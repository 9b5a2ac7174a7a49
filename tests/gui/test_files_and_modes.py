"""Files (a bad scenario gets a readable dialog; an unfinished session is offered for resuming),
the trainee and instructor views, and the debrief replay on the timeline."""

from __future__ import annotations

import pytest
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QFileDialog, QMessageBox

from tests.gui.helpers import click, log_commands, tap, toolbar_button

pytestmark = pytest.mark.gui


def _dialog(window, name: str):
    return next((w for w in window.findChildren(QMessageBox) if w.objectName() == name and w.isVisible()), None)


def test_a_bad_scenario_file_gets_a_readable_dialog(qtbot, make_window, tmp_path, monkeypatch):
    bad = tmp_path / "bad.toml"
    bad.write_text('schema_version = 1\n[meta]\nid = "x"\n[procedure]\nmodality = "laser"\ntargets = []\n')
    window = make_window(str(bad))  # rhizosim gui bad.toml
    qtbot.waitUntil(lambda: _dialog(window, "errorDialog") is not None)
    box = _dialog(window, "errorDialog")
    assert "bad.toml" in box.text() and "Traceback" not in box.text()
    click(qtbot, box.button(QMessageBox.StandardButton.Ok))
    qtbot.waitUntil(lambda: _dialog(window, "errorDialog") is None)
    assert window.model.session is None and window.windowTitle() == "Rhizosim"

    # The same file through File > Open scenario file…, then a good one from the library.
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(bad), "")))
    window.open_file_action.trigger()
    qtbot.waitUntil(lambda: _dialog(window, "errorDialog") is not None)
    assert "meta.title: Field required" in _dialog(window, "errorDialog").text()
    _dialog(window, "errorDialog").close()
    window.open_action.trigger()
    from simulator.gui.widgets.dialogs import ScenarioDialog

    qtbot.waitUntil(lambda: window.findChild(ScenarioDialog) is not None and window.findChild(ScenarioDialog).isVisible())
    dialog = window.findChild(ScenarioDialog)
    items = [dialog.list.item(i) for i in range(dialog.list.count())]
    chosen = next(i for i in items if i.data(Qt.ItemDataRole.UserRole) == "l5_dorsal_ramus_left_rf")
    dialog.list.scrollToItem(chosen)
    qtbot.mouseClick(dialog.list.viewport(), Qt.MouseButton.LeftButton, pos=dialog.list.visualItemRect(chosen).center())
    assert dialog.list.currentItem() is chosen
    click(qtbot, dialog.open_button)
    qtbot.waitUntil(lambda: window.model.scenario is not None)
    assert window.model.scenario.meta.id == "l5_dorsal_ramus_left_rf" and window.model.live


def test_an_unfinished_session_is_offered_at_start_and_goes_on(qtbot, make_window, sessions):
    first = make_window()
    click(qtbot, first.checklist_panel.boxes["verify_patient_and_level"])
    tap(qtbot, first.monitor.image, Qt.Key.Key_F)
    path = first.model.session_path
    first.close()  # as after a crash: no End command
    window = make_window(startup=False)
    window.startup(None, offer_resume=True)
    qtbot.waitUntil(lambda: _dialog(window, "resumeDialog") is not None)
    box = _dialog(window, "resumeDialog")
    assert path.name in box.text()
    click(qtbot, box.findChild(type(box.buttons()[0]), "resumeButton"))
    qtbot.waitUntil(lambda: window.model.session is not None)
    model = window.model
    assert model.session_path == path and model.state.dose["shots"] == 1 and "verify_patient_and_level" in model.state.ticks
    assert window.monitor.strip.count() == 1, "the shots taken before are back on the strip"
    assert window.checklist_panel.boxes["verify_patient_and_level"].isChecked()
    t_before = model.state.time_s
    click(qtbot, window.checklist_panel.boxes["prone_positioning"])
    commands = log_commands(path)
    assert [c["do"] for c in commands] == ["tick", "shot", "tick"], "the resumed session goes on in the same file"
    assert model.state.ticks["prone_positioning"] >= t_before, "the clock goes on, never back"


def test_trainee_view_hides_the_spine_instructor_view_reveals_it(qtbot, window):
    actors = window.patient_view.actors
    assert not actors.anatomy_visible and actors.skin.GetProperty().GetOpacity() == 1.0
    click(qtbot, toolbar_button(window, window.instructor_action))
    assert window.model.view_mode == "instructor"
    assert actors.anatomy_visible and actors.skin.GetProperty().GetOpacity() < 0.5
    assert "instructor view" in window.windowTitle()
    click(qtbot, toolbar_button(window, window.trainee_action))
    assert not actors.anatomy_visible and actors.skin.GetProperty().GetOpacity() == 1.0


def test_debrief_replays_a_recorded_session_on_the_timeline(qtbot, make_window, sessions, monkeypatch):
    from simulator.plan import load_plan, run_plan
    from simulator.scenario import library_folder

    recorded = sessions / "plan.jsonl"
    run_plan(load_plan(library_folder() / "plans" / "l4_medial_branch_right_rf.toml"), recorded)
    window = make_window()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(recorded), "")))
    window.debrief_action.trigger()
    qtbot.waitUntil(lambda: window.model.loaded is not None)
    model, bar = window.model, window.replay_bar
    assert bar.isVisible() and bar.slider.maximum() == model.record_count
    assert model.view_mode == "instructor" and window.patient_view.actors.anatomy_visible
    assert model.state.ended and model.lesion_meshes, "at the end: the lesion is shown"
    assert not window.needle_panel.isEnabled(), "nothing can be done in a recorded session"
    bar.slider.setFocus()
    qtbot.keyClick(bar.slider, Qt.Key.Key_Home)
    assert model.replay_index == 0 and not model.state.needles and window.monitor.image.view is None
    shots_at = [i + 1 for i, r in enumerate(model.loaded.records) if r["command"]["do"] == "shot"]
    while bar.slider.value() < shots_at[0]:
        qtbot.keyClick(bar.slider, Qt.Key.Key_Right)
    assert window.monitor.image.view is not None and window.monitor.strip.count() == 1
    insert_at = next(i + 1 for i, r in enumerate(model.loaded.records) if r["command"]["do"] == "insert")
    while bar.slider.value() < insert_at:
        qtbot.keyClick(bar.slider, Qt.Key.Key_Right)
    assert "needle 1" in model.state.needles and model.state.needles["needle 1"].depth_mm == 0.0
    assert "insert" not in bar.label.text() and f"{insert_at} of" in bar.label.text()
    qtbot.keyClick(bar.slider, Qt.Key.Key_End)
    for _ in range(3):
        qtbot.keyClick(bar.slider, Qt.Key.Key_Left)
    assert not model.state.ended
    click(qtbot, bar.play)
    qtbot.waitUntil(lambda: not bar.play.isChecked(), timeout=30000)
    assert bar.slider.value() == bar.slider.maximum() and model.state.ended


def test_a_new_patient_is_prepared_off_the_gui_thread_behind_a_busy_dialog(qtbot, make_window, monkeypatch, tmp_path):
    """Opening a scenario, and debriefing a session, whose patient was never generated here."""
    from PyQt6.QtCore import QTimer

    from simulator.anatomy.cache import CACHE_ENVIRONMENT_VARIABLE, is_prepared
    from simulator.scenario import find_scenario

    scenario = find_scenario("obese_l4_medial_branch_right_rf")
    window = make_window(startup=False)
    seen = []  # on each tick of the GUI thread: was the busy dialog up?
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: seen.append(window.preparing is not None and window.preparing.isVisible()))
    heartbeat.start(50)

    monkeypatch.setenv(CACHE_ENVIRONMENT_VARIABLE, str(tmp_path / "first"))  # nothing generated yet
    assert not is_prepared(scenario.patient.parameters())
    assert window.open_scenario("obese_l4_medial_branch_right_rf")
    assert sum(seen) >= 20, "the GUI thread kept running (a second or more of ticks) behind the dialog"
    assert window.preparing is None and is_prepared(scenario.patient.parameters())
    assert window.model.scenario.meta.id == "obese_l4_medial_branch_right_rf" and window.model.live
    assert window.model.context.scene.parameters.fat_thickness_mm == 45.0
    click(qtbot, window.checklist_panel.boxes["verify_patient_and_level"])
    recorded = window.model.session_path

    seen.clear()
    monkeypatch.setenv(CACHE_ENVIRONMENT_VARIABLE, str(tmp_path / "second"))  # as on an instructor's machine
    other = make_window(startup=False)
    heartbeat.timeout.connect(lambda: seen.append(other.preparing is not None and other.preparing.isVisible()))
    assert other.open_debrief(recorded)
    heartbeat.stop()
    assert sum(seen) >= 20 and other.preparing is None
    assert other.model.loaded is not None and other.model.context.scene.parameters.fat_thickness_mm == 45.0
