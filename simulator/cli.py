"""Command line: ``rhizosim demo``, ``rhizosim anatomy build|info|compare-real``, ``rhizosim needle``,
``rhizosim fluoro``, ``rhizosim lesion``, ``rhizosim run``, ``rhizosim score``, ``rhizosim scenario``,
``rhizosim patient import``, ``rhizosim gui``.

A thin layer over the core: it parses arguments, calls the core, prints results. Any
:class:`~simulator.errors.SimulatorError` is printed as one line and the exit code is 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from simulator.errors import AssetError, SimulatorError

__all__ = ["main"]


def _add_parameter_options(parser: argparse.ArgumentParser) -> None:
    from simulator.anatomy.parameters import PARAMETER_RANGES, PatientParameters

    defaults = PatientParameters()
    for name, (low, high, unit, meaning) in PARAMETER_RANGES.items():
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=float, default=getattr(defaults, name),
                            help=f"{meaning} ({low:g} to {high:g}{' ' + unit if unit else ''}; default %(default)s)")


def _parameters_from(args: argparse.Namespace):
    from simulator.anatomy.parameters import PARAMETER_RANGES, PatientParameters

    return PatientParameters.from_dict({name: getattr(args, name) for name in PARAMETER_RANGES}, source="command line")


def inventory(scene) -> dict:
    """Machine-readable summary of a scene: counts, structures, key measurements."""
    from simulator.anatomy.measure import skin_depth_mm

    structures = [
        {"id": s.id, "kind": s.kind, "level": s.level, "side": s.side, "tissue": s.tissue, "role": s.role,
         "triangles": s.mesh.n_faces, "volume_mm3": round(s.mesh.volume_mm3(), 1)}
        for s in scene.anatomy.structures.values()
    ]
    depths = {f"medial_branch_{level}_{side}": round(skin_depth_mm(scene, f"sap_tp_junction_{lower}_{side}"), 1)
              for level, lower in (("L2", "L3"), ("L3", "L4"), ("L4", "L5")) for side in ("left", "right")
              if f"sap_tp_junction_{lower}_{side}" in scene.landmarks_mm and "body" in scene}
    return {
        "parameters": scene.parameters.to_dict(),
        "generator_version": scene.anatomy.generator_version,
        "structure_count": len(structures),
        "triangle_count": int(sum(s["triangles"] for s in structures)),
        "by_role": dict(Counter(s["role"] for s in structures)),
        "by_kind": dict(Counter(s["kind"] for s in structures)),
        "skin_to_target_depth_mm": depths,
        "structures": structures,
    }


def _print_inventory(info: dict, source: str) -> None:
    print(f"Patient: {source}")
    print("  parameters: " + ", ".join(f"{k}={v:g}" for k, v in info["parameters"].items()))
    print(f"  {info['structure_count']} structures, {info['triangle_count']:,} triangles")
    print("  by role: " + ", ".join(f"{k} {v}" for k, v in info["by_role"].items()))
    print(f"  {'id':28s} {'kind':14s} {'level':5s} {'side':5s} {'tissue':16s} {'role':12s} {'volume mm3':>11s}")
    for s in info["structures"]:
        print(f"  {s['id']:28s} {s['kind']:14s} {s['level'] or '-':5s} {s['side'] or '-':5s} {s['tissue']:16s} "
              f"{s['role']:12s} {s['volume_mm3']:11.0f}")
    print("  skin depth (straight posterior) to the SAP-TP junction targets, mm:")
    for name, depth in info["skin_to_target_depth_mm"].items():
        print(f"    {name:28s} {depth:6.1f}")


#: The scenario whose textbook plan the demo runs.
DEMO_SCENARIO = "l4_medial_branch_right_rf"


def _cmd_demo(args: argparse.Namespace) -> int:
    from simulator.report.anatomy_views import render_structures
    from simulator.scene import Scene

    start = time.perf_counter()
    scene = Scene.load(args.anatomy)
    loaded = time.perf_counter() - start
    info = inventory(scene)
    _print_inventory(info, str(args.anatomy or "default patient (assets/meshes/default)"))
    print(f"  loaded in {loaded:.2f} s")
    out = Path(args.out)
    structures = list(scene.anatomy.structures.values())
    pictures = [
        render_structures(structures, out / "patient_posterior_oblique.png", view="posterior_oblique",
                          title="Default patient: bone and nerves, posterior-oblique (from the left)"),
        render_structures(structures, out / "patient_lateral.png", view="lateral",
                          kinds=("vertebra", "sacrum", "disc", "dural_sac", "root", "ganglion", "ventral_ramus",
                                 "dorsal_ramus", "medial_branch", "artery", "vein"),
                          title="Default patient: lateral view from the right"),
    ]
    picture, needle = _demo_needle(scene, out / "needle_at_l4_medial_branch.png")
    pictures.append(picture)
    pictures += _demo_fluoro(scene, needle, out)
    (out / "inventory.json").write_text(json.dumps(info, indent=1) + "\n")
    print("Pictures:")
    for picture in pictures:
        print(f"  {picture}")
    print(f"  {out / 'inventory.json'}")
    if args.anatomy is None:
        _demo_procedure(scene, out)
    if not args.no_gui:
        _demo_gui()
    return 0


def _demo_gui() -> None:
    """Open the desktop GUI on the default scenario, in its own process, when this runs at a
    terminal with a display, outside CI and tests (the demo does not wait for the window)."""
    import importlib.util
    import subprocess

    from simulator.gui import display_available

    if os.environ.get("CI") or os.environ.get("PYTEST_CURRENT_TEST") or not sys.stdin.isatty() or not display_available():
        return
    if importlib.util.find_spec("PyQt6") is None or importlib.util.find_spec("pyvistaqt") is None:
        print("GUI: not installed (pip install -e '.[gui]'); skipped")
        return
    subprocess.Popen([sys.executable, "-m", "simulator.cli", "gui", DEMO_SCENARIO], start_new_session=True,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"GUI: started on {DEMO_SCENARIO} (rhizosim gui; close its window to end it)")


def _demo_procedure(scene, out: Path) -> None:
    """The headless demo procedure: the default scenario's textbook plan, recorded, scored and
    reported. The demo replaces its own previous session (a real session is never overwritten)."""
    import shutil

    from simulator.plan import load_plan, run_plan
    from simulator.scenario import library_folder
    from simulator.scoring import score
    from simulator.session import load_session

    plan_path = library_folder() / "plans" / f"{DEMO_SCENARIO}.toml"
    session_path = out / "demo_session.jsonl"
    for old in (session_path, session_path.with_suffix(".score.json"), session_path.with_suffix(".report.html")):
        old.unlink(missing_ok=True)
    shutil.rmtree(out / "demo_session.report_files", ignore_errors=True)
    start = time.perf_counter()
    run_plan(load_plan(plan_path), session_path)
    loaded = load_session(session_path)
    report = score(loaded.scenario, loaded.state)
    print(f"Procedure: {plan_path.relative_to(library_folder().parent)} ({len(loaded.records)} actions, "
          f"{loaded.state.time_s / 60:.1f} min of procedure) run headless in {time.perf_counter() - start:.1f} s")
    _print_score(report, loaded.scenario.meta.title)
    for name, path in _score_outputs(loaded, report, session_path, html=True, scene=scene).items():
        print(f"  {name.replace('_', ' ')}: {path}")
    print(f"  session: {session_path}")


def _demo_needle(scene, path: Path) -> tuple[Path, object]:
    """Place an RF cannula by the textbook approach to the right L4 medial branch, print what the
    judge and the patient say, and picture it."""
    from simulator.approach import place_needle, textbook_approach
    from simulator.report.needle_views import render_needle_at_target
    from simulator.stimulation import motor_test, sensory_test
    from simulator.targeting import assess

    target_id = "medial_branch_L4_right"
    approach = textbook_approach(target_id)
    needle, events = place_needle(scene, approach)
    report = assess(scene, needle, target_id)
    print(f"Needle: {needle.model.description}, {approach.caudal_deg:g}° caudal and {approach.medial_deg:g}° medial "
          f"(against the {approach.frame_bone} endplate) at {approach.landmark} for {target_id}")
    print(f"  {events[-1].message} at {needle.depth_mm:.1f} mm; redirections {needle.redirections}")
    print(f"  verdict: {report.verdict}: {report.reason}")
    print(f"  tip {report.tip_to_target_mm:.1f} mm, active tip {report.active_to_target_mm:.1f} mm, "
          f"{report.angle_deg:.0f}° from parallel; nearest critical: "
          + (f"{report.critical[0].structure_id} {report.critical[0].shaft_mm:.1f} mm" if report.critical else "none"))
    print(f"  sensory 50 Hz: {sensory_test(scene, needle, target_id).message}")
    print(f"  motor 2 Hz: {motor_test(scene, needle, 2.0).message}")
    return render_needle_at_target(scene, needle, target_id, path,
                                   title=f"{needle.model.description} at the right L5 SAP-TP junction: {report.verdict}, "
                                         f"{report.active_to_target_mm:.1f} mm, {report.angle_deg:.0f}° to {target_id} (magenta)"), needle


# -- fluoroscopy (issue 4) ----------------------------------------------------------------------
FLUORO_VIEWS = ("ap", "oblique", "lateral", "custom")


def _fluoro_pose(scene, args: argparse.Namespace, geometry):
    """The C-arm pose a ``rhizosim fluoro`` view names: AP, oblique and lateral square the
    superior endplate of ``--level``; custom takes the two angles as given."""
    from simulator.fluoro import CArmPose, lateral, squared_endplate_pose

    centre = tuple(scene.landmark(f"body_center_{args.level}"))
    if args.view == "custom":
        return CArmPose(args.oblique_left_deg, args.tilt_cranial_deg, centre)
    if args.view == "lateral":
        return lateral(args.side, centre)
    return squared_endplate_pose(scene, args.level, oblique_side=args.side if args.view == "oblique" else None,
                                 oblique_deg=args.angle_deg, geometry=geometry)


def _cmd_fluoro(args: argparse.Namespace) -> int:
    from simulator.fluoro import CArmGeometry, Display, DoseRecord, Exposure, Fluoroscope, Technique, record_exposure
    from simulator.fluoro.summary import shot_summary
    from simulator.report.fluoro_views import caption_for, save_shot
    from simulator.scene import Scene

    technique = Technique(kvp=args.kvp, tube_current_ma=args.ma, pulse_width_ms=args.pulse_ms, pulse_rate_hz=args.rate_hz)
    exposure = Exposure(args.mode, args.duration_s, technique)
    display = Display(invert=args.invert, edge_enhancement=args.edge_enhancement, frame_averaging=args.frame_averaging)
    scene = Scene.load(args.anatomy)
    if args.level not in scene.ids(kind="vertebra"):
        from simulator.errors import ParameterError

        raise ParameterError("--level", args.level, ", ".join(scene.ids(kind="vertebra")))
    geometry = CArmGeometry(pixels=args.pixels)
    pose = _fluoro_pose(scene, args, geometry)
    fluoroscope = Fluoroscope.from_scene(scene, geometry)
    shot = fluoroscope.shot(pose, exposure=exposure, display=display, rng=args.seed, automatic_brightness=args.abc)
    record = record_exposure(DoseRecord(), shot.exposure, fluoroscope.geometry)
    if args.out:
        save_shot(shot, args.out, caption=caption_for(shot) if args.caption else None)
    if args.json:
        print(json.dumps(shot_summary(shot, scene.landmarks_mm, record), indent=1))
    else:
        print(f"{pose.describe()}: beam {np.round(pose.beam_direction, 3).tolist()}, isocentre "
              f"{np.round(pose.isocenter_mm, 1).tolist()} mm; {record.to_dict()}" + (f"; saved {args.out}" if args.out else ""))
    return 0


def _demo_fluoro(scene, needle, out: Path) -> list[Path]:
    """Fluoroscopy shots of the demo needle's level: true AP, ipsilateral oblique (Scotty dog),
    lateral, and the trajectory view down the needle, each a 1 s pulsed run under automatic
    brightness control, its last-image hold averaging 4 frames; prints the session's dose."""
    from simulator.fluoro import (Display, DoseRecord, Exposure, Fluoroscope, lateral, pose_from_beam, record_exposure,
                                  squared_endplate_pose)
    from simulator.report.fluoro_views import caption_for, save_shot

    start = time.perf_counter()
    fluoroscope = Fluoroscope.from_scene(scene)
    prepared = time.perf_counter() - start
    iso = scene.landmark("body_center_L5")
    between = 0.5 * (iso + scene.landmark("body_center_L4"))  # the L4 and L5 "Scotty dogs" both in the field
    views = [
        ("fluoro_ap_L5.png", squared_endplate_pose(scene, "L5", isocenter_mm=iso), [needle], "true AP of L5, needle"),
        ("fluoro_oblique_right_L5.png", squared_endplate_pose(scene, "L5", oblique_side="right", oblique_deg=35.0,
                                                              isocenter_mm=between), [], "ipsilateral oblique: Scotty dogs"),
        ("fluoro_lateral_L5.png", lateral("right", iso), [needle], "lateral, needle"),
        ("fluoro_trajectory_L5.png", pose_from_beam(-needle.direction, needle.tip_mm), [needle],
         "trajectory view down the needle"),
    ]
    record, pictures = DoseRecord(), []
    for name, pose, needles, note in views:
        exposure = Exposure("pulsed", 1.0)
        shot = fluoroscope.shot(pose, needles=needles, exposure=exposure, rng=len(pictures), automatic_brightness=True,
                                display=Display(frame_averaging=4))
        record = record_exposure(record, shot.exposure, fluoroscope.geometry)
        pictures.append(save_shot(shot, out / name, caption=caption_for(shot, note)))
    print(f"Fluoroscopy: prepared in {prepared:.2f} s; {record.shots} runs of 1 s pulsed (automatic brightness), "
          f"{record.fluoro_time_s:.0f} s, {record.air_kerma_mgy:.1f} mGy, {record.dap_gy_cm2:.3f} Gy·cm²")
    return pictures


