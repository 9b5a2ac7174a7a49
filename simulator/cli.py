"""Command line: ``rhizosim demo``, ``rhizosim anatomy build|info|compare-real``, ``rhizosim needle``,
``rhizosim lesion``.

A thin layer over the core: it parses arguments, calls the core, prints results. Any
:class:`~simulator.errors.SimulatorError` is printed as one line and the exit code is 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import json
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
              for level, lower in (("L2", "L3"), ("L3", "L4"), ("L4", "L5")) for side in ("left", "right")}
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
    pictures.append(_demo_needle(scene, out / "needle_at_l4_medial_branch.png"))
    (out / "inventory.json").write_text(json.dumps(info, indent=1) + "\n")
    print("Pictures:")
    for picture in pictures:
        print(f"  {picture}")
    print(f"  {out / 'inventory.json'}")
    return 0


def _demo_needle(scene, path: Path) -> Path:
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
                                         f"{report.active_to_target_mm:.1f} mm, {report.angle_deg:.0f}° to {target_id} (magenta)")


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
    """Real vertebra meshes for a visual comparison (OBJ/STL/PLY; metres converted to mm).

    The axes are guessed from the shape: the longest axis is cranio-caudal, left-right is the
    horizontal axis of mirror symmetry, and posterior is the end of the remaining axis where
    the narrow spinous processes are. Full alignment of imported meshes is the import
    feature's job.
    """
    import trimesh
    from scipy.spatial import cKDTree

    from simulator.mesh import TriangleMesh

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".obj", ".stl", ".ply"})
    if not files:
        raise AssetError(folder, "no .obj, .stl or .ply mesh in this folder")
    meshes = []
    for path in files:
        try:
            loaded = trimesh.load(path, force="mesh", process=False)
        except Exception as error:
            raise AssetError(path, f"cannot read mesh ({error})") from None
        meshes.append((np.asarray(loaded.vertices, dtype=float), np.asarray(loaded.faces, dtype=np.int32)))
    points = np.vstack([v for v, _ in meshes])
    scale = 1000.0 if np.ptp(points, axis=0).max() < 2.0 else 1.0
    center = points.mean(axis=0)
    extents = np.ptp(points, axis=0)
    vertical = int(np.argmax(extents))
    horizontal = [a for a in range(3) if a != vertical]

    def asymmetry(axis: int) -> float:
        mirrored = points.copy()
        mirrored[:, axis] = 2 * center[axis] - mirrored[:, axis]
        return float(np.mean(cKDTree(points).query(mirrored[::7])[0]))

    # The spine is mirror-symmetric about the midsagittal plane: left-right is the axis whose
    # mirror image matches best.
    lateral = min(horizontal, key=asymmetry)
    ap = next(a for a in horizontal if a != lateral)
    # Spinous processes are narrow and bodies wide: in each mesh the posterior end of the AP
    # axis has the narrower left-right spread. Each mesh votes (the sacrum may disagree).
    votes = 0
    for vertices, _ in meshes:
        slab = 0.04 * np.ptp(vertices[:, ap])  # the tip of the spinous process vs the body's front
        low_end = vertices[vertices[:, ap] < vertices[:, ap].min() + slab]
        high_end = vertices[vertices[:, ap] > vertices[:, ap].max() - slab]
        votes += 1 if np.ptp(high_end[:, lateral]) < np.ptp(low_end[:, lateral]) else -1
    posterior_sign = 1.0 if votes > 0 else -1.0
    anterior_sign = -posterior_sign
    result = []
    for vertices, faces in meshes:
        mapped = np.column_stack([vertices[:, lateral] - center[lateral], -anterior_sign * (vertices[:, ap] - center[ap]),
                                  vertices[:, vertical] - center[vertical]]) * scale
        result.append(TriangleMesh(mapped.astype(np.float32), faces))
    return result


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rhizosim", description="Lumbar rhizotomy training simulator")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="load the default patient, print its inventory, save pictures")
    demo.add_argument("--out", default="out/demo", help="folder for the pictures (default %(default)s)")
    demo.add_argument("--anatomy", default=None, help="anatomy folder (default: the shipped default patient)")
    demo.set_defaults(handler=_cmd_demo)

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
    _add_lesion_command(commands)
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
