"""The patient scene: structures, tissues and spatial queries.

A :class:`Scene` answers, for many points at once and in mm in the patient frame (LPS):
the signed distance to any structure, which structure and tissue a point is in, which
structures a line segment crosses (with entry and exit depths), and a rasterised label volume
with the tissue property table that fluoroscopy and ablation read.

Examples
--------
>>> scene = Scene.load()                                             # doctest: +SKIP
>>> scene.signed_distance("L4", [[0.0, 0.0, -40.0]])                 # doctest: +SKIP
array([-8.1])
>>> [c.structure_id for c in scene.segment_crossings(entry, target)]  # doctest: +SKIP
['skin', 'subcutaneous_fat', 'paraspinal_right', 'L5']
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from simulator._validation import check_points, check_range
from simulator.anatomy.generator import Anatomy, generate_patient
from simulator.anatomy.parameters import PatientParameters
from simulator.errors import AbsentStructureError, ParameterError, UnknownStructureError
from simulator.fields import Bounds
from simulator.structure import Structure

if TYPE_CHECKING:
    from simulator.anatomy.spine import SpineLayout
from simulator.tissues import TISSUES

__all__ = ["Scene", "Crossing", "LabelVolume", "OUTSIDE", "GENERIC_TISSUE"]

#: Tissue of points outside the body.
OUTSIDE = "air"
#: Tissue of points inside the body but in no modelled structure (viscera, fascia, ...).
GENERIC_TISSUE = "soft_tissue"


@dataclass(frozen=True)
class Crossing:
    """A structure crossed by a segment, with depths measured from the segment's start (mm)."""

    structure_id: str
    kind: str
    tissue: str
    role: str
    entry_mm: float
    exit_mm: float
    starts_inside: bool
    ends_inside: bool

    @property
    def length_mm(self) -> float:
        return self.exit_mm - self.entry_mm


@dataclass(frozen=True, eq=False)
class LabelVolume:
    """A rasterised scene.

    Parameters
    ----------
    structure_labels : numpy.ndarray, shape (nx, ny, nz), int16
        Index into ``structure_ids`` at each voxel centre; 0 is "no structure" (air).
    tissue_labels : numpy.ndarray, shape (nx, ny, nz), uint8
        Index into ``tissue_ids``.
    origin_mm : tuple of float
        Centre of voxel [0, 0, 0] in mm.
    spacing_mm : float
        Voxel size in mm.
    """

    structure_labels: np.ndarray
    tissue_labels: np.ndarray
    structure_ids: tuple[str, ...]
    tissue_ids: tuple[str, ...]
    origin_mm: tuple[float, float, float]
    spacing_mm: float

    def property_volume(self, values_by_tissue: dict[str, float]) -> np.ndarray:
        """Map a per-tissue value (e.g. attenuation per mm) onto the voxels, float32."""
        lookup = np.array([values_by_tissue[t] for t in self.tissue_ids], dtype=np.float32)
        return lookup[self.tissue_labels]

    def voxel_volume_mm3(self, structure_id: str) -> float:
        """Rasterised volume of a structure in mm³."""
        index = self.structure_ids.index(structure_id)
        return float(np.count_nonzero(self.structure_labels == index)) * self.spacing_mm**3


def _in_bounds(points: np.ndarray, bounds: Bounds, margin: float = 0.0) -> np.ndarray:
    lower, upper = np.asarray(bounds[0]) - margin, np.asarray(bounds[1]) + margin
    return np.all((points >= lower) & (points <= upper), axis=1)