def _needle_report(scene, needle, events, target_id: str) -> dict:
    """Machine-readable outcome of a needle placement: where it is, the judge, the patient."""
    from simulator.stimulation import motor_test, sensory_test
    from simulator.targeting import assess

    report = assess(scene, needle, target_id)
    sensory, motor = sensory_test(scene, needle, target_id), motor_test(scene, needle, 2.0)
    return {
        "device": needle.model.id,
        "entry_mm": [round(float(v), 2) for v in needle.entry_mm],
        "tip_mm": [round(float(v), 2) for v in needle.tip_mm],
        "depth_mm": round(needle.depth_mm, 2),
        "bone_contact": needle.bone_contact,
        "redirections": needle.redirections,
        "events": [{"kind": e.kind, "message": e.message, "depth_mm": None if e.depth_mm is None else round(e.depth_mm, 2)}
                   for e in events],
        "tissues": [{"structure": c.structure_id, "entry_mm": round(c.entry_mm, 2), "exit_mm": round(c.exit_mm, 2)}
                    for c in needle.crossings(scene)],
        "target": target_id,
        "verdict": report.verdict,
        "reason": report.reason,
        "tip_to_target_mm": round(report.tip_to_target_mm, 2),
        "active_to_target_mm": round(report.active_to_target_mm, 2),
        "angle_deg": round(report.angle_deg, 1),
        "closest_nerve": report.closest_nerve_id,
        "critical": [{"structure": c.structure_id, "shaft_mm": round(c.shaft_mm, 2), "active_tip_mm": round(c.active_tip_mm, 2)}
                     for c in report.critical],
        "sensory_50hz": {"threshold_v": None if sensory.threshold_v is None else round(sensory.threshold_v, 2),
                         "concordant": sensory.concordant, "message": sensory.message},
        "motor_2hz_2v": {"responses": list(motor.responses), "leg_fasciculation": motor.leg_fasciculation,
                         "message": motor.message},
    }


