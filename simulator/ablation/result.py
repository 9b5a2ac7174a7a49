"""One result type for every modality: the lesion, its sizes, what it reached, how it grew.

:class:`LesionResult` carries the lesion as a field on the model's grid (with the grid's
origin, axes and spacing, so a report can draw it), its mask and iso-surface in patient
coordinates, its volume (mm³), length along and width across the needle (mm), secondary zones
(the 50 °C isotherm, the ice ball, the bolus), time courses at the tip and at chosen points,
the length and fraction of the target nerve inside it, the volume of every other structure it
damaged, and a short report in plain words. :func:`build_result` makes one from a
:class:`~simulator.ablation.solver.Run`; every modality calls it.

Examples
--------
>>> result = rf_lesion(TissueBlock("muscle", perfused=False), block_needle("rf_18g_100mm_10mm"),
...                    RFSettings())                                   # doctest: +SKIP
>>> round(result.width_mm, 1), round(result.volume_mm3)              # doctest: +SKIP
(6.4, 299)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy.ndimage import map_coordinates

from simulator.ablation.grid import LesionGrid
from simulator.ablation.measure import LesionSize, lesion_size
from simulator.ablation.medium import Site, TissueBlock
from simulator.ablation.probe import ProbeShape
from simulator.ablation.solver import Run
from simulator.mesh import TriangleMesh
from simulator.scene import Scene

__all__ = ["LesionResult", "Zone", "TimeCourse", "build_result", "nerve_coverage", "combined_nerve_coverage",
           "damaged_volumes",
           "watch_points", "run_time_course", "NERVE_SAMPLE_MM"]

#: Step along a nerve's centreline when measuring how much of it lies in the lesion (mm).
NERVE_SAMPLE_MM = 0.1


@dataclass(frozen=True)
class Zone:
    """A region beside the lesion itself (the 50 °C isotherm, the ice ball, the bolus).

    ``field`` names the entry of :attr:`LesionResult.fields` it is read from; the zone is where
    that field is at least ``threshold`` (or at most, when ``below``).
    """

    name: str
    description: str
    field: str
    threshold: float
    below: bool
    size: LesionSize


@dataclass(frozen=True, eq=False)
class TimeCourse:
    """Values against time: ``series[name]`` (unit ``units[name]``) at ``time_s`` (s from the start)."""

    time_s: np.ndarray
    series: dict[str, np.ndarray]
    units: dict[str, str]


@dataclass(frozen=True, eq=False)
class LesionResult:
    """A lesion made by one modality.

    Parameters
    ----------
    modality : {"rf", "cryo", "chemical"}
        How it was made.
    settings : RFSettings, CryoSettings or ChemicalSettings
        The generator, probe or injection settings.
    site : str
        Where: ``"scene"`` or a description of the block.
    grid : LesionGrid
        The model's grid: origin (mm, LPS), axes, spacing (mm), shape.
    probe : ProbeShape
        The active tip as modelled (radius and length, mm).
    lesion_field : numpy.ndarray, shape grid.shape, float32
        The quantity that decides the lesion: it is inside where ``lesion_field >=
        lesion_threshold`` (log10 Ω for heat, degrees below 0 °C for cold, the kill dose for an
        agent).
    lesion_threshold : float
        See ``lesion_field``.
    lesion_definition : str
        The criterion in words ("Arrhenius Ω ≥ 1 (liver set)").
    size : LesionSize
        Volume (mm³), length along and width across the needle, reaches (mm).
    zones : dict of str to Zone
        Secondary regions.
    fields : dict of str to numpy.ndarray
        Physical fields on the grid (``peak_temperature_c``, ``min_temperature_c``,
        ``damage_omega``, ``peak_concentration_pct``, ...).
    time_course : TimeCourse
        Values at the tip and the chosen points against time.
    target_id : str or None
        The nerve the lesion is for (scene only).
    target_length_mm, target_fraction : float or None
        Length of the target's centreline inside the lesion (mm) and its fraction of the whole
        nerve.
    damaged_mm3 : dict of str to float
        Volume of every structure the lesion reaches (mm³), the target included.
    critical_ids : tuple of str
        Those of ``damaged_mm3`` that the procedure must spare (role "critical").
    steps : int
        Time steps taken.
    dt_s : float
        Largest time step, s.
    elapsed_s : float
        Wall-clock time the model took, s (the only field that differs between identical runs).
    report : str
        A short explanation for a trainee.
    """

    modality: str
    settings: Any
    site: str
    grid: LesionGrid
    probe: ProbeShape
    lesion_field: np.ndarray
    lesion_threshold: float
    lesion_definition: str
    size: LesionSize
    zones: dict[str, Zone]
    fields: dict[str, np.ndarray]
    time_course: TimeCourse
    target_id: str | None
    target_length_mm: float | None
    target_fraction: float | None
    damaged_mm3: dict[str, float]
    critical_ids: tuple[str, ...]
    steps: int
    dt_s: float
    elapsed_s: float
    report: str = field(default="")

    @property
    def volume_mm3(self) -> float:
        return self.size.volume_mm3

    @property
    def volume_ml(self) -> float:
        return self.size.volume_mm3 / 1000.0

    @property
    def length_mm(self) -> float:
        return self.size.length_mm

    @property
    def width_mm(self) -> float:
        return self.size.width_mm

    @property
    def origin_mm(self) -> np.ndarray:
        return self.grid.origin_mm

    @property
    def spacing_mm(self) -> float:
        return self.grid.spacing_mm

    @property
    def mask(self) -> np.ndarray:
        """Boolean lesion mask on the grid (index ``[i, j, k]``; see :attr:`grid`)."""
        return self.lesion_field >= self.lesion_threshold

    def zone_mask(self, name: str) -> np.ndarray:
        """Boolean mask of a zone."""
        zone = self.zones[name]
        values = self.fields[zone.field]
        return values <= zone.threshold if zone.below else values >= zone.threshold

    def mesh(self) -> TriangleMesh:
        """The lesion's boundary as a triangle mesh in patient mm (LPS), by marching cubes on
        ``lesion_field`` (needs VTK, imported here only)."""
        return _iso_surface(self.grid, self.lesion_field, self.lesion_threshold)

    def to_dict(self) -> dict:
        """Machine-readable summary (mm, mm³, s, °C)."""
        size = self.size
        course = self.time_course
        return {
            "modality": self.modality,
            "settings": _settings_dict(self.settings),
            "site": self.site,
            "lesion_definition": self.lesion_definition,
            "volume_mm3": round(size.volume_mm3, 2),
            "length_mm": round(size.length_mm, 3),
            "width_mm": round(size.width_mm, 3),
            "radial_reach_mm": round(size.radial_reach_mm, 3),
            "distal_reach_mm": round(size.distal_reach_mm, 3),
            "proximal_reach_mm": round(size.proximal_reach_mm, 3),
            "zones": {name: {"description": z.description, "volume_mm3": round(z.size.volume_mm3, 2),
                             "length_mm": round(z.size.length_mm, 3), "width_mm": round(z.size.width_mm, 3)}
                      for name, z in self.zones.items()},
            "target": self.target_id,
            "target_length_mm": None if self.target_length_mm is None else round(self.target_length_mm, 3),
            "target_fraction": None if self.target_fraction is None else round(self.target_fraction, 4),
            "damaged_mm3": {k: round(v, 2) for k, v in self.damaged_mm3.items()},
            "critical_damaged": list(self.critical_ids),
            "grid": {"origin_mm": [round(float(v), 4) for v in self.grid.origin_mm], "spacing_mm": self.grid.spacing_mm,
                     "shape": list(self.grid.shape), "axes": np.round(self.grid.axes, 6).tolist()},
            "time_course_end": {name: round(float(values[-1]), 3) for name, values in course.series.items()},
            "duration_s": round(float(course.time_s[-1]), 3),
            "steps": self.steps,
            "dt_s": round(self.dt_s, 5),
            "elapsed_s": round(self.elapsed_s, 3),
        }


def _settings_dict(settings: Any) -> dict:
    from dataclasses import asdict

    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(settings).items()}


def _iso_surface(grid: LesionGrid, values: np.ndarray, level: float) -> TriangleMesh:
    import pyvista as pv

    if not np.any(values >= level):
        return TriangleMesh(np.zeros((0, 3), dtype=np.float32), np.zeros((0, 3), dtype=np.int32))
    image = pv.ImageData(dimensions=grid.shape, spacing=(1.0, 1.0, 1.0))
    image.point_data["f"] = np.asarray(values, dtype=np.float32).ravel(order="F")
    surface = image.contour([level], scalars="f", method="flying_edges").triangulate().clean()
    faces = surface.faces.reshape(-1, 4)[:, 1:].astype(np.int32)
    vertices = grid.patient_from_index(np.asarray(surface.points)).astype(np.float32)
    mesh = TriangleMesh(vertices, faces)
    # Outward normals: the field is higher inside, so flip if the volume came out negative.
    return mesh if mesh.volume_mm3() >= 0 else TriangleMesh(vertices, faces[:, ::-1].copy())


def _nerve_samples(scene: Scene, target_id: str) -> tuple[np.ndarray, np.ndarray]:
    """Arc length (mm) and patient position of points every :data:`NERVE_SAMPLE_MM` along a nerve's centreline."""
    points = np.asarray(scene.structure(target_id).field.points_mm, dtype=float)
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    samples_arc = np.linspace(0.0, float(arc[-1]), max(int(np.ceil(arc[-1] / NERVE_SAMPLE_MM)), 1) + 1)
    return samples_arc, np.column_stack([np.interp(samples_arc, arc, points[:, a]) for a in range(3)])


