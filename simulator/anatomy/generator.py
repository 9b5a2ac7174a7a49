"""Build a whole patient: every structure's field, mesh and labels, from patient parameters.

The generator is deterministic: the same :class:`PatientParameters` give the same anatomy
(bit for bit on one machine). Fields are stored quantised (:meth:`GridField.quantized`) from
the start, so a freshly generated patient answers queries exactly as one loaded from files.

Examples
--------
>>> from simulator.anatomy import generate_patient, PatientParameters
>>> anatomy = generate_patient(PatientParameters())            # doctest: +SKIP
>>> anatomy.structures["medial_branch_L4_right"].kind          # doctest: +SKIP
'medial_branch'
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

from simulator.anatomy.ligaments import build_mamillo_accessory_ligaments
from simulator.anatomy.neural import build_dural_sac, build_nerves, junction_landmarks
from simulator.anatomy.paths import TubeSpec
from simulator.anatomy.parameters import PatientParameters
from simulator.anatomy.soft_tissue import (
    SKIN_THICKNESS_MM,
    body_envelope_function,
    fat_inner_function,
    paraspinal,
    psoas,
)
from simulator.anatomy.spine import BONES, SIDES, SpineLayout, build_layout
from simulator.anatomy.vessels import build_vessels
from simulator.fields import Bounds, GridField, LayerField, ShellField, TubeField, sample_grid, without_islands
from simulator.mesh import TriangleMesh, shell_mesh, surface_from_grid, tube_mesh
from simulator.structure import Structure

__all__ = ["Anatomy", "generate_patient", "build_around_bones", "job_runner", "labelled_structure", "GENERATOR_VERSION",
           "BONE_SPACING_MM", "SOFT_TISSUE_SPACING_MM"]

#: Bumped whenever the generated geometry changes, so stale asset folders are detected.
GENERATOR_VERSION = "4"

# Which structure owns a point inside several.
PRIORITY = {"body": 0, "fat": 10, "skin": 11, "muscle": 20, "ligament": 25, "dural_sac": 30, "disc": 40,
            "vertebra": 50, "sacrum": 50, "vein": 60, "artery": 61, "root": 70, "ventral_ramus": 70,
            "dorsal_ramus": 71, "ganglion": 72, "medial_branch": 73, "bone": 50}
ROLE = {"vertebra": "bone", "sacrum": "bone", "bone": "bone", "medial_branch": "target_nerve", "dorsal_ramus": "target_nerve",
        "root": "critical", "ganglion": "critical", "ventral_ramus": "critical", "dural_sac": "critical",
        "artery": "critical", "vein": "critical", "disc": "critical", "muscle": "soft_tissue",
        "ligament": "soft_tissue", "fat": "soft_tissue", "skin": "soft_tissue", "body": "soft_tissue"}
TISSUE = {"vertebra": "cancellous_bone", "sacrum": "cancellous_bone", "bone": "cancellous_bone", "disc": "disc", "dural_sac": "csf",
          "root": "nerve", "ganglion": "nerve", "ventral_ramus": "nerve", "dorsal_ramus": "nerve",
          "medial_branch": "nerve", "artery": "blood", "vein": "blood", "muscle": "muscle",
          "ligament": "ligament", "fat": "fat", "skin": "skin", "body": "soft_tissue"}
#: Cortical shell thickness of the generated bones (mm); an assumption, typical of lumbar
#: vertebral cortex (0.5-2 mm), to be replaced by a sourced value.
CORTICAL_THICKNESS_MM = 1.0
#: Grid spacings (mm): fine enough for the thinnest bony parts (5 mm transverse processes),
#: coarse enough to generate a patient in seconds.
BONE_SPACING_MM = 0.75
SOFT_TISSUE_SPACING_MM = 1.5
BODY_SPACING_MM = 2.5
#: Bone fields are exact within this distance of the surface (mm), and interpolated from exact
#: values farther out: a needle's bone contact and the 1 mm cortical shell need the surface.
BONE_EXACT_BAND_MM = 2.0


@dataclass(frozen=True, eq=False)
class Anatomy:
    """A patient: labelled structures and named landmarks, in mm in the patient frame (LPS)."""

    parameters: PatientParameters
    structures: dict[str, Structure]
    landmarks_mm: dict[str, np.ndarray] = field(default_factory=dict)
    generator_version: str = GENERATOR_VERSION
    #: The spine of an imported patient, fitted to its bones
    #: (:class:`simulator.patient_import.fitted_spine.FittedSpine`); ``None`` for a generated
    #: patient, whose layout follows from its parameters.
    layout: object | None = None
    #: The CT an imported patient was made from (:class:`simulator.patient_import.ct.CTVolume`;
    #: fluoroscopy images it), or ``None``.
    ct: object | None = None
    #: What the import found and did (sources, units, levels present and absent, alignment);
    #: empty for a generated patient.
    source: dict = field(default_factory=dict)


def labelled_structure(structure_id: str, kind: str, field_: object, mesh: TriangleMesh, level: str | None = None,
                       side: str | None = None) -> Structure:
    """A structure of ``kind`` with the kind's tissue, role and priority (bones with their
    cortical shell)."""
    is_bone = ROLE[kind] == "bone"
    return Structure(id=structure_id, kind=kind, tissue=TISSUE[kind], role=ROLE[kind], field=field_, mesh=mesh,
                     level=level, side=side or None, shell_tissue="cortical_bone" if is_bone else None,
                     shell_thickness_mm=CORTICAL_THICKNESS_MM if is_bone else 0.0, priority=PRIORITY[kind])


def _closed_grid(function: Callable[[np.ndarray], np.ndarray], bounds: Bounds, spacing_mm: float,
                 band_mm: float = 3.0) -> GridField:
    """Sample ``function`` on a grid that encloses its whole surface (grows the box if needed)."""
    lower, upper = np.array(bounds[0], dtype=float), np.array(bounds[1], dtype=float)
    for _ in range(6):
        grid = sample_grid(function, (tuple(lower), tuple(upper)), spacing_mm, band_mm=band_mm)
        v = grid.values
        margins = [v[0].min(), v[-1].min(), v[:, 0].min(), v[:, -1].min(), v[:, :, 0].min(), v[:, :, -1].min()]
        if min(margins) > spacing_mm:
            return grid
        for axis in range(3):
            if margins[2 * axis] <= spacing_mm:
                lower[axis] -= 12.0
            if margins[2 * axis + 1] <= spacing_mm:
                upper[axis] += 12.0
    raise RuntimeError("generator: a structure does not fit in its sampling box")  # a generator bug


def _without_islands(grid: GridField) -> GridField:
    """Keep only the largest solid region of a bone's field: cutting the joint spaces can leave
    crumbs of a process behind, and a bone is one piece."""
    return GridField(without_islands(grid.values, grid.spacing_mm), grid.origin_mm, grid.spacing_mm)


def _local_box_bounds(layout: SpineLayout, bone: str, lower: tuple[float, float, float],
                      upper: tuple[float, float, float]) -> Bounds:
    corners = np.array([[x, y, z] for x in (lower[0], upper[0]) for y in (lower[1], upper[1]) for z in (lower[2], upper[2])])
    world = layout.poses[bone].patient_from_local(corners)
    return tuple(world.min(axis=0)), tuple(world.max(axis=0))  # type: ignore[return-value]


def _bone_job(layout: SpineLayout, bone: str) -> tuple[GridField, TriangleMesh]:
    bounds = _local_box_bounds(layout, bone, *layout.local_box(bone))
    grid = _without_islands(_closed_grid(lambda p: layout.bone_distance(bone, p), bounds, BONE_SPACING_MM,
                                         band_mm=BONE_EXACT_BAND_MM))
    mesh = surface_from_grid(grid, target_faces=24000 if bone == "sacrum" else 16000)
    return grid.quantized(), mesh


def _disc_job(layout: SpineLayout, disc: str) -> tuple[GridField, TriangleMesh]:
    upper, lower = layout.disc_bones(disc)
    center = 0.5 * (layout.poses[upper].translation_mm + layout.poses[lower].translation_mm)
    half = np.array([0.5 * layout.shapes[upper].body_width + 8, 0.5 * layout.shapes[upper].body_depth + 10, 24.0])
    grid = _closed_grid(lambda p: layout.disc_distance(disc, p), (tuple(center - half), tuple(center + half)), 0.75)
    mesh = surface_from_grid(grid, target_faces=5000)
    return grid.quantized(), mesh


def _grid_bounds_of(points: np.ndarray, margin: float) -> Bounds:
    return tuple(points.min(axis=0) - margin), tuple(points.max(axis=0) + margin)  # type: ignore[return-value]


def _sac_job(layout: SpineLayout) -> tuple[GridField, TriangleMesh]:
    sac = build_dural_sac(layout)
    grid = _closed_grid(sac.distance, _grid_bounds_of(sac.centerline_mm, 16.0), 0.75)
    mesh = surface_from_grid(grid, target_faces=8000)
    return grid.quantized(), mesh


def _body_job(layout: SpineLayout) -> tuple[GridField, GridField, TriangleMesh, TriangleMesh, TriangleMesh]:
    """Body envelope (skin surface) and the core under the fat, with the surfaces between."""
    parameters = layout.parameters
    muscles = [paraspinal(layout, side) for side in SIDES.values()]
    fat_depth = parameters.fat_thickness_mm + SKIN_THICKNESS_MM
    centers = np.array([layout.poses[b].translation_mm for b in layout.bones])
    bounds = (tuple(centers.min(axis=0) - np.array([200.0, 190.0, 150.0]) * parameters.size_scale - fat_depth),
              tuple(centers.max(axis=0) + np.array([200.0, 150.0, 150.0]) * parameters.size_scale + fat_depth))
    body = _closed_grid(body_envelope_function(layout, muscles), bounds, BODY_SPACING_MM, band_mm=6.0)
    core = _closed_grid(fat_inner_function(layout, muscles), bounds, BODY_SPACING_MM, band_mm=6.0)
    # The skin follows the back's creases (spinous ridge, ends of the muscles) closely enough to
    # need the full grid; the surface under the fat is smooth enough for every other node.
    outer = surface_from_grid(body, target_faces=16000)
    below_skin = surface_from_grid(body, level_mm=-SKIN_THICKNESS_MM, target_faces=16000)
    under_fat = surface_from_grid(core, stride=2)
    return body.quantized(), core.quantized(), outer, below_skin, under_fat


def _muscle_job(layout: SpineLayout, name: str, bone_fields: list[GridField], core: GridField) -> tuple[GridField, TriangleMesh]:
    side = SIDES[name.split("_")[1]]
    sweep = psoas(layout, side) if name.startswith("psoas") else paraspinal(layout, side)
    def distance(points: np.ndarray) -> np.ndarray:
        bone = np.minimum.reduce([f.signed_distance(points) for f in bone_fields])
        muscle = np.maximum(sweep.distance(points), 0.3 - bone)  # bone is cut out of the muscle
        return np.maximum(muscle, core.signed_distance(points))  # and it stays under the fat

    grid = _closed_grid(distance, _grid_bounds_of(sweep.centerline_mm, 45.0), SOFT_TISSUE_SPACING_MM)
    mesh = surface_from_grid(grid, target_faces=10000)
    return grid.quantized(), mesh


def _min_bend_radius_mm(points: np.ndarray) -> float:
    """Smallest radius of curvature along a polyline (circumradius of consecutive triples)."""
    a, b, c = points[:-2], points[1:-1], points[2:]
    ab, bc, ac = (np.linalg.norm(u - v, axis=1) for u, v in ((b, a), (c, b), (c, a)))
    s = 0.5 * (ab + bc + ac)
    area = np.sqrt(np.maximum(s * (s - ab) * (s - bc) * (s - ac), 0.0))
    return float(np.min(ab * bc * ac / np.maximum(4.0 * area, 1e-12))) if len(points) > 2 else np.inf


def _tube_structure(spec: TubeSpec) -> Structure:
    field_ = TubeField(spec.points_mm, spec.radii_mm)
    radius = float(spec.radii_mm.max())
    if _min_bend_radius_mm(spec.points_mm) > 1.2 * radius:
        mesh = tube_mesh(spec.points_mm, spec.radii_mm, sides=10 if radius < 2.0 else 16)
    else:
        # A swept tube would fold on itself in a bend tighter than its radius: contour the
        # tube's own field instead, so mesh and field agree.
        spacing = max(radius / 4.0, 0.2)
        grid = _closed_grid(field_.signed_distance, _grid_bounds_of(spec.points_mm, radius + 3 * spacing), spacing)
        mesh = surface_from_grid(grid, target_faces=3000)
    return labelled_structure(spec.id, spec.kind, field_, mesh, spec.level, spec.side)


def generate_patient(parameters: PatientParameters | None = None, *, workers: int | None = None) -> Anatomy:
    """Generate a patient's anatomy.

    Parameters
    ----------
    parameters : PatientParameters, optional
        Patient parameters; the default adult when omitted.
    workers : int, optional
        Processes used for the gridded structures (default: the number of CPUs, at most 4).
        The result does not depend on it.
    """
    parameters = parameters or PatientParameters()
    layout = build_layout(parameters)
    with job_runner(workers) as start:
        # The longest jobs go first, so the pool's processes finish at about the same time.
        body_result = start(_body_job, layout)
        bone_results = {bone: start(_bone_job, layout, bone) for bone in ("sacrum", *BONES[:-1])}

        def bones() -> dict[str, Structure]:
            structures = {}
            for bone in BONES:
                grid, mesh = bone_results[bone]()
                kind = "sacrum" if bone == "sacrum" else "vertebra"
                structures[bone] = labelled_structure(bone, kind, grid, mesh, "S1" if bone == "sacrum" else bone)
            return structures

        structures, landmarks = build_around_bones(layout, bones, start, body_result=body_result)
    landmarks.update(_bone_landmarks(layout))
    return Anatomy(parameters, structures, landmarks)


@contextmanager
def job_runner(workers: int | None = None) -> Iterator[Callable[..., Callable[[], object]]]:
    """A ``start(job, *args)`` that runs jobs in a process pool (``workers`` processes, default:
    the CPUs, at most 4; 1: here, one after the other) and returns a function giving each
    job's result."""
    workers = workers or min(os.cpu_count() or 1, 4)
    pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 else None

    def start(job: Callable, *args: object) -> Callable[[], object]:
        if pool is None:
            result = job(*args)
            return lambda: result
        return pool.submit(job, *args).result

    try:
        yield start
    finally:
        if pool:
            pool.shutdown()