def _cmd_needle(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from simulator.approach import place_needle, textbook_approach
    from simulator.needle import advance_until_bone, insert, rotate
    from simulator.scene import Scene

    scene = Scene.load(args.anatomy)
    scene.structure(args.target)  # a typing error gets the closest ids
    approach = textbook_approach(args.target)
    if args.caudal_deg is not None:
        approach = replace(approach, caudal_deg=args.caudal_deg)
    if args.medial_deg is not None:
        approach = replace(approach, medial_deg=args.medial_deg)
    if args.turn_deg:  # a curved tip is turned at the skin, then advanced
        needle, events = insert(scene, args.device, approach.entry_mm(scene), approach.direction(scene))
        needle, turned = rotate(scene, needle, args.turn_deg)
        needle, steps = advance_until_bone(scene, needle)
        events += turned + steps
    else:
        needle, events = place_needle(scene, approach, device_id=args.device)
    info = _needle_report(scene, needle, events, args.target)
    info["approach"] = {"landmark": approach.landmark, "frame_bone": approach.frame_bone, "caudal_deg": approach.caudal_deg,
                        "medial_deg": approach.medial_deg, "source": approach.source}
    if args.out:
        from simulator.report.needle_views import render_needle_at_target

        info["picture"] = str(render_needle_at_target(scene, needle, args.target, args.out,
                                                      title=f"{needle.model.description}: {info['verdict']}, "
                                                            f"{info['active_to_target_mm']:.1f} mm, {info['angle_deg']:.0f}° "
                                                            f"to {args.target} (magenta)"))
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    print(f"{needle.model.description}: {approach.caudal_deg:g}° caudal, {approach.medial_deg:g}° medial against the "
          f"{approach.frame_bone} endplate, aimed at {approach.landmark}")
    for event in events:
        print(f"  {event.message}" + (f" at {event.depth_mm:.1f} mm" if event.depth_mm else ""))
    print(f"  verdict: {info['verdict']}: {info['reason']}")
    print(f"  tip {info['tip_to_target_mm']:.1f} mm, active tip {info['active_to_target_mm']:.1f} mm and "
          f"{info['angle_deg']:.0f}° from {args.target}; nearest nerve {info['closest_nerve']}")
    for critical in info["critical"][:3]:
        print(f"  {critical['structure']}: {critical['shaft_mm']:.1f} mm from the shaft, {critical['active_tip_mm']:.1f} mm "
              "from the active tip")
    print(f"  sensory 50 Hz: {info['sensory_50hz']['message']}")
    print(f"  motor 2 Hz: {info['motor_2hz_2v']['message']}")
    if args.out:
        print(f"  picture: {info['picture']}")
    return 0


# -- procedures: scenarios, plans, sessions, scores (issue 6) ----------------------------------------------------
def _free_path(path: Path) -> Path:
    """``path``, or ``name-2``, ``name-3`` … if it exists (a session is never overwritten)."""
    candidate, number = path, 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
    return candidate


def _score_outputs(loaded, report, session_path: Path, *, html: bool, scene=None) -> dict:
    """Write ``<session>.score.json`` and, if asked, the HTML report; return their paths."""
    outputs = {"score_file": str(session_path.with_suffix(".score.json"))}
    Path(outputs["score_file"]).write_text(json.dumps(report.to_dict(), indent=1) + "\n")
    if html:
        from simulator.report.session_report import write_report
        from simulator.session import scene_for

        outputs["report_file"] = str(write_report(loaded, report, scene or scene_for(loaded.scenario),
                                             session_path.with_suffix(".report.html")))
    return outputs


def _print_score(report, title: str) -> None:
    verdict = "PASS" if report.passed else "FAIL"
    print(f"{title}: {verdict} {report.percent:.1f} % (pass mark {report.pass_mark:g} %)"
          + (f"; required criteria failed: {', '.join(report.failed_required)}" if report.failed_required else ""))
    for c in report.criteria:
        mark = "ok " if c.passed else ("n/a" if not c.applicable else "-- ")
        print(f"  {mark} {c.points:5.1f}/{c.weight:<4g} {c.title}: {c.feedback}")


def _cmd_run(args: argparse.Namespace) -> int:
    from simulator.plan import load_plan, run_plan
    from simulator.scoring import score
    from simulator.session import load_session

    plan = load_plan(args.plan)
    session_path = Path(args.session) if args.session else _free_path(Path(args.out) / f"{Path(args.plan).stem}.jsonl")
    start = time.perf_counter()
    session = run_plan(plan, session_path)
    elapsed = time.perf_counter() - start
    loaded = load_session(session_path)
    report = score(loaded.scenario, loaded.state)
    outputs = _score_outputs(loaded, report, session_path, html=not args.no_report, scene=session.context.scene)
    if args.json:
        print(json.dumps({"session": str(session_path), "records": len(loaded.records), "run_s": round(elapsed, 2),
                          "score": report.to_dict(), **outputs}, indent=1))
        return 0
    print(f"Ran {args.plan}: {len(loaded.records)} actions in {elapsed:.1f} s, procedure time {loaded.state.time_s / 60:.1f} min")
    print(f"  session: {session_path}")
    _print_score(report, loaded.scenario.meta.title)
    for name, path in outputs.items():
        print(f"  {name.replace('_', ' ')}: {path}")
    return 0


def _score_one(path: str, verify: bool) -> dict:
    """Score one session (a worker's job): the report as a dict, or the error."""
    from simulator.scoring import score
    from simulator.session import load_session, replay

    try:
        loaded = load_session(path)
        report = score(loaded.scenario, loaded.state)
        result = {"session": path, "scenario": loaded.scenario.meta.id, "warnings": loaded.warnings,
                  "score": report.to_dict()}
        if verify:
            result["replay_identical"] = replay(path).identical
        return result
    except SimulatorError as error:
        return {"session": path, "error": str(error)}


def _progress(done: int, total: int, stream=sys.stderr) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    stream.write(f"\r[{'#' * filled}{'-' * (width - filled)}] {done}/{total}")
    if done == total:
        stream.write("\n")
    stream.flush()


def _cmd_score(args: argparse.Namespace) -> int:
    from concurrent.futures import ProcessPoolExecutor, as_completed

    paths = [str(p) for p in args.sessions]
    workers = args.workers or min(os.cpu_count() or 1, 4)
    results: dict[str, dict] = {}
    if len(paths) == 1 or workers == 1:
        for index, path in enumerate(paths):
            results[path] = _score_one(path, args.verify)
            if len(paths) > 1 and not args.quiet:
                _progress(index + 1, len(paths))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(_score_one, path, args.verify): path for path in paths}
            for index, future in enumerate(as_completed(futures)):
                results[futures[future]] = future.result()
                if not args.quiet:
                    _progress(index + 1, len(paths))
    ordered = [results[p] for p in paths]
    if args.report:
        from simulator.scoring import score
        from simulator.session import load_session

        for result in ordered:
            if "error" not in result:
                loaded = load_session(result["session"])
                result.update(_score_outputs(loaded, score(loaded.scenario, loaded.state), Path(result["session"]), html=True))
    if args.csv:
        _write_cohort_csv(ordered, Path(args.csv))
    if args.json:
        print(json.dumps(ordered if len(ordered) > 1 else ordered[0], indent=1))
    else:
        for result in ordered:
            if "error" in result:
                print(f"{result['session']}: error: {result['error']}")
                continue
            s = result["score"]
            extra = "" if "replay_identical" not in result else (" (replay identical)" if result["replay_identical"]
                                                                  else " (REPLAY DIFFERS)")
            print(f"{result['session']}: {result['scenario']} {'PASS' if s['passed'] else 'FAIL'} {s['percent']:.1f} %{extra}")
            for warning in result["warnings"]:
                print(f"  warning: {warning}")
        if args.csv:
            print(f"cohort summary: {args.csv}")
    return 2 if any("error" in r for r in ordered) else 0