def _inside(grid: LesionGrid, field: np.ndarray, threshold: float, points_mm: np.ndarray) -> np.ndarray:
    """Whether each patient point lies in ``field >= threshold`` (trilinear; outside the grid: no)."""
    index = grid.index_from_patient(points_mm)
    outside_value = float(np.min(field)) - 1.0
    values = map_coordinates(np.asarray(field, dtype=float), index.T, order=1, mode="constant", cval=outside_value)
    return values >= threshold


def _covered(samples_arc: np.ndarray, inside: np.ndarray) -> tuple[float, float]:
    both = inside[:-1] & inside[1:]
    length = float(np.sum(np.diff(samples_arc)[both]))
    total = float(samples_arc[-1])
    return length, (length / total if total > 0 else 0.0)


def nerve_coverage(scene: Scene, target_id: str, grid: LesionGrid, field: np.ndarray, threshold: float
                   ) -> tuple[float, float]:
    """Length (mm) of the target nerve's centreline inside ``field >= threshold`` and its fraction of the whole nerve."""
    samples_arc, points = _nerve_samples(scene, target_id)
    return _covered(samples_arc, _inside(grid, field, threshold, points))


def combined_nerve_coverage(scene: Scene, target_id: str, results: list["LesionResult"]) -> tuple[float, float]:
    """Length (mm) and fraction of a nerve's centreline inside any of several lesions: a
    procedure's lesions at several needle positions (procedure.md step 15), each stretch of
    nerve counted once.

    Examples
    --------
    >>> length, fraction = combined_nerve_coverage(scene, "medial_branch_L4_right", [first, three_mm_back])  # doctest: +SKIP
    >>> round(length, 1), round(fraction, 2)                                                              # doctest: +SKIP
    (8.8, 0.31)
    """
    samples_arc, points = _nerve_samples(scene, target_id)
    inside = np.zeros(len(points), dtype=bool)
    for result in results:
        inside |= _inside(result.grid, result.lesion_field, result.lesion_threshold, points)
    return _covered(samples_arc, inside)


