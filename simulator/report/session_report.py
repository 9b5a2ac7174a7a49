"""The debriefing report of a session: one self-contained HTML file, and its pictures as PNGs.

It shows what an instructor goes through with a trainee: the score and each criterion with its
feedback, strengths and weaknesses, the last fluoroscopy shot of each view with the needles as
they were, each lesion in 3D with its target nerve and needle, the lesion's temperature (or
concentration) curve, the dose, and the timeline of events. The pictures are made again from
the session's facts (the shots and lesions are deterministic), so a report can be written for
any recorded session.

Examples
--------
>>> write_report(load_session("s1.jsonl"), score_report, scene, "out/s1.report.html")   # doctest: +SKIP
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simulator.commands import parse_command
from simulator.procedure import Context, fold, take_shot
from simulator.scoring import ScoreReport
from simulator.session import LoadedSession, _initial

__all__ = ["write_report", "MAX_SHOTS_SHOWN"]

#: Fluoroscopy views shown: the last shot of each distinct C-arm pose, most recent first.
MAX_SHOTS_SHOWN = 4


@dataclass
class _Picture:
    path: Path
    caption: str


def _pose_key(carm: dict) -> tuple:
    return (round(carm["oblique_left_deg"], 1), round(carm["tilt_cranial_deg"], 1))


def _pictures(loaded: LoadedSession, scene, folder: Path) -> tuple[list[_Picture], list[tuple[_Picture, _Picture]]]:
    """Walk the session: the last shot of each view, and each lesion's 3D picture and curve."""
    from simulator.lesions import make_lesion
    from simulator.report.fluoro_views import caption_for, save_shot

    context = Context.create(scene, loaded.scenario, loaded.seed)
    state = _initial(loaded.scenario, scene, loaded.header)
    last_shot: dict[tuple, tuple] = {}
    lesions = []
    for record in loaded.records:
        command = parse_command(record["command"])
        if command.do == "shot":
            last_shot[_pose_key(state.carm)] = (record["t_s"], state, command)
        elif command.do == "ablate":
            lesions.append((record, state.needle(command.needle), command))
        state = fold(state, record["facts"], record["t_s"])
    shots = []
    recent = sorted(last_shot.values(), key=lambda item: -item[0])[:MAX_SHOTS_SHOWN]
    for index, (t_s, before, command) in enumerate(recent):
        shot = take_shot(context, before, command)
        needles = ", ".join(sorted(before.needles)) or "no needle"
        caption = f"{shot.projection.pose.describe()} at {t_s / 60:.1f} min ({needles})"
        shots.append(_Picture(save_shot(shot, folder / f"shot_{index + 1}.png", caption=caption_for(shot, needles)), caption))
    pictures = []
    for index, (record, needle, command) in enumerate(lesions):
        facts = record["facts"]["lesion"]
        _, target, result = make_lesion(context, needle, command.settings)
        view = _lesion_view(scene, needle, target, result, folder / f"lesion_{index + 1}.png")
        curve = _curve(facts, folder / f"lesion_{index + 1}_curve.png")
        text = (f"{needle.label} at {facts['t_s'] / 60:.1f} min: {facts['volume_mm3']:.0f} mm³, "
                f"{facts['targets'][target]['length_mm']:.1f} mm of {target}")
        pictures.append((_Picture(view, text), _Picture(curve, f"{needle.label}: time course")))
    return shots, pictures


def _lesion_view(scene, needle, target: str, result, path: Path) -> Path:
    from simulator.report.needle_views import render_needle_at_target

    return render_needle_at_target(scene, needle, target, path, extra_meshes=[(result.mesh(), "tomato", 0.45)],
                                   extent_mm=30.0, size=(800, 700),
                                   title=f"lesion (red), {target} (magenta), {needle.label}")


def _curve(facts: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    course = facts["time_course"]
    time_s = np.asarray(course["time_s"], float)
    figure, axis = plt.subplots(figsize=(6.4, 3.2), dpi=100)
    for name, values in course["series"].items():
        unit = course["units"].get(name, "")
        if unit not in ("°C", "%"):
            continue
        axis.plot(time_s, [np.nan if v is None else v for v in values], label=name.replace("_", " "))
        axis.set_ylabel(unit)
    axis.set_xlabel("time, s")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, loc="best")
    axis.set_title(facts["report"].splitlines()[0], fontsize=9)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path