def _write_cohort_csv(results: list[dict], path: Path) -> None:
    import csv

    from simulator.rubric import CRITERIA

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["session", "scenario", "passed", "percent", "points", "max_points", "failed_required", "error"]
                        + [f"{c}_points" for c in CRITERIA])
        for r in results:
            if "error" in r:
                writer.writerow([r["session"], "", "", "", "", "", "", r["error"]] + [""] * len(CRITERIA))
                continue
            s = r["score"]
            points = {c["id"]: c["points"] for c in s["criteria"]}
            writer.writerow([r["session"], r["scenario"], s["passed"], round(s["percent"], 2), round(s["points"], 3),
                             round(s["max_points"], 3), ";".join(s["failed_required"]), ""]
                            + [round(points[c], 3) if c in points else "" for c in CRITERIA])


def _cmd_scenario(args: argparse.Namespace) -> int:
    from simulator.scenario import find_scenario, json_schema, library, load_scenario

    if args.scenario_command == "list":
        rows = []
        for scenario_id, path in library(args.folder).items():
            s = load_scenario(path)
            rows.append({"id": scenario_id, "title": s.meta.title, "difficulty": s.meta.difficulty,
                         "modality": s.procedure.modality, "targets": s.procedure.targets, "file": str(path)})
        if args.json:
            print(json.dumps(rows, indent=1))
        else:
            for r in rows:
                print(f"{r['id']:36s} {r['difficulty']:12s} {r['modality']:8s} {', '.join(r['targets'])}")
        return 0
    if args.scenario_command == "show":
        s = find_scenario(args.name, args.folder)
        if args.json:
            print(json.dumps({"file": str(s.path), "sha256": s.sha256, **s.model_dump(mode="json")}, indent=1))
        else:
            print(s.text)
        return 0
    if args.scenario_command == "schema":
        print(json.dumps(json_schema(), indent=1))
        return 0
    results = []
    for path in args.files:  # validate
        try:
            s = load_scenario(path)
            results.append({"file": str(path), "valid": True, "id": s.meta.id})
        except SimulatorError as error:
            results.append({"file": str(path), "valid": False, "error": str(error)})
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        for r in results:
            print(f"{r['file']}: " + (f"valid ({r['id']})" if r["valid"] else r["error"]))
    return 0 if all(r["valid"] for r in results) else 2