class Scene:
    """A patient's structures with spatial queries.

    Parameters
    ----------
    anatomy : Anatomy
        The generated or loaded patient.
    """

    def __init__(self, anatomy: Anatomy) -> None:
        self.anatomy = anatomy
        self._structures = dict(anatomy.structures)
        # Highest priority first: it owns points that lie in several structures.
        self._by_priority = sorted(self._structures.values(), key=lambda s: -s.priority)

    @classmethod
    def load(cls, folder: str | Path | None = None) -> "Scene":
        """Load an anatomy folder (the shipped default patient when omitted)."""
        from simulator.anatomy.assets import load_anatomy

        return cls(load_anatomy(folder))

    @classmethod
    def generate(cls, parameters: PatientParameters | None = None) -> "Scene":
        """Generate a patient (see :func:`simulator.anatomy.generate_patient`)."""
        return cls(generate_patient(parameters))

    # -- lookup ---------------------------------------------------------------------------
    @property
    def parameters(self) -> PatientParameters:
        return self.anatomy.parameters

    @property
    def landmarks_mm(self) -> dict[str, np.ndarray]:
        return self.anatomy.landmarks_mm

    @cached_property
    def layout(self) -> "SpineLayout":
        """Shapes and poses of the bones (to name the part of a bone a needle touches, to measure
        angles against a bone's frame): the spine fitted to an imported patient's bones, or the
        generated one."""
        if self.anatomy.layout is not None:
            return self.anatomy.layout
        from simulator.anatomy.spine import build_layout

        return build_layout(self.parameters)

    def structure(self, structure_id: str) -> Structure:
        """The structure with this id (e.g. ``"medial_branch_L4_right"``)."""
        try:
            return self._structures[structure_id]
        except KeyError:
            absent = self.anatomy.source.get("absent_targets", {})
            if structure_id in absent:
                raise AbsentStructureError(structure_id, absent[structure_id],
                                           self.anatomy.source.get("bones_present", [])) from None
            raise UnknownStructureError(structure_id, list(self._structures)) from None

    def landmark(self, name: str) -> np.ndarray:
        """A named landmark position in mm (e.g. ``"sap_tp_junction_L5_right"``)."""
        try:
            return self.anatomy.landmarks_mm[name].copy()
        except KeyError:
            raise UnknownStructureError(name, list(self.anatomy.landmarks_mm), what="landmark") from None

    def ids(self, *, kind: str | None = None, role: str | None = None, level: str | None = None,
            side: str | None = None) -> list[str]:
        """Structure ids, optionally filtered by kind, role, level and side."""
        return [s.id for s in self._structures.values()
                if (kind is None or s.kind == kind) and (role is None or s.role == role)
                and (level is None or s.level == level) and (side is None or s.side == side)]

    def __contains__(self, structure_id: str) -> bool:
        return structure_id in self._structures

    def __len__(self) -> int:
        return len(self._structures)

    @cached_property
    def _bounds_table(self) -> tuple[list[Structure], np.ndarray, np.ndarray]:
        structures = list(self._structures.values())
        lower = np.array([s.field.bounds[0] for s in structures])
        upper = np.array([s.field.bounds[1] for s in structures])
        return structures, lower, upper

    def ids_near(self, points: object, margin_mm: float, *, kinds: tuple[str, ...] | None = None,
                 role: str | None = None) -> list[str]:
        """Ids of the structures whose bounding box comes within ``margin_mm`` of the box of
        ``points`` (a fast first pass before exact distances), optionally of given kinds or role."""
        points = check_points(points)
        structures, lower, upper = self._bounds_table
        near = np.all(lower <= points.max(axis=0) + margin_mm, axis=1) & np.all(upper >= points.min(axis=0) - margin_mm, axis=1)
        return [s.id for s, ok in zip(structures, near)
                if ok and (kinds is None or s.kind in kinds) and (role is None or s.role == role)]

    # -- point queries --------------------------------------------------------------------
    def signed_distance(self, structure_id: str, points: object) -> np.ndarray:
        """Signed distance (mm, negative inside) from each point to a structure's surface.

        Parameters
        ----------
        structure_id : str
            Id of the structure.
        points : array_like, shape (n, 3) or (3,)
            Points in mm, patient frame.
        """
        return self.structure(structure_id).field.signed_distance(check_points(points))

    def contains(self, structure_id: str, points: object) -> np.ndarray:
        """Whether each point lies inside a structure (boolean array)."""
        return self.signed_distance(structure_id, points) < 0.0

    def structure_at(self, points: object) -> np.ndarray:
        """Id of the structure owning each point (highest priority); ``""`` outside the body.

        Returns an array of Python strings (dtype object), one per point.
        """
        points = check_points(points)
        owner = np.full(len(points), "", dtype=object)
        open_ = np.ones(len(points), dtype=bool)
        for s in self._by_priority:
            candidates = open_ & _in_bounds(points, s.field.bounds)
            if not candidates.any():
                continue
            index = np.nonzero(candidates)[0]
            inside = s.field.signed_distance(points[index]) < 0.0
            owner[index[inside]] = s.id
            open_[index[inside]] = False
        return owner

    def tissue_at(self, points: object) -> np.ndarray:
        """Tissue id at each point (``"air"`` outside the body; cortical shells included)."""
        points = check_points(points)
        owners = self.structure_at(points)
        tissues = np.full(len(points), OUTSIDE, dtype=object)
        for structure_id in set(owners) - {""}:
            s = self._structures[structure_id]
            index = np.nonzero(owners == structure_id)[0]
            tissues[index] = s.tissue
            if s.shell_tissue:
                depth = s.field.signed_distance(points[index])
                tissues[index[depth > -s.shell_thickness_mm]] = s.shell_tissue
        tissues[(owners == "body")] = GENERIC_TISSUE
        return tissues

    # -- segment queries ------------------------------------------------------------------
    def segment_crossings(self, start: object, end: object, *, step_mm: float = 0.2,
                          include_body: bool = False) -> list[Crossing]:
        """Structures crossed by the segment from ``start`` to ``end``, ordered by entry depth.

        Each crossing gives the depths (mm from ``start``) where the segment enters and leaves
        the structure, refined to 0.001 mm. A structure entered twice appears twice. Structures
        thinner than ``step_mm`` along the segment can only be missed when the segment grazes
        them: between two samples a crossing is ruled out only when the distances prove it.

        Parameters
        ----------
        start, end : array_like, shape (3,)
            Segment ends in mm.
        step_mm : float, default: 0.2
            Sampling step along the segment in mm (0.01 to 5).
        include_body : bool, default: False
            Also report the body envelope (always crossed from skin to tip).
        """
        start_point, end_point = check_points(start)[0], check_points(end)[0]
        step_mm = check_range(step_mm, "step_mm", 0.01, 5.0, "mm")
        length = float(np.linalg.norm(end_point - start_point))
        if length == 0.0:
            raise ParameterError("end", end, "a point different from start")
        direction = (end_point - start_point) / length
        count = max(int(np.ceil(length / step_mm)), 1)
        depths = np.linspace(0.0, length, count + 1)
        samples = start_point + depths[:, None] * direction
        lower, upper = samples.min(axis=0), samples.max(axis=0)
        crossings: list[Crossing] = []
        for s in self._structures.values():
            if s.kind == "body" and not include_body:
                continue
            b_lo, b_hi = np.asarray(s.field.bounds[0]), np.asarray(s.field.bounds[1])
            if np.any(b_lo > upper) or np.any(b_hi < lower):
                continue
            crossings.extend(self._crossings_of(s, start_point, direction, depths))
        return sorted(crossings, key=lambda c: (c.entry_mm, -self._structures[c.structure_id].priority))

    def _crossings_of(self, s: Structure, start: np.ndarray, direction: np.ndarray, depths: np.ndarray) -> list[Crossing]:
        def distance(d: np.ndarray) -> np.ndarray:
            return s.field.signed_distance(start + np.atleast_1d(d)[:, None] * direction)

        values = distance(depths)
        step = depths[1] - depths[0]
        # Where both neighbours are outside but close enough that the surface could dip
        # between them, look closer.
        suspicious = np.nonzero((values[:-1] > 0) & (values[1:] > 0) & (values[:-1] + values[1:] < step))[0]
        if len(suspicious):
            fine = [np.linspace(depths[i], depths[i + 1], 12)[1:-1] for i in suspicious]
            depths = np.sort(np.concatenate([depths, *fine]))
            values = distance(depths)
        inside = values < 0
        if not inside.any():
            return []
        changes = np.nonzero(np.diff(inside.astype(np.int8)))[0]
        edges = [self._refine(distance, depths[i], depths[i + 1]) for i in changes]
        result = []
        state, entry = bool(inside[0]), 0.0
        for edge in edges:
            if not state:
                entry = edge
            else:
                result.append((entry, edge))
            state = not state
        if state:
            result.append((entry, float(depths[-1])))
        return [Crossing(s.id, s.kind, s.tissue, s.role, a, b, a == 0.0 and bool(inside[0]),
                         b == float(depths[-1]) and bool(inside[-1])) for a, b in result]

    @staticmethod
    def _refine(distance, a: float, b: float) -> float:
        """Depth of the surface between depths a and b (a sign change), by bisection."""
        da = distance(a)[0]
        for _ in range(40):
            if b - a < 1e-3:
                break
            m = 0.5 * (a + b)
            dm = distance(m)[0]
            if (dm < 0) == (da < 0):
                a, da = m, dm
            else:
                b = m
        return float(0.5 * (a + b))

    # -- volumes --------------------------------------------------------------------------
    def bounds(self) -> Bounds:
        """Box enclosing every structure, mm."""
        lows = np.array([s.field.bounds[0] for s in self._structures.values()])
        highs = np.array([s.field.bounds[1] for s in self._structures.values()])
        return tuple(lows.min(axis=0)), tuple(highs.max(axis=0))  # type: ignore[return-value]

    def rasterize(self, spacing_mm: float, bounds: Bounds | None = None) -> LabelVolume:
        """Label every voxel centre with its structure and tissue.

        Parameters
        ----------
        spacing_mm : float
            Voxel size in mm (0.1 to 10).
        bounds : Bounds, optional
            Box to rasterise (default: the whole scene).
        """
        spacing_mm = check_range(spacing_mm, "spacing_mm", 0.1, 10.0, "mm")
        lower, upper = (np.asarray(b, dtype=float) for b in (bounds or self.bounds()))
        shape = np.floor((upper - lower) / spacing_mm).astype(int) + 1
        if np.prod(shape) > 400_000_000:
            raise ParameterError("spacing_mm", spacing_mm, f"a spacing giving at most 4e8 voxels (got {np.prod(shape):.3g})")
        structure_ids = ("",) + tuple(s.id for s in self._structures.values())
        tissue_ids = tuple(TISSUES)
        structure_labels = np.zeros(tuple(shape), dtype=np.int16)
        tissue_labels = np.full(tuple(shape), tissue_ids.index(OUTSIDE), dtype=np.uint8)
        # Lowest priority first, so higher priorities overwrite.
        for s in reversed(self._by_priority):
            b_lo = np.maximum(np.ceil((np.asarray(s.field.bounds[0]) - lower) / spacing_mm), 0).astype(int)
            b_hi = np.minimum(np.floor((np.asarray(s.field.bounds[1]) - lower) / spacing_mm), shape - 1).astype(int)
            if np.any(b_hi < b_lo):
                continue
            axes = [lower[a] + np.arange(b_lo[a], b_hi[a] + 1) * spacing_mm for a in range(3)]
            grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
            d = s.field.signed_distance(grid).reshape(tuple(b_hi - b_lo + 1))
            window = tuple(slice(b_lo[a], b_hi[a] + 1) for a in range(3))
            inside = d < 0
            structure_labels[window][inside] = structure_ids.index(s.id)
            tissue = GENERIC_TISSUE if s.kind == "body" else s.tissue
            tissue_labels[window][inside] = tissue_ids.index(tissue)
            if s.shell_tissue:
                tissue_labels[window][inside & (d > -s.shell_thickness_mm)] = tissue_ids.index(s.shell_tissue)
        return LabelVolume(structure_labels, tissue_labels, structure_ids, tissue_ids, tuple(lower), spacing_mm)
