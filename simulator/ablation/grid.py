"""The local grid of an ablation model: a box of nodes aligned with the needle's active tip.

Every modality solves on the same kind of grid. Its third axis (``k``) runs along the active tip
towards the distal end, so the electrode or probe is a cylinder along a grid line, the lesion's
length is measured along ``k`` and its width across it. The axis of the active tip passes
through a line of nodes and the tip itself is a node, so the probe is resolved the same way at
every position and the mid-plane ``j = shape[1] // 2`` contains the axis.

Coordinates: *local* mm are measured from node ``[0, 0, 0]`` along the grid axes; *patient* mm
are the scene's LPS frame. ``patient = origin_mm + axes @ local``.

Examples
--------
>>> grid = needle_grid([0.0, 0.0, -10.0], [0.0, 0.0, 0.0], margin_mm=5.0, spacing_mm=0.5)
>>> grid.shape
(21, 21, 41)
>>> grid.patient_from_index([[10, 10, 30]]).round(6).tolist()   # the tip
[[0.0, 0.0, 0.0]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator._validation import check_points, check_range
from simulator.errors import ParameterError

__all__ = ["LesionGrid", "needle_grid", "diffusion_length_mm", "MAX_NODES"]

#: Largest grid an ablation model builds (nodes): about 0.5 GB of working arrays.
MAX_NODES = 6_000_000


@dataclass(frozen=True, eq=False)
class LesionGrid:
    """A regular box of nodes in the patient, aligned with a needle.

    Parameters
    ----------
    origin_mm : numpy.ndarray, shape (3,)
        Patient position (mm, LPS) of node ``[0, 0, 0]``.
    axes : numpy.ndarray, shape (3, 3)
        Columns: the unit vectors of the grid's ``i``, ``j`` and ``k`` axes in the patient
        frame (a rotation; ``k`` along the active tip, towards its distal end).
    spacing_mm : float
        Distance between neighbouring nodes, mm.
    shape : tuple of int
        Number of nodes along ``i``, ``j``, ``k``.
    axis_index : tuple of int
        ``(i, j)`` of the line of nodes on the needle's axis.
    tip_index : int
        ``k`` of the node at the needle's tip.
    """

    origin_mm: np.ndarray
    axes: np.ndarray
    spacing_mm: float
    shape: tuple[int, int, int]
    axis_index: tuple[int, int]
    tip_index: int

    @property
    def size(self) -> int:
        """Number of nodes."""
        return int(np.prod(self.shape))

    @property
    def voxel_volume_mm3(self) -> float:
        """Volume each node stands for, mm³."""
        return self.spacing_mm**3

    @property
    def axis_local_mm(self) -> tuple[float, float]:
        """Local ``(i, j)`` position (mm) of the needle's axis."""
        return self.axis_index[0] * self.spacing_mm, self.axis_index[1] * self.spacing_mm

    @property
    def tip_local_mm(self) -> float:
        """Local ``k`` position (mm) of the tip."""
        return self.tip_index * self.spacing_mm

    def local_from_index(self, index: object) -> np.ndarray:
        """Local mm of (fractional) node indices, shape (n, 3)."""
        return np.asarray(index, dtype=float).reshape(-1, 3) * self.spacing_mm

    def patient_from_local(self, local_mm: object) -> np.ndarray:
        """Patient mm (LPS) of local mm, shape (n, 3)."""
        return self.origin_mm + np.asarray(local_mm, dtype=float).reshape(-1, 3) @ self.axes.T

    def local_from_patient(self, points_mm: object) -> np.ndarray:
        """Local mm of patient points, shape (n, 3)."""
        return (check_points(points_mm) - self.origin_mm) @ self.axes

    def patient_from_index(self, index: object) -> np.ndarray:
        """Patient mm of (fractional) node indices, shape (n, 3)."""
        return self.patient_from_local(self.local_from_index(index))

    def index_from_patient(self, points_mm: object) -> np.ndarray:
        """Fractional node indices of patient points, shape (n, 3)."""
        return self.local_from_patient(points_mm) / self.spacing_mm

    def node_points_mm(self) -> np.ndarray:
        """Patient position of every node, shape (size, 3), in C order of ``shape``."""
        index = np.stack(np.meshgrid(*[np.arange(n) for n in self.shape], indexing="ij"), axis=-1).reshape(-1, 3)
        return self.patient_from_index(index)

    def axis_coordinates_mm(self, axis: int) -> np.ndarray:
        """Local mm of the nodes along one grid axis (0, 1 or 2)."""
        return np.arange(self.shape[axis]) * self.spacing_mm