def _cmd_build(args: argparse.Namespace) -> int:
    from simulator.anatomy import generate_patient
    from simulator.anatomy.assets import default_anatomy_folder, save_anatomy

    parameters = _parameters_from(args)
    out = Path(args.out) if args.out else default_anatomy_folder()
    start = time.perf_counter()
    anatomy = generate_patient(parameters, workers=args.workers)
    generated = time.perf_counter() - start
    save_anatomy(anatomy, out)
    print(f"Generated {len(anatomy.structures)} structures in {generated:.1f} s; saved to {out}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from simulator.scene import Scene

    scene = Scene.load(args.folder)
    info = inventory(scene)
    if args.json:
        print(json.dumps(info, indent=1))
    else:
        _print_inventory(info, str(args.folder or "default patient"))
    return 0


def _read_real_meshes(folder: Path) -> list:
    """Real vertebra meshes for a visual comparison, files named by level (``L1.obj`` ... ``S1.obj``),
    read, scaled to mm and turned into the patient's axes by the importer's own reader and
    alignment (:mod:`simulator.patient_import`), centred on their centroids."""
    from simulator.mesh import TriangleMesh
    from simulator.patient_import.alignment import SPINE_ORDER, axes_from_bones, spine_index
    from simulator.patient_import.mesh_files import MESH_SUFFIXES, detect_units, mm_from_units, read_mesh_file

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in MESH_SUFFIXES)
    if not files:
        raise AssetError(folder, f"no mesh file ({', '.join(MESH_SUFFIXES)}) in this folder")
    bones = {}
    for path in files:
        level = "sacrum" if path.stem.upper() in ("S1", "SACRUM") else path.stem.upper()
        if level not in SPINE_ORDER:
            raise AssetError(path, "name the files by level (L1.obj ... L5.obj, S1.obj) to compare them")
        mesh = read_mesh_file(path)
        bones[level] = TriangleMesh(mesh.vertices * mm_from_units(detect_units(mesh, path)), mesh.faces)
    axes = axes_from_bones({b: m.vertices for b, m in bones.items()}, str(folder))
    center = np.mean([m.vertices.mean(axis=0) for m in bones.values()], axis=0)
    return [TriangleMesh(((bones[b].vertices - center) @ axes.patient_from_file.T).astype(np.float32), bones[b].faces)
            for b in sorted(bones, key=spine_index)]


