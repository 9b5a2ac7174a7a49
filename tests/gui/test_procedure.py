"""A whole procedure driven through the window as a trainee would, then found in the session
log and the score: open the default scenario, tick the checklist, take shots, pick the entry on
the skin, aim, advance to bone with the keys, stimulate, inject, ablate, end."""

from __future__ import annotations

import pytest
from PyQt6.QtCore import Qt

from tests.gui.helpers import click, log_commands, log_event_kinds, tap, toolbar_button, type_value

pytestmark = pytest.mark.gui

TARGET = "medial_branch_L4_right"


def _insert_textbook_needle(qtbot, window):
    """Pick the textbook entry point on the skin with the mouse, aim 55° caudal and 10° medial
    against the L5 endplate, insert."""
    from simulator.approach import textbook_approach

    view, panel = window.patient_view, window.needle_panel
    entry = textbook_approach(TARGET).entry_mm(window.model.scene)
    click(qtbot, view.pick_button)
    assert view.pick_button.isChecked()
    qtbot.mouseClick(view.interactor, Qt.MouseButton.LeftButton, pos=view.widget_position(entry))
    qtbot.waitUntil(lambda: window.model.entry_mm is not None)
    assert float(((window.model.entry_mm - entry) ** 2).sum()) ** 0.5 < 3.0, "the click landed on the skin at the point"
    panel.aim.setCurrentIndex(panel.aim.findData("angles"))
    type_value(qtbot, panel.caudal, "55")
    type_value(qtbot, panel.medial, "10")
    panel.frame.setCurrentIndex(panel.frame.findData("L5"))
    assert panel.insert.isEnabled()
    click(qtbot, panel.insert)
    qtbot.waitUntil(lambda: "needle 1" in window.model.state.needles)


def test_a_whole_procedure_by_mouse_and_keys(qtbot, window):
    model = window.model
    path = model.session_path
    assert path.exists() and model.scenario.meta.id == "l4_medial_branch_right_rf"
    for box in window.checklist_panel.boxes.values():
        if "confirm" in box.objectName() or "record" in box.objectName():
            continue
        click(qtbot, box)
    assert len(model.state.ticks) == 4

    # A true AP of L5, a shot with the F key, an oblique, a shot with Space.
    click(qtbot, window.carm_panel.preset_buttons["ap"])
    with qtbot.waitSignal(window.monitor.image.frameShown, timeout=10000):
        tap(qtbot, window.monitor.image, Qt.Key.Key_F)
    click(qtbot, window.carm_panel.preset_buttons["oblique"])
    with qtbot.waitSignal(window.monitor.image.frameShown, timeout=10000):
        tap(qtbot, window.monitor.image, Qt.Key.Key_Space)
    assert model.state.dose["shots"] == 2 and window.monitor.strip.count() == 2
    assert "oblique" in window.monitor.image.view.pose
    assert window.status.shots.text().startswith("shots 2/")

    _insert_textbook_needle(qtbot, window)
    depth = window.needle_panel.depth
    for _ in range(160):  # 1 mm a press until bone stops it
        tap(qtbot, window.monitor.image, Qt.Key.Key_Up)
        if model.state.needles["needle 1"].bone_contact:
            break
    needle = model.state.needles["needle 1"]
    assert needle.bone_contact is not None, "the needle reached bone"
    assert "BONE" in window.needle_panel.contact.text() and "transverse process" in window.needle_panel.contact.text()
    assert depth.text().startswith(f"{needle.depth_mm:.1f} mm")
    before = needle.depth_mm
    tap(qtbot, window.monitor.image, Qt.Key.Key_Up)  # felt as a stop: it does not go deeper
    assert model.state.needles["needle 1"].depth_mm == before
    assert window.needle_panel.tissue.text().startswith("on bone")
    tap(qtbot, window.monitor.image, Qt.Key.Key_Down)  # withdraw 1 mm, then back onto the bone
    assert model.state.needles["needle 1"].depth_mm == pytest.approx(before - 1.0)
    tap(qtbot, window.monitor.image, Qt.Key.Key_W)
    assert model.state.needles["needle 1"].bone_contact is not None

    # Lateral check, tick it, test, anaesthetise.
    click(qtbot, window.carm_panel.preset_buttons["lateral"])
    with qtbot.waitSignal(window.monitor.image.frameShown, timeout=10000):
        tap(qtbot, window.monitor.image, Qt.Key.Key_F)
    click(qtbot, window.checklist_panel.boxes["confirm_position_two_views"])
    click(qtbot, window.stimulation_panel.sensory)
    assert window.stimulation_panel.answer.text().startswith("50 Hz: at ")
    click(qtbot, window.stimulation_panel.motor)
    assert window.stimulation_panel.answer.text().startswith("2 Hz: ")
    click(qtbot, window.stimulation_panel.inject)

    # The lesion runs off the GUI thread; the panel shows progress, then the curve.
    from PyQt6.QtCore import QTimer

    panel = window.ablation_panel
    ticks, progress = [], []
    heartbeat = QTimer()  # the GUI thread's event loop keeps running while the lesion is computed
    heartbeat.timeout.connect(lambda: ticks.append(model.busy))
    heartbeat.start(5)
    live_points = []  # points of the electrode curve on screen at each report: the curve grows as it is computed
    model.lesionProgress.connect(lambda report: (progress.append(report.fraction),
                                                 live_points.append(len(panel.curve.series[0].values))))
    with qtbot.waitSignal(model.lesionFinished, timeout=120000) as finished:
        click(qtbot, panel.start)
        assert model.busy and not window.needle_panel.isEnabled(), "other commands wait for the lesion"
        curve_box = panel.curve.visibleRegion().boundingRect()
        assert curve_box.height() == panel.curve.height(), "the live curve is scrolled into view"
        tap(qtbot, window.monitor.image, Qt.Key.Key_Down)
        assert "wait until the lesion is finished" in window.event_log.item(window.event_log.count() - 1).text()
    heartbeat.stop()
    assert finished.args[0] is not None
    assert ticks.count(True) >= 2, "the window stayed responsive during the lesion"
    assert len(progress) > 1 and progress == sorted(progress)
    assert live_points == list(range(1, len(progress) + 1)) and panel.curve.span_s is None
    assert panel.progress.value() == 100 and panel.result.text().startswith("lesion made")
    assert panel.curve.series and panel.curve.series[0].name == "electrode_c"
    click(qtbot, window.checklist_panel.boxes["record_parameters"])

    # End: the score appears, the HTML report is written in its own process.
    click(qtbot, toolbar_button(window, window.end_action))
    qtbot.waitUntil(lambda: window.score_dialog is not None and window.score_dialog.isVisible())
    dialog = window.score_dialog
    assert dialog.table.rowCount() == len(dialog.report.criteria)
    with qtbot.waitSignal(dialog.reportWritten, timeout=180000):
        pass
    assert dialog.open_report.isEnabled() and dialog.report_path.exists()

    # Everything is in the session log, as it happened, and in the score.
    commands = [c["do"] for c in log_commands(path)]
    for kind in ("tick", "carm", "shot", "insert", "advance", "withdraw", "stimulate", "inject", "ablate", "end"):
        assert kind in commands, kind
    assert commands[-1] == "end" and commands.count("shot") == 3
    kinds = log_event_kinds(path)
    assert "bone_contact" in kinds and "sensory_test" in kinds and "lesion" in kinds and "end" in kinds
    report = dialog.report
    assert report.criterion("pre_procedure_steps").passed
    assert report.criterion("level_and_side").passed, report.criterion("level_and_side").feedback
    assert report.criterion("fluoroscopy_shots").value == 3
    assert any(c.id == "tip_to_target" and c.value is not None for c in report.criteria)
    assert not window.end_action.isEnabled() and not window.needle_panel.isEnabled()