def build_around_bones(layout, bones: Callable[[], dict[str, Structure]], start: Callable[..., Callable[[], object]], *,
                       body_result: Callable[[], object] | None = None, soft_tissue: bool = True,
                       vessels: bool = True) -> tuple[dict[str, Structure], dict[str, np.ndarray]]:
    """Everything a patient has around its bones: discs, dural sac, nerves, ligaments, vessels,
    muscles, fat, skin and the body envelope, fitted to ``layout``.

    Parameters
    ----------
    layout : SpineLayout
        The generator's layout, or a spine fitted to imported bones (same attributes; only the
        bones it has get their discs and nerves).
    bones : callable
        Returns the bone structures by id (waits for them, when they are being made).
    start : callable
        Runs a job (:func:`job_runner`).
    body_result : callable, optional
        The body job's result, when it was started already.
    soft_tissue : bool, default: True
        Make the muscles, fat, skin and body envelope (a CT brings its own).
    vessels : bool, default: True
        Make the aorta, vena cava, iliac and lumbar vessels (they need L1-L5 and the sacrum).

    Returns
    -------
    structures : dict of str to Structure
        Bones first, then discs, dural sac, tubes (nerves, ligaments, vessels), muscles, body,
        skin and fat.
    landmarks : dict of str to numpy.ndarray
        The SAP-TP junction landmarks the nerves were built on (mm, patient frame).
    """
    if soft_tissue and body_result is None:
        body_result = start(_body_job, layout)
    disc_results = {disc: start(_disc_job, layout, disc) for disc in layout.discs}
    sac_result = start(_sac_job, layout)
    landmarks = junction_landmarks(layout)  # meanwhile, here

    structures = dict(bones())
    bone_fields = [s.field for s in structures.values() if s.role == "bone"]
    if soft_tissue:
        body, core, outer, below_skin, under_fat = body_result()
        muscle_names = [f"{muscle}_{side}" for muscle in ("psoas", "paraspinal") for side in SIDES]
        muscle_results = [start(_muscle_job, layout, name, bone_fields, core) for name in muscle_names]

    # Nerves and vessels are routed against the bone fields (fast, and what queries see).
    def bone_distance(points: np.ndarray) -> np.ndarray:
        return np.minimum.reduce([f.signed_distance(points) for f in bone_fields])

    nerves = build_nerves(layout, landmarks, bone_distance)
    medial_branches = {spec.id: spec for spec in nerves if spec.kind == "medial_branch"}
    ligaments = build_mamillo_accessory_ligaments(layout, medial_branches, bone_distance)
    tubes = [_tube_structure(spec) for spec in nerves + ligaments + (build_vessels(layout, bone_distance) if vessels else [])]
    for disc in layout.discs:
        grid, mesh = disc_results[disc]()
        structures[disc] = labelled_structure(disc, "disc", grid, mesh, disc.split("_")[1])
    sac_grid, sac_mesh = sac_result()
    structures["dural_sac"] = labelled_structure("dural_sac", "dural_sac", sac_grid, sac_mesh)
    structures.update((tube.id, tube) for tube in tubes)
    if soft_tissue:
        for name, result in zip(muscle_names, muscle_results):
            grid, mesh = result()
            structures[name] = labelled_structure(name, "muscle", grid, mesh, None, name.split("_")[1])
        structures["body"] = labelled_structure("body", "body", body, outer)
        structures["skin"] = labelled_structure("skin", "skin", ShellField(body, -SKIN_THICKNESS_MM, 0.0), shell_mesh(outer, below_skin))
        structures["subcutaneous_fat"] = labelled_structure("subcutaneous_fat", "fat", LayerField(body, -SKIN_THICKNESS_MM, core),
                                                    shell_mesh(below_skin, under_fat))
    return structures, landmarks