def _cmd_compare_real(args: argparse.Namespace) -> int:
    from simulator.report.anatomy_views import render_meshes_side_by_side
    from simulator.scene import Scene

    real_folder = Path(args.real)
    if not real_folder.is_dir():
        raise AssetError(real_folder, "folder of real meshes does not exist")
    real = _read_real_meshes(real_folder)
    scene = Scene.load(args.anatomy)
    ours = [scene.structure(b).mesh for b in ("L1", "L2", "L3", "L4", "L5", "sacrum")]
    outputs = []
    for view in ("posterior_oblique", "lateral"):
        path = Path(args.out) / f"compare_real_{view}.png"
        render_meshes_side_by_side(ours, real, path, view=view, titles=("Rhizosim default patient", f"Real: {real_folder.name}"))
        outputs.append(path)
    for path in outputs:
        print(path)
    return 0


def _cmd_gui(args: argparse.Namespace) -> int:
    import importlib.util

    from simulator.gui import display_available

    if importlib.util.find_spec("PyQt6") is None or importlib.util.find_spec("pyvistaqt") is None:
        print("rhizosim: error: the GUI needs PyQt6 and pyvistaqt: pip install -e '.[gui]'", file=sys.stderr)
        return 2
    if not display_available():
        print("rhizosim: error: no display (DISPLAY is not set); run it on a desktop, or under xvfb-run", file=sys.stderr)
        return 2
    from simulator.gui import run

    return run(args.scenario, sessions=args.sessions, debrief=args.debrief, seed=args.seed, instructor=args.instructor)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rhizosim", description="Lumbar rhizotomy training simulator")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="load the default patient, print its inventory, save pictures")
    demo.add_argument("--out", default="out/demo", help="folder for the pictures (default %(default)s)")
    demo.add_argument("--anatomy", default=None, help="anatomy folder (default: the shipped default patient)")
    demo.add_argument("--no-gui", action="store_true", help="do not open the GUI at the end (it opens only at a terminal "
                      "with a display, never in CI)")
    demo.set_defaults(handler=_cmd_demo)

    gui = commands.add_parser("gui", help="the desktop simulator (needs a display and the 'gui' extra)")
    gui.add_argument("scenario", nargs="?", default=None,
                     help=f"scenario id from the library or a .toml file (default {DEMO_SCENARIO})")
    gui.add_argument("--sessions", default=None, help="folder of the session logs (default $RHIZOSIM_SESSIONS or "
                     "~/.local/share/rhizosim/sessions)")
    gui.add_argument("--debrief", default=None, help="open a recorded session (.jsonl) on the replay timeline")
    gui.add_argument("--instructor", action="store_true", help="start in the instructor view (anatomy revealed)")
    gui.add_argument("--seed", type=int, default=0, help="fluoroscopy noise seed of new sessions (default %(default)s)")
    gui.set_defaults(handler=_cmd_gui)

    anatomy = commands.add_parser("anatomy", help="generate, inspect and compare patients")
    anatomy_commands = anatomy.add_subparsers(dest="anatomy_command", required=True)
    build = anatomy_commands.add_parser("build", help="generate a patient and save it as an anatomy folder")
    build.add_argument("--out", default=None, help="folder to write (default: assets/meshes/default)")
    build.add_argument("--workers", type=int, default=None, help="processes to use (default: CPUs, at most 4)")
    _add_parameter_options(build)
    build.set_defaults(handler=_cmd_build)
    info = anatomy_commands.add_parser("info", help="print the inventory of an anatomy folder")
    info.add_argument("folder", nargs="?", default=None, help="anatomy folder (default: the default patient)")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.set_defaults(handler=_cmd_info)
    compare = anatomy_commands.add_parser("compare-real", help="render our bones beside a folder of real vertebra meshes")
    compare.add_argument("--real", required=True, help="folder of real vertebra meshes (e.g. ../shared/realdata/vhp_lumbar)")
    compare.add_argument("--out", default="out/compare", help="folder for the pictures (default %(default)s)")
    compare.add_argument("--anatomy", default=None, help="anatomy folder (default: the default patient)")
    compare.set_defaults(handler=_cmd_compare_real)
    needle = commands.add_parser("needle", help="place a needle by the textbook approach to a target nerve and judge it")
    needle.add_argument("target", help="medial_branch_L1..L4_<side> or dorsal_ramus_L5_<side>")
    needle.add_argument("--device", default="rf_18g_150mm_10mm", help="needle id from the catalogue (default %(default)s)")
    needle.add_argument("--caudal-deg", type=float, default=None, help="override the textbook caudal angle (deg)")
    needle.add_argument("--medial-deg", type=float, default=None, help="override the textbook abduction (deg)")
    needle.add_argument("--turn-deg", type=float, default=0.0, help="turn a curved tip by this much at the skin (deg)")
    needle.add_argument("--out", default=None, help="save a picture of the needle at its target (PNG)")
    needle.add_argument("--json", action="store_true", help="machine-readable output")
    needle.add_argument("--anatomy", default=None, help="anatomy folder (default: the default patient)")
    needle.set_defaults(handler=_cmd_needle)

    run = commands.add_parser("run", help="run a headless plan: write the session, its score and its report")
    run.add_argument("plan", help="plan file (TOML; see simulator/plan.py and scenarios/plans)")
    run.add_argument("--out", default="out/sessions", help="folder for the session (default %(default)s)")
    run.add_argument("--session", default=None, help="session file to write (default: <out>/<plan name>.jsonl)")
    run.add_argument("--no-report", action="store_true", help="skip the HTML report")
    run.add_argument("--json", action="store_true", help="machine-readable output")
    run.set_defaults(handler=_cmd_run)

    scoring = commands.add_parser("score", help="score recorded sessions (many in parallel; a CSV of a cohort)")
    scoring.add_argument("sessions", nargs="+", help="session files (.jsonl)")
    scoring.add_argument("--workers", type=int, default=None, help="processes (default: CPUs, at most 4)")
    scoring.add_argument("--csv", default=None, help="write a cohort summary (one row per session)")
    scoring.add_argument("--report", action="store_true", help="also write each session's JSON score and HTML report")
    scoring.add_argument("--verify", action="store_true", help="replay each session on its patient and check its record")
    scoring.add_argument("--quiet", action="store_true", help="no progress bar")
    scoring.add_argument("--json", action="store_true", help="machine-readable output")
    scoring.set_defaults(handler=_cmd_score)

    scenario = commands.add_parser("scenario", help="list, show and validate scenario files")
    scenario_commands = scenario.add_subparsers(dest="scenario_command", required=True)
    listing = scenario_commands.add_parser("list", help="the scenarios of the library")
    listing.add_argument("--folder", default=None, help="a folder of scenarios (default: the shipped library)")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    show = scenario_commands.add_parser("show", help="one scenario, by id or file")
    show.add_argument("name", help="scenario id or .toml file")
    show.add_argument("--folder", default=None, help="a folder of scenarios (default: the shipped library)")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    validate = scenario_commands.add_parser("validate", help="check scenario files")
    validate.add_argument("files", nargs="+", help=".toml files")
    validate.add_argument("--json", action="store_true", help="machine-readable output")
    scenario_commands.add_parser("schema", help="print the JSON Schema of scenario files")
    scenario.set_defaults(handler=_cmd_scenario)

    fluoro = commands.add_parser("fluoro", help="render a fluoroscopy shot of a patient")
    fluoro.add_argument("--view", choices=FLUORO_VIEWS, default="ap",
                        help="ap and oblique square the superior endplate of --level, lateral is a plain lateral; custom takes "
                             "--oblique-left-deg and --tilt-cranial-deg (default %(default)s)")
    fluoro.add_argument("--level", default="L4", help="vertebra to centre and square (default %(default)s)")
    fluoro.add_argument("--side", choices=("left", "right"), default="right",
                        help="side the detector turns to for oblique and lateral (default %(default)s)")
    fluoro.add_argument("--angle-deg", type=float, default=25.0, help="oblique angle, degrees (default %(default)s)")
    fluoro.add_argument("--oblique-left-deg", type=float, default=0.0,
                        help="custom view: detector towards the patient's left (+) or right (-), degrees")
    fluoro.add_argument("--tilt-cranial-deg", type=float, default=0.0,
                        help="custom view: detector towards the head (+) or feet (-), degrees")
    fluoro.add_argument("--pixels", type=int, default=512, help="image size, pixels per side (default %(default)s)")
    fluoro.add_argument("--kvp", type=float, default=90.0, help="tube voltage, kV (default %(default)s)")
    fluoro.add_argument("--ma", type=float, default=20.0, help="tube current, mA (default %(default)s)")
    fluoro.add_argument("--pulse-ms", type=float, default=8.0, help="pulse width, ms (default %(default)s)")
    fluoro.add_argument("--rate-hz", type=float, default=8.0, help="pulses per second (default %(default)s)")
    fluoro.add_argument("--abc", action="store_true",
                        help="automatic brightness control sets the tube current (--ma is then ignored) and, if "
                             "40 mA is not enough, raises the voltage from --kvp")
    fluoro.add_argument("--mode", choices=("single", "pulsed", "continuous"), default="single",
                        help="exposure mode (default %(default)s)")
    fluoro.add_argument("--duration-s", type=float, default=0.0, help="run length for pulsed/continuous, s")
    fluoro.add_argument("--invert", action="store_true", help="radiopaque bright instead of dark")
    fluoro.add_argument("--edge-enhancement", type=float, default=1.0, help="unsharp-mask gain, 0 to 3 (default %(default)s)")
    fluoro.add_argument("--frame-averaging", type=int, default=1,
                        help="frames of a run averaged in the last-image hold, 1 to 16 (default %(default)s)")
    fluoro.add_argument("--seed", type=int, default=0, help="noise seed (default %(default)s)")
    fluoro.add_argument("--out", default=None, help="PNG file to write")
    fluoro.add_argument("--caption", action="store_true", help="add a caption strip (pose, technique, dose)")
    fluoro.add_argument("--json", action="store_true", help="print pose, landmark pixels and dose as JSON")
    fluoro.add_argument("--anatomy", default=None, help="anatomy folder (default: the default patient)")
    fluoro.set_defaults(handler=_cmd_fluoro)
    _add_lesion_command(commands)
    from simulator.patient_import.command import add_patient_arguments

    add_patient_arguments(commands)
    return parser


def _add_lesion_command(commands) -> None:
    """``rhizosim lesion``: the ablation models (options and output in simulator.ablation.command)."""
    from simulator.ablation.command import add_lesion_arguments, run_lesion

    lesion = commands.add_parser("lesion", help="make an RF, cryo or chemical lesion in a tissue block or at a textbook "
                                 "needle, and print its size")
    add_lesion_arguments(lesion)
    lesion.set_defaults(handler=run_lesion)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except SimulatorError as error:
        print(f"rhizosim: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