def _across_axis(along: np.ndarray) -> np.ndarray:
    """A unit vector across ``along``: the patient's x (left) made perpendicular, or z if along ~ x."""
    reference = np.array([1.0, 0.0, 0.0]) if abs(along[0]) < 0.9 else np.array([0.0, 0.0, 1.0])
    across = reference - (reference @ along) * along
    return across / np.linalg.norm(across)


def needle_grid(start_mm: object, tip_mm: object, *, margin_mm: float, spacing_mm: float,
                margin_along_mm: float | None = None, direction: object = None) -> LesionGrid:
    """A grid around the active tip from ``start_mm`` to ``tip_mm`` (mm, patient frame).

    Parameters
    ----------
    start_mm, tip_mm : array_like, shape (3,)
        Proximal end of the active tip and the tip itself, mm. They may coincide (a plain
        needle): then ``direction`` gives the axis.
    margin_mm : float
        Extent of the grid across the axis on each side, mm (0.5 to 60).
    spacing_mm : float
        Node spacing, mm (0.05 to 2).
    margin_along_mm : float, optional
        Extent beyond the tip and behind the start, mm (default ``margin_mm``).
    direction : array_like, shape (3,), optional
        Axis of the grid when the active tip has no length.
    """
    start, tip = check_points(start_mm, "start_mm")[0], check_points(tip_mm, "tip_mm")[0]
    margin = check_range(margin_mm, "margin_mm", 0.5, 60.0, "mm")
    along_margin = margin if margin_along_mm is None else check_range(margin_along_mm, "margin_along_mm", 0.5, 60.0, "mm")
    h = check_range(spacing_mm, "spacing_mm", 0.05, 2.0, "mm")
    length = float(np.linalg.norm(tip - start))
    if length > 1e-9:
        along = (tip - start) / length
    else:
        if direction is None:
            raise ParameterError("direction", direction, "a direction when the active tip has no length")
        along = check_points(direction, "direction")[0]
        along = along / np.linalg.norm(along)
    across = _across_axis(along)
    axes = np.column_stack([across, np.cross(along, across), along])
    half = int(np.ceil(margin / h))
    distal = int(np.ceil(along_margin / h))
    proximal = int(np.ceil((length + along_margin) / h))
    shape = (2 * half + 1, 2 * half + 1, proximal + distal + 1)
    nodes = int(np.prod(shape))
    if nodes > MAX_NODES:
        raise ParameterError("spacing_mm", spacing_mm, f"a spacing giving at most {MAX_NODES:,} nodes for this probe and "
                             f"margin (this one gives {nodes:,}); use a coarser spacing")
    origin = tip - axes @ np.array([half * h, half * h, proximal * h])
    return LesionGrid(origin, axes, h, shape, (half, half), proximal)


def diffusion_length_mm(diffusivity_m2_s: float, time_s: float) -> float:
    """√(4 D t) in mm: how far heat or an agent spreads in ``time_s`` (ablation.md §4, §6).

    >>> round(diffusion_length_mm(1.33e-7, 90.0), 1)     # muscle, 90 s: ablation.md gives 6.9 mm
    6.9
    """
    return 1e3 * float(np.sqrt(4.0 * diffusivity_m2_s * time_s))