def _image(picture: _Picture) -> str:
    data = base64.b64encode(picture.path.read_bytes()).decode("ascii")
    return (f'<figure><img alt="{html.escape(picture.caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(picture.caption)}</figcaption></figure>")


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    return f"{value:.4g}{unit}" if unit in ("", "×", "°") else f"{value:.4g} {unit}"


_STYLE = """body{font-family:sans-serif;margin:2em;max-width:1100px;color:#222}h1{font-size:1.4em}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:4px 6px;font-size:0.9em;vertical-align:top}
th{background:#eee}.pass{color:#0a6b0a;font-weight:bold}.fail{color:#b00;font-weight:bold}.na{color:#888}
figure{display:inline-block;margin:0.5em;vertical-align:top}img{max-width:520px;border:1px solid #ccc}
figcaption{font-size:0.8em;color:#555;max-width:520px}.verdict{font-size:1.3em}"""


def write_report(loaded: LoadedSession, report: ScoreReport, scene, path: str | Path) -> Path:
    """Write the HTML report of ``loaded`` to ``path`` (its pictures in ``<path stem>_files/``)."""
    path = Path(path)
    folder = path.with_name(path.stem + "_files")
    folder.mkdir(parents=True, exist_ok=True)
    shots, lesions = _pictures(loaded, scene, folder)
    scenario, state = loaded.scenario, loaded.state
    verdict = "PASS" if report.passed else "FAIL"
    rows = []
    for c in report.criteria:
        status = "pass" if c.passed else ("na" if not c.applicable else "fail")
        label = {"pass": "pass", "fail": "fail", "na": "n/a"}[status]
        rows.append(f"<tr><td>{html.escape(c.title)}</td><td>{_value(c.value, c.unit)}</td>"
                    f"<td>{_value(c.threshold, c.unit)}</td><td>{c.points:.1f} / {c.weight:g}</td>"
                    f'<td class="{status}">{label}</td><td>{html.escape(c.feedback)}</td></tr>')
    timeline = []
    for record in loaded.records:
        for event in record["events"]:
            timeline.append(f"<tr><td>{record['t_s'] / 60:.1f}</td><td>{html.escape(event['kind'])}</td>"
                            f"<td>{html.escape(event['message'])}</td></tr>")
    dose = state.dose
    failed = (f"<p class='fail'>Required criteria failed: {', '.join(report.failed_required)}</p>"
              if report.failed_required else "")
    body = f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(scenario.meta.title)}: report</title>
<style>{_STYLE}</style></head><body>
<h1>{html.escape(scenario.meta.title)}</h1>
<p>Scenario <code>{html.escape(scenario.meta.id)}</code> v{html.escape(scenario.meta.version)} ·
session <code>{html.escape(loaded.path.name)}</code> · seed {loaded.seed} · {len(loaded.records)} actions ·
{state.time_s / 60:.1f} min</p>
<p class="verdict"><span class="{verdict.lower()}">{verdict}</span>: {report.percent:.1f} % (pass mark {report.pass_mark:g} %)</p>
{failed}
<h2>Criteria</h2><table><tr><th>criterion</th><th>value</th><th>threshold</th><th>points</th><th></th><th>feedback</th></tr>
{''.join(rows)}</table>
<h2>Strengths</h2><ul>{''.join(f'<li>{html.escape(s)}</li>' for s in report.strengths) or '<li>—</li>'}</ul>
<h2>To work on</h2><ul>{''.join(f'<li>{html.escape(s)}</li>' for s in report.weaknesses) or '<li>nothing</li>'}</ul>
<h2>Fluoroscopy</h2>
<p>{dose['shots']} shots, {dose['fluoro_time_s']:.1f} s, {dose['air_kerma_mgy']:.2f} mGy air kerma,
{dose['dap_gy_cm2']:.3f} Gy·cm² (budgets: {scenario.limits.shots_budget} shots, {scenario.limits.fluoro_time_budget_s:g} s,
{scenario.limits.dose_budget_mgy:g} mGy). The last shot of each view:</p>
{''.join(_image(p) for p in shots) or '<p>No shot was taken.</p>'}
<h2>Lesions</h2>
{''.join(_image(view) + _image(curve) for view, curve in lesions) or '<p>No lesion was made.</p>'}
<h2>Timeline</h2><table><tr><th>min</th><th>event</th><th>what happened</th></tr>{''.join(timeline)}</table>
</body></html>
"""
    path.write_text(body, encoding="utf-8")
    return path