def damaged_volumes(scene: Scene, grid: LesionGrid, mask: np.ndarray) -> dict[str, float]:
    """Volume (mm³) of each structure (not the body envelope) that the lesion's nodes fall in, largest first."""
    nodes = np.argwhere(mask)
    if len(nodes) == 0:
        return {}
    points = grid.patient_from_index(nodes)
    volumes = {}
    for structure_id in scene.ids_near(points, 0.0):
        if scene.structure(structure_id).kind == "body":
            continue
        count = int(np.count_nonzero(scene.signed_distance(structure_id, points) < 0.0))
        if count:
            volumes[structure_id] = count * grid.voxel_volume_mm3
    return dict(sorted(volumes.items(), key=lambda item: -item[1]))


def watch_points(grid: LesionGrid, probe: ProbeShape, extra_mm: object, unit: str) -> tuple[list[str], np.ndarray]:
    """Names and patient positions (mm) of the points whose values a model records: 1 mm beyond
    the tip on the axis, 2 mm from the probe's surface beside the middle of its active tip, and
    the caller's points (``point_0`` ...); ``unit`` ends every name (``"c"``, ``"pct"``)."""
    axis, across = grid.axes[:, 2], grid.axes[:, 0]
    tip = grid.patient_from_index([[grid.axis_index[0], grid.axis_index[1], grid.tip_index]])[0]
    middle = tip - 0.5 * probe.active_mm * axis
    extra = np.zeros((0, 3)) if extra_mm is None else np.asarray(extra_mm, dtype=float).reshape(-1, 3)
    names = [f"beyond_tip_1mm_{unit}", f"lateral_2mm_{unit}"] + [f"point_{i}_{unit}" for i in range(len(extra))]
    return names, np.vstack([tip + axis, middle + (probe.radius_mm + 2.0) * across, extra])