def test_holding_the_pedal_is_one_logged_run_with_live_frames(qtbot, window):
    model = window.model
    qtbot.keyPress(window.monitor.image, Qt.Key.Key_F)
    qtbot.waitUntil(lambda: window.monitor.image.view is not None and window.monitor.image.view.live, timeout=10000)
    assert model.state.dose["shots"] == 0, "live frames are not logged one by one"
    with qtbot.waitSignal(window.monitor.image.frameShown, timeout=10000):
        qtbot.keyRelease(window.monitor.image, Qt.Key.Key_F)
    shots = [c for c in log_commands(model.session_path) if c["do"] == "shot"]
    assert len(shots) == 1 and shots[0]["mode"] == "pulsed" and shots[0]["duration_s"] >= 0.3
    assert model.state.dose["fluoro_time_s"] > 0.0 and not window.monitor.image.view.live
    assert window.status.fluoro.text().startswith(f"fluoro {model.state.dose['fluoro_time_s']:.1f}/")


def test_the_wheel_and_the_fine_step(qtbot, window):
    from tests.gui.helpers import wheel

    _insert_textbook_needle(qtbot, window)
    click(qtbot, window.needle_panel.step_buttons[0.5])
    wheel(window.monitor.image, 1)
    wheel(window.monitor.image, 1)
    assert window.model.state.needles["needle 1"].depth_mm == pytest.approx(1.0)
    wheel(window.monitor.image, -1)
    assert window.model.state.needles["needle 1"].depth_mm == pytest.approx(0.5)
    assert [c["distance_mm"] for c in log_commands(window.model.session_path) if "distance_mm" in c] == [0.5, 0.5, 0.5]


def test_a_lesion_can_be_cancelled_and_nothing_is_recorded(qtbot, window):
    model = window.model
    _insert_textbook_needle(qtbot, window)
    for _ in range(30):  # the active tip well into the tissue: the lesion model runs (about 0.5 s)
        tap(qtbot, window.monitor.image, Qt.Key.Key_Up)
    assert model.state.needles["needle 1"].depth_mm > 20.0
    with qtbot.waitSignal(model.lesionFinished, timeout=120000) as finished:
        click(qtbot, window.ablation_panel.start)
        assert window.ablation_panel.cancel.isEnabled()
        click(qtbot, window.ablation_panel.cancel)
    assert finished.args == [None]
    assert "cancelled" in window.ablation_panel.result.text()
    assert "ablate" not in [c["do"] for c in log_commands(model.session_path)]
    assert not model.busy and window.needle_panel.isEnabled()
    assert "cancelled" in window.event_log.item(window.event_log.count() - 1).text()


def test_a_refused_action_is_a_message_not_a_crash(qtbot, window):
    """A pose the C-arm cannot take (it would hit the table) is told in words; nothing is logged."""
    panel = window.carm_panel
    type_value(qtbot, panel.tilt_cranial, "-60")
    type_value(qtbot, panel.oblique_left, "0")
    click(qtbot, panel.apply)
    assert window.event_log.kinds()[-1] == "error"
    assert "not reachable" in window.event_log.item(window.event_log.count() - 1).text()
    assert [c["do"] for c in log_commands(window.model.session_path)] == []
    tap(qtbot, window.monitor.image, Qt.Key.Key_Up)  # no needle yet
    assert "no needle" in window.event_log.item(window.event_log.count() - 1).text()
