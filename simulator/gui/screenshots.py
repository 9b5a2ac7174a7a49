"""Screenshots of the window for the documentation: ``python -m simulator.gui.screenshots --out docs/images``
(needs a display; ``xvfb-run -a`` gives one).

- ``gui_trainee.png``: the default scenario in the trainee view after the textbook steps up to
  the needle on bone (AP, oblique, the needle placed by the textbook approach and advanced to
  bone, a pulsed run down the needle, a lateral);
- ``gui_lesion.png``: the same needle during its RF lesion, half computed: the progress bar and
  the temperature curves growing on the lesion's time axis;
- ``gui_debrief.png``: the textbook plan's session in the debrief view at its lesion, the
  anatomy revealed (bone, nerves with the target in red, the needle and the lesion).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

__all__ = ["take_screenshots"]


def _settle(app, rounds: int = 30) -> None:
    for _ in range(rounds):
        app.processEvents()


def take_screenshots(out: str | Path) -> list[Path]:
    from simulator.commands import Advance, Shot, Tick
    from simulator.gui.app import create_window
    from simulator.plan import expand, load_plan, run_plan
    from simulator.scenario import library_folder

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="rhizosim-shots-"))
    app, window = create_window(sessions=str(folder), offer_resume=False, seed=1)
    model = window.model
    for step in ("verify_patient_and_level", "prone_positioning", "sterile_preparation", "skin_local_anaesthetic"):
        model.run(Tick(step=step))
    for action in ({"do": "carm", "view": "ap", "level": "L5"}, {"do": "shot"},
                   {"do": "carm", "view": "oblique", "level": "L5", "side": "right", "oblique_deg": 20.0}, {"do": "shot"},
                   {"do": "insert", "needle": "needle 1", "device": "rf_18g_150mm_10mm", "approach": "medial_branch_L4_right"}):
        for command in expand(model.session, action):
            model.run(command)
    while model.state.needles["needle 1"].bone_contact is None:
        model.run(Advance(needle="needle 1", distance_mm=2.0))
    for action in ({"do": "carm", "view": "lateral", "level": "L5", "side": "right"},):
        for command in expand(model.session, action):
            model.run(command)
    model.run(Shot(mode="pulsed", duration_s=1.0))
    for command in expand(model.session, {"do": "carm", "view": "oblique", "level": "L5", "side": "right",
                                          "oblique_deg": 20.0}):
        model.run(command)
    model.run(Shot())
    _settle(app)
    paths = [out / "gui_trainee.png"]
    window.grab().save(str(paths[0]))

    paths.append(out / "gui_lesion.png")
    _grab_mid_lesion(app, window, paths[-1])

    recorded = folder / "textbook.jsonl"
    run_plan(load_plan(library_folder() / "plans" / "l4_medial_branch_right_rf.toml"), recorded)
    window.open_debrief(recorded)
    lesion_at = next(i + 1 for i, r in enumerate(model.loaded.records) if r["command"]["do"] == "ablate")
    window.replay_bar.slider.setValue(lesion_at)
    window.monitor.strip.setCurrentRow(window.monitor.strip.count() - 1)
    _settle(app)
    paths.append(out / "gui_debrief.png")
    window.grab().save(str(paths[-1]))
    window.close()
    return paths


def _grab_mid_lesion(app, window, path: Path) -> None:
    """Start a lesion with the panel's settings and grab the window at the first report past half way."""
    from PyQt6.QtCore import QEventLoop

    model, loop, grabbed = window.model, QEventLoop(), []

    def on_progress(report) -> None:
        if report.fraction >= 0.5 and not grabbed:
            grabbed.append(window.grab())  # paints synchronously: the panel has already taken this report

    model.lesionProgress.connect(on_progress)
    model.lesionFinished.connect(lambda facts: loop.quit())
    window.ablation_panel.start.click()
    loop.exec()
    model.lesionProgress.disconnect(on_progress)
    if not grabbed:
        raise RuntimeError("the lesion finished without a report past half way")
    grabbed[0].save(str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/images", help="folder for the PNGs (default %(default)s)")
    for path in take_screenshots(parser.parse_args().out):
        print(path)


if __name__ == "__main__":
    main()