def run_time_course(run: Run) -> TimeCourse:
    """The records of a run as a :class:`TimeCourse`, named and scaled by its
    :class:`~simulator.ablation.solver.Recording`: the probe's value and power (W) when there is
    a probe, then the watched points."""
    rec = run.recording
    series: dict[str, np.ndarray] = {}
    if rec.body_name is not None:
        series = {rec.body_name: rec.scale * run.body_value, "power_w": run.body_power_w}
    series.update({name: rec.scale * run.probes[:, i] for i, name in enumerate(rec.point_names)})
    return TimeCourse(run.time_s, series, {name: ("W" if name == "power_w" else rec.unit) for name in series})


def site_name(site: Site, perfused: bool) -> str:
    """How a site is named in results and reports."""
    state = "perfused" if perfused else "ex vivo, no perfusion"
    if isinstance(site, TissueBlock):
        return f"block of {site.tissue} ({state}, {site.temperature_c:g} °C)"
    return "scene" if perfused else "scene, no perfusion"


def build_result(*, modality: str, settings: Any, site: Site, grid: LesionGrid, probe: ProbeShape,
                 lesion_field: np.ndarray, lesion_threshold: float, lesion_definition: str,
                 zones: list[tuple[str, str, str, float, bool]], fields: dict[str, np.ndarray],
                 time_course: TimeCourse, target_id: str | None, steps: int, dt_s: float, started: float,
                 perfused: bool) -> LesionResult:
    """Measure a modelled lesion and write its report.

    ``zones`` are ``(name, description, field name, threshold, below)``; ``started`` is the
    ``time.perf_counter()`` at the start of the model, for :attr:`LesionResult.elapsed_s`;
    ``perfused`` whether blood perfusion was on.
    """
    from simulator.ablation.explain import describe

    stored = {name: np.asarray(values, dtype=np.float32) for name, values in fields.items()}
    lesion = np.asarray(lesion_field, dtype=np.float32)
    size = lesion_size(grid, lesion, lesion_threshold, probe.radius_mm, probe.active_mm)
    zone_values = {}
    for name, description, field_name, threshold, below in zones:
        values = stored[field_name]
        oriented, level = (-values, -threshold) if below else (values, threshold)
        zone_values[name] = Zone(name, description, field_name, threshold, below,
                                 lesion_size(grid, oriented, level, probe.radius_mm, probe.active_mm))
    target_length = target_fraction = None
    damaged: dict[str, float] = {}
    critical: tuple[str, ...] = ()
    if isinstance(site, Scene):
        mask = lesion >= lesion_threshold
        damaged = damaged_volumes(site, grid, mask)
        critical = tuple(s for s in damaged if site.structure(s).role == "critical" and s != target_id)
        if target_id is not None:
            target_length, target_fraction = nerve_coverage(site, target_id, grid, lesion, lesion_threshold)
    result = LesionResult(modality, settings, site_name(site, perfused), grid, probe, lesion, lesion_threshold, lesion_definition,
                          size, zone_values, stored, time_course, target_id, target_length, target_fraction, damaged,
                          critical, steps, dt_s, 0.0)
    return replace(result, report=describe(result), elapsed_s=time.perf_counter() - started)
