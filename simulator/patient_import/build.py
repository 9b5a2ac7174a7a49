"""Importing a patient from mesh files: read, align, measure, complete, check.

:func:`import_meshes` turns a folder of meshes and its ``patient.toml``
(:mod:`.description`) into an :class:`~simulator.anatomy.generator.Anatomy` like a generated
one, which :func:`~simulator.anatomy.assets.save_anatomy` saves and every command loads:

1. each file is read and welded (:mod:`.mesh_files`) and scaled to mm (its units given or told
   by its size);
2. the patient's axes are found from the bones (or from landmarks, :mod:`.alignment`), and the
   frame is centred on the reference vertebra (L3, else the middle lumbar one) with that
   vertebra upright, as in a generated patient;
3. each bone gets a signed-distance grid with a robust inside test (:mod:`.inside`) and a
   closed surface contoured from it; each is measured (:mod:`.landmarks`): frame, dimensions,
   neck grooves;
4. everything the files lack — discs, dural sac, nerves, ganglia, mamillo-accessory
   ligaments, vessels, muscles, fat, skin — is made by the generator's own builders on the
   fitted spine (:func:`~simulator.anatomy.generator.build_around_bones`); structures the
   files give (a disc, the dural sac, a muscle, a vessel) replace the generated ones.

The returned :class:`ImportedPatient` carries a report of what was found and made, what is
absent and why.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simulator._validation import check_range
from simulator.anatomy.generator import (BONE_SPACING_MM, GENERATOR_VERSION, SOFT_TISSUE_SPACING_MM, Anatomy,
                                         build_around_bones, job_runner, labelled_structure)
from simulator.anatomy.morphometry import LUMBAR_LEVELS, MORPHOMETRY
from simulator.anatomy.parameters import PARAMETER_RANGES, PatientParameters
from simulator.anatomy.pose import Pose
from simulator.errors import AssetError
from simulator.fields import GridField
from simulator.mesh import TriangleMesh, surface_from_grid
from simulator.patient_import.alignment import Axes, axes_from_bones, axes_from_landmarks, spine_index
from simulator.patient_import.description import (DESCRIPTION_NAME, PatientDescription, StructureEntry,
                                                  describe_from_file_names, load_description)
from simulator.patient_import.fitted_spine import FittedSpine
from simulator.patient_import.inside import InsideReport, signed_distance_grid
from simulator.patient_import.landmarks import (BoneMeasurement, find_groove, find_sacral_groove, measure_sacrum,
                                                measure_vertebra)
from simulator.patient_import.mesh_files import check_given_units, detect_units, mm_from_units, read_mesh_file

__all__ = ["ImportedPatient", "import_meshes", "complete_patient", "reference_bone", "nerve_coverage"]

#: Target triangle counts of the contoured bone surfaces (as the generator's).
_BONE_FACES = {"sacrum": 24000}
_DEFAULT_BONE_FACES = 16000


@dataclass(frozen=True, eq=False)
class ImportedPatient:
    """An imported patient and what the import found.

    Parameters
    ----------
    anatomy : Anatomy
        The patient (its ``source`` is the report too).
    report : dict
        Files, units, alignment, levels present and absent, what was generated, timings.
    """

    anatomy: Anatomy
    report: dict


def reference_bone(bones: list[str]) -> str:
    """The vertebra the patient frame is centred on: L3, else the middle lumbar (or any) vertebra."""
    vertebrae = sorted((b for b in bones if b != "sacrum"), key=spine_index)
    lumbar = [b for b in vertebrae if b in LUMBAR_LEVELS]
    if "L3" in lumbar:
        return "L3"
    pool = lumbar or vertebrae
    return pool[len(pool) // 2]


def _read_all(description: PatientDescription, path: Path) -> tuple[dict[str, tuple[StructureEntry, TriangleMesh, str]], str]:
    """Every file as a mesh in mm (file frame), with the unit used; and the bones' unit."""
    folder = path.parent
    raw = {}
    for entry in description.structure:
        file = folder / entry.file
        if not file.is_file():
            raise AssetError(file, f"listed in {path.name} (structure {entry.structure_id}) but missing")
        raw[entry.structure_id] = (entry, read_mesh_file(file), file)
    detected = {}
    for sid, (entry, mesh, file) in raw.items():
        unit = description.units_of(entry)
        if unit == "auto" and entry.bone:
            unit = detect_units(mesh, file)
        elif entry.bone:
            check_given_units(mesh, unit, file)
        detected[sid] = unit
    bone_units = [u for sid, u in detected.items() if raw[sid][0].bone and u != "auto"]
    bones_unit = max(set(bone_units), key=bone_units.count)
    meshes = {}
    for sid, (entry, mesh, file) in raw.items():
        unit = detected[sid] if detected[sid] != "auto" else bones_unit
        meshes[sid] = (entry, TriangleMesh(mesh.vertices * mm_from_units(unit), mesh.faces), unit)
    return meshes, bones_unit


