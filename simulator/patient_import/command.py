"""``rhizosim patient import SOURCE --out FOLDER``: prepare an imported patient and check it.

SOURCE is a folder of meshes with its ``patient.toml`` (or the file itself; without one, each
file's structure is told from its name: ``L1.obj``, ``vertebrae_L1.stl``, ``sacrum.ply``), a NIfTI CT
(``.nii``, ``.nii.gz``) or a folder of DICOM slices; ``--labels`` gives a CT's label map. The
command imports, saves the patient folder, loads it back as every other command will, prints
what it found (bones present and absent, alignment, the targets that exist and why the others
do not) and saves pictures: the bones with the generated nerves, and for a CT an AP shot of the
real CT. Errors are one line (exit code 2).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

__all__ = ["add_patient_arguments", "run_patient"]


def add_patient_arguments(commands) -> None:
    """Add ``patient import`` to the ``rhizosim`` sub-commands."""
    patient = commands.add_parser("patient", help="import a real patient (meshes or a CT) and check it")
    sub = patient.add_subparsers(dest="patient_command", required=True)
    imp = sub.add_parser("import", help="import meshes (folder with patient.toml) or a CT (NIfTI file or DICOM folder)")
    imp.add_argument("source", help="folder of meshes with patient.toml, the .toml itself, a .nii/.nii.gz CT or a DICOM folder")
    imp.add_argument("--out", required=True, help="patient folder to write (loadable with --anatomy)")
    imp.add_argument("--labels", default=None, help="CT only: label map (NIfTI) on the CT's grid (TotalSegmentator classes)")
    imp.add_argument("--label-slice-offset", type=int, default=None,
                     help="CT only: slices between the CT's first slice and the label map's (default: from the affines, "
                          "checked against the bone)")
    imp.add_argument("--fat-thickness-mm", type=float, default=None, help="meshes only: generated subcutaneous fat, mm "
                     "(overrides patient.toml)")
    imp.add_argument("--workers", type=int, default=None, help="processes (default: CPUs, at most 4)")
    imp.add_argument("--no-pictures", action="store_true", help="skip the pictures")
    imp.add_argument("--json", action="store_true", help="print the import report as JSON")
    imp.set_defaults(handler=run_patient)


def _is_ct(source: Path) -> bool:
    """A NIfTI file, or a folder with neither a description nor mesh files (DICOM slices)."""
    from simulator.patient_import.description import DESCRIPTION_NAME
    from simulator.patient_import.mesh_files import MESH_SUFFIXES

    if source.name.lower().endswith((".nii", ".nii.gz")):
        return True
    return source.is_dir() and not (source / DESCRIPTION_NAME).exists() \
        and not any(p.suffix.lower() in MESH_SUFFIXES for p in source.iterdir() if p.is_file())


def run_patient(args: argparse.Namespace) -> int:
    from simulator.anatomy.assets import load_anatomy, save_anatomy
    from simulator.errors import AssetError
    from simulator.scene import Scene

    source, out = Path(args.source), Path(args.out)
    if not source.exists():
        raise AssetError(source, "no such file or folder to import")
    started = time.perf_counter()
    if _is_ct(source):
        from simulator.patient_import.ct_patient import import_ct

        imported = import_ct(source, labels=args.labels, label_slice_offset=args.label_slice_offset, workers=args.workers)
    else:
        if args.labels:
            raise AssetError(source, "--labels is for a CT; a mesh folder names its structures in patient.toml or by its file names")
        from simulator.patient_import.build import import_meshes

        imported = import_meshes(source, workers=args.workers, fat_thickness_mm=args.fat_thickness_mm)
    save_anatomy(imported.anatomy, out)
    scene = Scene(load_anatomy(out))  # checked as every command will load it
    report = dict(imported.report)
    report["folder"] = str(out)
    report["structures"] = len(scene.anatomy.structures)
    report["targets"] = sorted(scene.ids(role="target_nerve"))
    if not args.no_pictures:
        report["pictures"] = [str(p) for p in _pictures(scene, out)]
    report["elapsed_s"] = round(time.perf_counter() - started, 1)
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    _print_report(report)
    return 0


def _pictures(scene, out: Path) -> list[Path]:
    from simulator.report.anatomy_views import SKELETAL_KINDS, render_structures

    structures = list(scene.anatomy.structures.values())
    # Bone no label names (a CT's pelvis, ribs, unlabelled vertebrae) is drawn faint around the
    # imported levels; without any level it is the picture.
    levels = any(s.kind in SKELETAL_KINDS for s in structures)
    kinds, faint = (*SKELETAL_KINDS, "bone"), ({"bone": 0.3} if levels else {})
    if levels:
        title = f"Imported: {', '.join(scene.anatomy.source.get('bones_present', []))}; generated nerves (medial branches red)"
        title += "; bone without a label faint" if any(s.kind == "bone" for s in structures) else ""
    else:
        title = "Imported: bone found by threshold, without levels (no label map): no nerves"
    pictures = [render_structures(structures, out / f"import_{view}.png", view=view, kinds=kinds, opacity=faint,
                                  framed_kinds=SKELETAL_KINDS, title=title) for view in ("posterior_oblique", "lateral")]
    if scene.anatomy.ct is not None:
        from simulator.fluoro import Fluoroscope, ap
        from simulator.report.fluoro_views import caption_for, save_shot

        reference = scene.anatomy.source.get("alignment", {}).get("reference_bone")
        center = scene.landmark(f"body_center_{reference}") if reference else scene.anatomy.ct.center_mm()
        shot = Fluoroscope.from_scene(scene).shot(ap(tuple(center)), rng=0, automatic_brightness=True)
        pictures.append(save_shot(shot, out / "fluoro_ap_ct.png", caption=caption_for(shot, "AP of the imported CT")))
    return pictures


def _print_report(report: dict) -> None:
    print(f"Imported {report['kind']} from {report['source']} in {report['elapsed_s']} s -> {report['folder']}")
    print(f"  bones present: {', '.join(report['bones_present']) or 'none with a level'}; "
          f"absent: {', '.join(report['bones_absent']) or 'none'}")
    alignment = report.get("alignment", {})
    if alignment:
        reference = alignment.get("reference_bone")
        origin = f"the {reference} body centre" if reference else "the CT volume's centre"
        print(f"  alignment: {alignment.get('method')}, origin at {origin}"
              + "".join(f"; {k} {v}" for k, v in alignment.items() if k.endswith(("_mm", "_deg")) and not isinstance(v, dict)))
    if report.get("described_by") == "file names":
        print("  no patient.toml: each file's structure told from its name (write one to say otherwise)")
    for entry in report.get("files", []):
        print(f"  {entry['file']}: {entry['structure']}, {entry['units']}, {entry['triangles']} triangles, "
              f"{'watertight' if entry['watertight'] else 'open (holes up to %g mm closed)' % (2 * entry['hole_closing_mm'])}, "
              f"{entry['volume_cm3']} cm3")
    for key, value in report.get("labels", {}).items():
        print(f"  labels: {key}: {value}")
    for warning in report.get("warnings", []):
        print(f"  warning: {warning}")
    print(f"  {report['structures']} structures; targets: {', '.join(report['targets']) or 'none'}")
    for nerve, reason in report.get("absent_targets", {}).items():
        print(f"  absent: {nerve}: {reason}")
    for picture in report.get("pictures", []):
        print(f"  picture: {picture}")