def _bone_landmarks(layout: SpineLayout) -> dict[str, np.ndarray]:
    """Body centres, endplate centres, pedicle centres and spinous tips (mm, patient frame)."""
    marks: dict[str, np.ndarray] = {}
    for level, shape in layout.shapes.items():
        pose = layout.poses[level]
        marks[f"body_center_{level}"] = pose.translation_mm.copy()
        marks[f"superior_endplate_{level}"] = pose.patient_from_local(np.array([[0, 0, 0.5 * shape.mid_height]]))[0]
        marks[f"inferior_endplate_{level}"] = pose.patient_from_local(np.array([[0, 0, -0.5 * shape.mid_height]]))[0]
        marks[f"spinous_tip_{level}"] = pose.patient_from_local(
            np.array([[0, shape.posterior_wall_y + shape.spinous_length, -0.2 * shape.mid_height]]))[0]
        for side_name, side in SIDES.items():
            marks[f"pedicle_{level}_{side_name}"] = pose.patient_from_local(
                np.array([[side * shape.pedicle_center_x, shape.isthmus_y, shape.pedicle_center_z]]))[0]
    sacrum = layout.poses["sacrum"]
    marks["superior_endplate_S1"] = sacrum.patient_from_local(np.array([[0, 0, 0.5 * layout.sacrum.body_height]]))[0]
    return marks
