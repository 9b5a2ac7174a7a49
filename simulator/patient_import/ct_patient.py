"""Importing a patient from a CT: the real CT for fluoroscopy, bones from its labels.

:func:`import_ct` reads a CT (:mod:`.ct`) and, optionally, its label map, and makes a patient:

- the **body** is the CT's largest region above −500 HU with its holes filled; outside it the CT
  is set to air (the couch and the cushions go); the **skin** is its outer 2 mm and the
  **subcutaneous fat** the layer between the skin and the core (what is not fat, −190 to −30 HU,
  under the skin);
- each labelled **vertebra** and the sacrum becomes a bone: its label, smoothed and contoured,
  gets the same robust signed-distance grid and measurements as an imported mesh
  (:mod:`.inside`, :mod:`.landmarks`); bone that no label names (HU ≥ 200) becomes one
  unlabelled ``bone`` structure, so a needle meets it too;
- labelled **muscles** (erector spinae, psoas) and **vessels** (aorta, vena cava) are taken as
  they are;
- discs, dural sac, nerves, ganglia, rami, medial branches and mamillo-accessory ligaments are
  **generated** on the bones as for imported meshes, for the levels the labels give (a CT that
  shows L1-L2 gets the L1 medial branch, which runs over L2, and the L1-L2 roots, and no more).

The patient frame keeps the CT's orientation (LPS, as scanned) with its origin at the reference
vertebra's body centre (L3, else the middle labelled lumbar vertebra); the fluoroscope images
the CT itself (:class:`~simulator.fluoro.volume.MaterialVolume`).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from scipy import ndimage

from simulator.anatomy.generator import (BODY_SPACING_MM, BONE_SPACING_MM, GENERATOR_VERSION, SOFT_TISSUE_SPACING_MM,
                                         Anatomy, job_runner, labelled_structure)
from simulator.anatomy.morphometry import LUMBAR_LEVELS
from simulator.anatomy.pose import Pose
from simulator.anatomy.soft_tissue import SKIN_THICKNESS_MM
from simulator.errors import AssetError
from simulator.fields import GridField, LayerField, ShellField
from simulator.mesh import TriangleMesh, shell_mesh, surface_from_grid
from simulator.patient_import.alignment import spine_index
from simulator.patient_import.build import (ImportedPatient, _estimated_parameters, complete_patient, measure_bones,
                                            nerve_coverage, reference_bone)
from simulator.patient_import.ct import TOTALSEGMENTATOR, CTImage, CTVolume, read_ct, read_labels
from simulator.patient_import.inside import signed_distance_grid
from simulator.patient_import.landmarks import BoneMeasurement

__all__ = ["import_ct", "mask_field", "mask_surface", "BONE_HU"]

#: Bone threshold for bone that no label names, HU (cancellous bone of the tissue table is ~310).
BONE_HU = 200.0
#: Body threshold, HU (fat is about -100, air -1000).
BODY_HU = -500.0
#: Subcutaneous fat, HU (fat's usual window).
FAT_HU = (-190.0, -30.0)


def _axis_along(patient_from_index: np.ndarray, direction: np.ndarray) -> int:
    return int(np.argmax(np.abs(direction @ patient_from_index[:3, :3])))


def body_mask(ct: CTImage) -> np.ndarray:
    """The body: the largest region above :data:`BODY_HU`, its holes (lungs, bowel gas) filled
    slice by slice."""
    inside = ct.hu > BODY_HU
    labels, count = ndimage.label(inside)
    if count == 0:
        raise AssetError(ct.path, f"no body in the CT (no voxel above {BODY_HU:g} HU)")
    largest = 1 + int(np.argmax(ndimage.sum_labels(np.ones_like(labels), labels, index=np.arange(1, count + 1))))
    body = labels == largest
    axis = _axis_along(ct.patient_from_index, np.array([0.0, 0.0, 1.0]))
    filled = np.stack([ndimage.binary_fill_holes(np.take(body, k, axis=axis)) for k in range(body.shape[axis])], axis=axis)
    return filled


def mask_field(mask: np.ndarray, patient_from_index: np.ndarray, spacing_mm: float, margin_mm: float = 8.0) -> GridField:
    """Signed distance (mm) of a voxel mask's boundary, on an isotropic grid of the patient frame.

    The distance is Euclidean on the CT's voxels (each axis its own spacing), measured to the
    voxels' faces (half a voxel between an inside and an outside centre), then resampled
    trilinearly onto the grid. Good to about a voxel: for the body, muscles and vessels.
    """
    spacing = np.linalg.norm(patient_from_index[:3, :3], axis=0)
    index = np.argwhere(mask)
    low = np.maximum(index.min(axis=0) - np.ceil(margin_mm / spacing).astype(int) - 1, 0)
    high = np.minimum(index.max(axis=0) + np.ceil(margin_mm / spacing).astype(int) + 2, mask.shape)
    crop = mask[tuple(slice(a, b) for a, b in zip(low, high))]
    outside = ndimage.distance_transform_edt(~crop, sampling=spacing)
    inside = ndimage.distance_transform_edt(crop, sampling=spacing)
    half = 0.5 * float(spacing.min())
    signed = np.where(crop, half - inside, outside - half)
    corners = np.array([[a, b, c] for a in (low[0], high[0] - 1) for b in (low[1], high[1] - 1) for c in (low[2], high[2] - 1)])
    world = corners @ patient_from_index[:3, :3].T + patient_from_index[:3, 3]
    lower, upper = world.min(axis=0), world.max(axis=0)
    shape = np.floor((upper - lower) / spacing_mm).astype(int) + 1
    axes = [lower[a] + np.arange(shape[a]) * spacing_mm for a in range(3)]
    points = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    index_from_patient = np.linalg.inv(patient_from_index)
    voxel = points @ index_from_patient[:3, :3].T + index_from_patient[:3, 3] - low
    values = ndimage.map_coordinates(signed, voxel.T, order=1, mode="nearest").reshape(tuple(shape))
    return GridField(values.astype(np.float32), tuple(map(float, lower)), float(spacing_mm))


def mask_surface(mask: np.ndarray, patient_from_index: np.ndarray) -> TriangleMesh:
    """A smooth closed surface round a voxel mask (patient frame, mm): the mask, smoothed
    (Gaussian, σ = 0.6 voxel) and upsampled to 1.5 mm or finer, contoured at one half."""
    import pyvista as pv

    spacing = np.linalg.norm(patient_from_index[:3, :3], axis=0)
    index = np.argwhere(mask)
    low = np.maximum(index.min(axis=0) - 3, 0)
    high = np.minimum(index.max(axis=0) + 4, mask.shape)
    crop = np.pad(mask[tuple(slice(a, b) for a, b in zip(low, high))].astype(np.float32), 2)
    smooth = ndimage.gaussian_filter(crop, 0.6)
    factor = np.maximum(np.ceil(spacing / 1.5), 1)
    fine = ndimage.zoom(smooth, factor, order=1, grid_mode=False)
    grid = pv.ImageData(dimensions=fine.shape)
    grid.point_data["m"] = fine.ravel(order="F")
    surface = grid.contour([0.5], scalars="m", method="flying_edges").triangulate().clean()
    if surface.n_cells == 0:
        raise AssetError("label", "a label too small to have a surface")
    steps = (np.asarray(crop.shape) - 1) / np.maximum(np.asarray(fine.shape) - 1, 1)
    voxel = np.asarray(surface.points) * steps - 2 + low
    points = voxel @ patient_from_index[:3, :3].T + patient_from_index[:3, 3]
    return TriangleMesh(points.astype(np.float64), surface.faces.reshape(-1, 4)[:, 1:].astype(np.int32))


def _bone_job(mask: np.ndarray, patient_from_index: np.ndarray, name: str):
    surface = mask_surface(mask, patient_from_index)
    field, report = signed_distance_grid(surface, name, spacing_mm=BONE_SPACING_MM)
    return surface, field, report


def _translated(field: GridField, shift: np.ndarray) -> GridField:
    return GridField(field.values, tuple(np.asarray(field.origin_mm) + shift), field.spacing_mm)


def import_ct(path: str | Path, *, labels: str | Path | None = None, label_slice_offset: int | None = None,
              workers: int | None = None) -> ImportedPatient:
    """Import a patient from a CT (NIfTI file or DICOM folder) and an optional label map.

    Parameters
    ----------
    path : str or Path
        The CT.
    labels : str or Path, optional
        A TotalSegmentator-style label map (NIfTI) on the CT's grid (:func:`.ct.read_labels`).
        Without it, bone is found by threshold and has no level: no nerves are made.
    label_slice_offset : int, optional
        Where the label map's first slice lies in the CT (default: its affine, checked).
    workers : int, optional
        Processes (default: CPUs, at most 4).

    Raises
    ------
    AssetError
        Naming the file: unreadable, without spacing, a label map that does not fit, a
        labelled bone whose landmarks cannot be found.
    """
    started = time.perf_counter()
    ct = read_ct(path)
    body = body_mask(ct)
    hu = np.where(body, ct.hu, -1000).astype(np.int16)
    label_map, label_info, warnings = None, {}, []
    if labels is not None:
        label_map, label_info = read_labels(labels, ct, slice_offset=label_slice_offset)
        if "searched" in label_info.get("placement", ""):
            warnings.append(f"label map placed at {label_info['placement']}: at its affine's position only "
                            f"{label_info['on_bone_fraction_by_affine']:.0%} of its vertebra voxels are bone, here "
                            f"{label_info['on_bone_fraction']:.0%}")
    affine = ct.patient_from_index
    bone_labels = {} if label_map is None else {
        name: value for value, (name, kind) in TOTALSEGMENTATOR.items()
        if kind in ("vertebra", "sacrum") and np.count_nonzero(label_map == value) >= 200}
    with job_runner(workers) as start:
        jobs = {bone: start(_bone_job, label_map == value, affine, f"{Path(labels).name} label {value} ({bone})")
                for bone, value in bone_labels.items()}
        results = {bone: job() for bone, job in jobs.items()}
        fields = {bone: r[1].quantized() for bone, r in results.items()}
        surfaces = {bone: r[0] for bone, r in results.items()}
        measured, failed = {}, {}
        if fields:
            for bone in sorted(fields, key=spine_index):
                try:
                    measured.update(measure_bones({bone: fields[bone]}, {bone: surfaces[bone]})
                                    if bone != "sacrum" else {})
                except AssetError as error:
                    failed[bone] = str(error)
            if "sacrum" in fields:
                try:
                    measured.update({k: v for k, v in measure_bones(
                        {b: fields[b] for b in fields if b in measured or b == "sacrum"},
                        {b: surfaces[b] for b in fields if b in measured or b == "sacrum"}).items() if k == "sacrum"})
                except AssetError as error:
                    failed["sacrum"] = str(error)
        for bone, problem in failed.items():
            warnings.append(f"{bone} kept as bone without landmarks (no nerves on it): {problem}")
        # The frame: the scanner's axes, the reference vertebra's body centre at the origin.
        reference = reference_bone(list(measured)) if measured else None
        shift = -measured[reference].pose.translation_mm if reference else -CTVolume(hu, affine).center_mm()
        patient_from_index = affine.copy()
        patient_from_index[:3, 3] += shift
        fields = {b: _translated(f, shift) for b, f in fields.items()}
        measured = {b: BoneMeasurement(m.bone, Pose(m.pose.rotation, m.pose.translation_mm + shift), m.shape,
                                       {k: v + shift for k, v in m.points_mm.items()}) for b, m in measured.items()}
        bone_structures = {}
        for bone in sorted(fields, key=spine_index):
            mesh = surface_from_grid(fields[bone], target_faces=24000 if bone == "sacrum" else 16000)
            kind = "sacrum" if bone == "sacrum" else "vertebra"
            bone_structures[bone] = labelled_structure(bone, kind, fields[bone], mesh, "S1" if bone == "sacrum" else bone)
        labelled = np.zeros(ct.hu.shape, bool) if label_map is None else np.isin(label_map, list(bone_labels.values()))
        # Unlabelled bone: what is dense and not a labelled vertebra (a millimetre round the labels spared).
        other = (ct.hu >= BONE_HU) & body & ~ndimage.binary_dilation(labelled, iterations=1)
        other = ndimage.binary_opening(other)
        extra = {}
        if other.sum() >= 200:
            grid = mask_field(other, patient_from_index, SOFT_TISSUE_SPACING_MM).quantized()
            extra["bone_unlabelled"] = labelled_structure("bone_unlabelled", "bone", grid,
                                                          surface_from_grid(grid, target_faces=40000))
        for value, (name, kind) in TOTALSEGMENTATOR.items():
            if kind not in ("muscle", "artery", "vein") or label_map is None or np.count_nonzero(label_map == value) < 50:
                continue
            grid = mask_field(label_map == value, patient_from_index, SOFT_TISSUE_SPACING_MM).quantized()
            side = name.rsplit("_", 1)[1] if name.endswith(("_left", "_right")) else None
            extra[name] = labelled_structure(name, kind, grid, surface_from_grid(grid, target_faces=10000), None, side)
        body_field = mask_field(body, patient_from_index, BODY_SPACING_MM, margin_mm=12.0).quantized()
        fat = (ct.hu >= FAT_HU[0]) & (ct.hu <= FAT_HU[1])
        core = body & ~(fat & ~ndimage.binary_erosion(body, iterations=int(np.ceil(40.0 / min(ct.spacing_mm)))))
        core = ndimage.binary_opening(core, iterations=1)
        core_field = mask_field(core, patient_from_index, BODY_SPACING_MM, margin_mm=12.0).quantized()
        outer = surface_from_grid(body_field, target_faces=16000)
        below_skin = surface_from_grid(body_field, level_mm=-SKIN_THICKNESS_MM, target_faces=16000)
        under_fat = surface_from_grid(core_field, target_faces=16000)
        if measured:
            parameters, estimated = _estimated_parameters(measured, 15.0)
            structures, landmarks, spine = complete_patient(measured, {b: bone_structures[b] for b in measured},
                                                            {b: fields[b] for b in measured}, parameters, start,
                                                            soft_tissue=False, extra=None, warnings=warnings)
            for bone, structure in bone_structures.items():  # bones without landmarks stay bones
                structures.setdefault(bone, structure)
        else:
            from simulator.anatomy.parameters import PatientParameters

            parameters, estimated, spine, landmarks = PatientParameters(), {}, None, {}
            structures = dict(bone_structures)
            warnings.append("no labelled vertebra: bone found by threshold only, without levels; no nerves generated "
                            "(give a label map)")
    structures.update(extra)
    structures["body"] = labelled_structure("body", "body", body_field, outer)
    structures["skin"] = labelled_structure("skin", "skin", ShellField(body_field, -SKIN_THICKNESS_MM, 0.0),
                                            shell_mesh(outer, below_skin))
    structures["subcutaneous_fat"] = labelled_structure("subcutaneous_fat", "fat",
                                                        LayerField(body_field, -SKIN_THICKNESS_MM, core_field),
                                                        shell_mesh(below_skin, under_fat))
    bones = sorted(measured, key=spine_index)
    report = {
        "kind": "ct", "source": str(path), "labels_file": str(labels) if labels else None,
        "ct": {"shape": list(ct.hu.shape), "spacing_mm": [round(s, 4) for s in ct.spacing_mm], "kvp": ct.kvp,
               "body_voxels": int(body.sum())},
        "labels": label_info, "bones_present": bones + sorted(set(fields) - set(measured)),
        "bones_absent": [b for b in (*LUMBAR_LEVELS, "sacrum") if b not in measured],
        "alignment": {"method": "CT orientation (LPS as scanned)", "reference_bone": reference,
                      "patient_from_scanner_mm": np.round(shift, 3).tolist()},
        "parameters_estimated": estimated,
        "generated": sorted(set(structures) - set(bone_structures) - set(extra) - {"body", "skin", "subcutaneous_fat"}),
        "imported": sorted([*bone_structures, *extra, "body", "skin", "subcutaneous_fat"]),
        "absent_targets": nerve_coverage(bones, structures),
        "warnings": warnings,
        "timings_s": {"total_s": round(time.perf_counter() - started, 2)},
    }
    if label_map is not None and "dural_sac" in structures and np.any(label_map == 79):
        cord = np.argwhere(label_map == 79)
        points = cord @ patient_from_index[:3, :3].T + patient_from_index[:3, 3]
        near = points[np.all((points >= np.array(structures["dural_sac"].field.bounds[0]))
                             & (points <= np.array(structures["dural_sac"].field.bounds[1])), axis=1)]
        if len(near):
            report["labels"]["spinal_cord_in_generated_dural_sac"] = round(
                float(np.mean(structures["dural_sac"].field.signed_distance(near) < 0)), 3)
    anatomy = Anatomy(parameters, structures, landmarks, GENERATOR_VERSION, layout=spine, ct=CTVolume(hu, patient_from_index),
                      source=report)
    return ImportedPatient(anatomy, report)