def _patient_from_file(description: PatientDescription, path: Path, bones: dict[str, np.ndarray],
                       landmark_unit: str) -> tuple[np.ndarray, Axes]:
    """The rough 4×4 transform (mm, file frame -> LPS axes, centred on the bones)."""
    if description.alignment.method == "landmarks":
        scale = mm_from_units(landmark_unit)
        axes = axes_from_landmarks({k: np.asarray(v, float) * scale for k, v in description.alignment.landmarks.items()},
                                   str(path))
    else:
        axes = axes_from_bones(bones, str(path))
    center = np.mean([points.mean(axis=0) for points in bones.values()], axis=0)
    transform = np.eye(4)
    transform[:3, :3] = axes.patient_from_file
    transform[:3, 3] = -axes.patient_from_file @ center
    return transform, axes


def _apply(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ transform[:3, :3].T + transform[:3, 3]


def _bone_grid_job(mesh: TriangleMesh, name: str) -> tuple[GridField, InsideReport]:
    return signed_distance_grid(mesh, name, spacing_mm=BONE_SPACING_MM)


def _soft_grid_job(mesh: TriangleMesh, name: str) -> tuple[GridField, InsideReport]:
    return signed_distance_grid(mesh, name, spacing_mm=SOFT_TISSUE_SPACING_MM if "muscle" in name else BONE_SPACING_MM)


def measure_bones(fields: dict[str, GridField], surfaces: dict[str, TriangleMesh]) -> dict[str, BoneMeasurement]:
    """Measure every bone (vertebrae first, so the sacrum can take L5's pedicle line)."""
    measured = {}
    for bone in sorted((b for b in fields if b != "sacrum"), key=spine_index):
        measured[bone] = measure_vertebra(fields[bone], surfaces[bone].vertices.astype(float), bone)
    if "sacrum" in fields:
        l5 = measured["L5"].shape if "L5" in measured else None
        measured["sacrum"] = measure_sacrum(fields["sacrum"], surfaces["sacrum"], l5)
    return measured


def _estimated_parameters(measured: dict[str, BoneMeasurement], fat_thickness_mm: float) -> tuple[PatientParameters, dict]:
    """Size from the lumbar bodies' widths against the morphometry table; lordosis from the
    angle between the highest lumbar and the S1 endplates; each clipped to its range."""
    ratios = [m.shape.body_width / MORPHOMETRY[b].body_width_mm for b, m in measured.items() if b in LUMBAR_LEVELS]
    size = float(np.mean(ratios)) if ratios else 1.0
    lumbar = [b for b in LUMBAR_LEVELS if b in measured]
    lordosis = None
    if lumbar and "sacrum" in measured:
        a, b = measured[lumbar[0]].pose.rotation[:, 2], measured["sacrum"].pose.rotation[:, 2]
        lordosis = float(np.degrees(np.arctan2(np.cross(a, b)[0], a @ b)))
    estimated = {"size_scale": size, "lordosis_deg": lordosis, "fat_thickness_mm": fat_thickness_mm}
    values = {}
    for name, value in estimated.items():
        if value is not None:
            low, high = PARAMETER_RANGES[name][:2]
            values[name] = float(np.clip(value, low, high))
    return PatientParameters(**values), {k: (None if v is None else round(v, 3)) for k, v in estimated.items()}


def _grooves(fields: dict[str, GridField], measured: dict[str, BoneMeasurement],
             warnings: list[str]) -> dict[str, dict]:
    """Neck grooves on every lumbar vertebra (its ligament spans the groove's notch) and on the
    sacrum below an L5; a groove that cannot be found is reported (no nerve is made in it)."""
    grooves: dict[str, dict] = {}
    for bone, m in measured.items():
        if bone not in LUMBAR_LEVELS and not (bone == "sacrum" and "L5" in measured):
            continue
        find = find_sacral_groove if bone == "sacrum" else find_groove
        for side_name, side in (("left", 1), ("right", -1)):
            try:
                grooves.setdefault(bone, {})[side_name] = find(fields[bone], m, side)
            except AssetError as error:
                warnings.append(f"{error}: no nerve is made in that groove")
    return grooves


def nerve_coverage(bones: list[str], structures: dict) -> dict[str, str]:
    """Why each lumbar target nerve is absent (empty for the ones that were made)."""
    absent = {}
    for index, level in enumerate(LUMBAR_LEVELS):
        below = LUMBAR_LEVELS[index + 1] if index + 1 < len(LUMBAR_LEVELS) else "sacrum"
        kind = "dorsal_ramus" if level == "L5" else "medial_branch"
        for side in ("left", "right"):
            nerve = f"{kind}_{level}_{side}"
            if nerve in structures:
                continue
            missing = [b for b in (level, below) if b not in bones]
            absent[nerve] = (f"{' and '.join(missing)} absent (the nerve runs from {level} over {below})" if missing
                             else f"the groove it runs in was not found on {below} (see the import's warnings)")
    return absent


def complete_patient(measured: dict[str, BoneMeasurement], bone_structures: dict, fields: dict[str, GridField],
                     parameters: PatientParameters, start, *, soft_tissue: bool = True, extra: dict | None = None,
                     warnings: list[str] | None = None) -> tuple[dict, dict[str, np.ndarray], FittedSpine]:
    """The fitted spine and every structure made around the imported bones.

    Parameters
    ----------
    measured : dict of str to BoneMeasurement
        The bones' frames and shapes.
    bone_structures : dict of str to Structure
        The imported bones.
    fields : dict of str to GridField
        Their signed distances, patient frame.
    parameters : PatientParameters
        Size and fat thickness for the generated soft tissue.
    start : callable
        Runs a job (:func:`simulator.anatomy.generator.job_runner`).
    soft_tissue : bool, default: True
        Generate muscles, fat, skin and the body envelope (a CT brings its own).
    extra : dict of str to Structure, optional
        Imported structures that replace generated ones of the same id (or are added).
    """
    grooves = _grooves(fields, measured, warnings if warnings is not None else [])
    spine = FittedSpine(parameters, {b: m.shape for b, m in measured.items() if b != "sacrum"},
                        measured["sacrum"].shape if "sacrum" in measured else None,
                        {b: m.pose for b, m in measured.items()}, grooves, dict(fields))
    full = all(b in measured for b in (*LUMBAR_LEVELS, "sacrum"))
    structures, landmarks = build_around_bones(spine, lambda: bone_structures, start, soft_tissue=soft_tissue,
                                               vessels=full and soft_tissue)
    for sid, structure in (extra or {}).items():
        structures[sid] = structure
    for m in measured.values():
        landmarks.update(m.points_mm)
    for bone, by_side in grooves.items():
        for side in by_side:
            name = f"ala_sap_groove_{side}" if bone == "sacrum" else f"sap_tp_junction_{bone}_{side}"
            if name not in landmarks and bone != "L1" and warnings is not None:
                warnings.append(f"{bone}: the {side} needle landmark {name} was not found (no back face of the "
                                "transverse process below its border); the textbook approach to it is not available")
    return structures, landmarks, spine


def import_meshes(path: str | Path, *, workers: int | None = None, fat_thickness_mm: float | None = None) -> ImportedPatient:
    """Import a patient from a folder of meshes and its description file.

    Parameters
    ----------
    path : str or Path
        The folder (holding ``patient.toml``, or mesh files whose names tell their structures:
        :func:`~simulator.patient_import.description.describe_from_file_names`) or the
        description file itself.
    workers : int, optional
        Processes for the grids and generated structures (default: CPUs, at most 4).
    fat_thickness_mm : float, optional
        Thickness of the generated subcutaneous fat, 5-80 mm (default: the description's).

    Raises
    ------
    FileFormatError
        If the description does not validate.
    AssetError
        Naming the file: missing, unreadable, empty, of unknown units, without an inside, or a
        bone whose landmarks cannot be found.
    """
    started = time.perf_counter()
    path = Path(path)
    path = path / DESCRIPTION_NAME if path.is_dir() else path
    described_by = DESCRIPTION_NAME
    if path.name == DESCRIPTION_NAME and not path.exists() and path.parent.is_dir():
        description, described_by = describe_from_file_names(path.parent), "file names"
    else:
        description = load_description(path)
    meshes, bones_unit = _read_all(description, path)
    bone_ids = {sid: entry.bone for sid, (entry, _, _) in meshes.items() if entry.bone}
    file_bones = {bone_ids[sid]: meshes[sid][1].vertices for sid in bone_ids}
    rough, axes = _patient_from_file(description, path, file_bones, bones_unit)
    timings = {"read_s": time.perf_counter() - started}
    with job_runner(workers) as start:
        # The reference vertebra fixes the frame: upright at the origin, as a generated L3.
        reference = reference_bone(list(file_bones))
        ref_sid = next(sid for sid, bone in bone_ids.items() if bone == reference)
        ref_mesh = TriangleMesh(_apply(rough, meshes[ref_sid][1].vertices), meshes[ref_sid][1].faces)
        ref_field, _ = _bone_grid_job(ref_mesh, str(path.parent / meshes[ref_sid][0].file))
        ref_pose = measure_vertebra(ref_field, ref_mesh.vertices, reference).pose
        patient_from_file = np.eye(4)
        patient_from_file[:3, :3] = ref_pose.rotation.T @ rough[:3, :3]
        patient_from_file[:3, 3] = ref_pose.rotation.T @ (rough[:3, 3] - ref_pose.translation_mm)
        placed = {sid: TriangleMesh(_apply(patient_from_file, mesh.vertices), mesh.faces) for sid, (_, mesh, _) in meshes.items()}
        jobs = {sid: start(_bone_grid_job if sid in bone_ids else _soft_grid_job, placed[sid],
                           str(path.parent / meshes[sid][0].file)) for sid in meshes}
        grids = {sid: job() for sid, job in jobs.items()}
        timings["grids_s"] = time.perf_counter() - started - timings["read_s"]
        fields = {bone_ids[sid]: grids[sid][0].quantized() for sid in bone_ids}
        surfaces = {bone_ids[sid]: placed[sid] for sid in bone_ids}
        measured = measure_bones(fields, surfaces)
        fat = description.fat_thickness_mm if fat_thickness_mm is None else check_range(
            fat_thickness_mm, "fat_thickness_mm", *PARAMETER_RANGES["fat_thickness_mm"][:3])
        parameters, estimated = _estimated_parameters(measured, fat)
        bone_structures = {}
        for bone in sorted(fields, key=spine_index):
            mesh = surface_from_grid(fields[bone], target_faces=_BONE_FACES.get(bone, _DEFAULT_BONE_FACES))
            kind = "sacrum" if bone == "sacrum" else "vertebra"
            bone_structures[bone] = labelled_structure(bone, kind, fields[bone], mesh, "S1" if bone == "sacrum" else bone)
        extra = {}
        for sid, (entry, _, _) in meshes.items():
            if entry.bone:
                continue
            grid = grids[sid][0].quantized()
            extra[sid] = labelled_structure(sid, entry.kind, grid, surface_from_grid(grid, target_faces=8000),
                                            entry.level, entry.side)
        warnings: list[str] = []
        structures, landmarks, spine = complete_patient(measured, bone_structures, fields, parameters, start, extra=extra,
                                                        warnings=warnings)
    timings["total_s"] = time.perf_counter() - started
    bones = sorted(fields, key=spine_index)
    files = []
    for sid, (entry, mesh, unit) in meshes.items():
        grid, inside = grids[sid]
        on_surface = np.abs(grid.signed_distance(placed[sid].vertices))
        files.append({"file": entry.file, "structure": sid, "units": unit, "triangles": mesh.n_faces,
                      "watertight": inside.watertight, "hole_closing_mm": inside.hole_closing_mm,
                      "volume_cm3": round(inside.inside_volume_mm3 / 1000.0, 2),
                      "surface_to_field_mean_mm": round(float(on_surface.mean()), 3),
                      "surface_to_field_max_mm": round(float(on_surface.max()), 3)})
    residual = measured[reference].pose
    report = {
        "kind": "meshes", "source": str(path if described_by == DESCRIPTION_NAME else path.parent),
        "description": description.description, "described_by": described_by,
        "files": files, "bones_present": bones,
        "bones_absent": [b for b in (*LUMBAR_LEVELS, "sacrum") if b not in bones],
        "alignment": {"method": axes.method, "reference_bone": reference,
                      "posterior_spread_deg": {k: round(v, 2) for k, v in axes.posterior_spread_deg.items()},
                      "reference_residual_mm": round(float(np.linalg.norm(residual.translation_mm)), 3),
                      "reference_residual_deg": round(float(np.degrees(np.arccos(np.clip((np.trace(residual.rotation) - 1) / 2, -1, 1)))), 3),
                      "patient_from_file": np.round(patient_from_file, 6).tolist()},
        "parameters_estimated": estimated,
        "generated": sorted(set(structures) - set(bone_structures) - set(extra)),
        "imported": sorted([*bone_structures, *extra]),
        "absent_targets": nerve_coverage(bones, structures),
        "warnings": warnings,
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
    }
    anatomy = Anatomy(parameters, structures, landmarks, GENERATOR_VERSION, layout=spine, source=report)
    return ImportedPatient(anatomy, report)
