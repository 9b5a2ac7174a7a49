"""Sizes of a lesion on its grid: volume, length along and width across the needle, reaches.

A lesion is where a field is at or above a threshold. Its edges are found along every grid line
by linear interpolation of the field between the last node outside and the first inside, so
sizes change smoothly with the settings instead of in whole spacings. Length is the extent
along the needle's axis (the grid's ``k``), width the largest extent across it (along ``i`` or
``j``), as bench studies measure them with calipers (Cosman et al. 2014).

Examples
--------
>>> import numpy as np
>>> field = np.zeros((5, 5, 5)); field[2, 2, 1:4] = 1.0
>>> extent_index(field, 0.5, axis=2)     # first and last crossing, in node indices
(0.5, 3.5)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.ablation.grid import LesionGrid

__all__ = ["LesionSize", "extent_index", "lesion_size"]


def extent_index(field: np.ndarray, threshold: float, axis: int) -> tuple[float, float] | None:
    """First and last threshold crossing (fractional node index) over all lines along ``axis``;
    None when no node reaches the threshold."""
    lines = np.moveaxis(field, axis, -1).reshape(-1, field.shape[axis])
    inside = lines >= threshold
    hit = inside.any(axis=1)
    if not hit.any():
        return None
    lines, inside = lines[hit], inside[hit]
    n = lines.shape[1]
    first = np.argmax(inside, axis=1)
    last = n - 1 - np.argmax(inside[:, ::-1], axis=1)
    rows = np.arange(len(lines))

    def crossing(inner: np.ndarray, outer: np.ndarray) -> np.ndarray:
        valid = (outer >= 0) & (outer < n)
        outer_c = np.clip(outer, 0, n - 1)
        f_in, f_out = lines[rows, inner], lines[rows, outer_c]
        fraction = np.where(valid & (f_in > f_out), (f_in - threshold) / np.where(f_in > f_out, f_in - f_out, 1.0), 0.0)
        return inner + (outer_c - inner) * np.where(valid, fraction, 0.0)

    starts = crossing(first, first - 1)
    ends = crossing(last, last + 1)
    return float(starts.min()), float(ends.max())


@dataclass(frozen=True)
class LesionSize:
    """Sizes of a lesion (mm, mm³).

    Parameters
    ----------
    volume_mm3 : float
        Nodes inside times the node volume.
    length_mm : float
        Extent along the needle's axis.
    width_mm : float
        Largest extent across the axis.
    radial_reach_mm : float
        Farthest reach across the axis beyond the probe's surface (the "lesion radius" of
        Cohen et al. 2011 and Bogduk et al. 1987).
    distal_reach_mm, proximal_reach_mm : float
        Reach beyond the tip and behind the start of the active tip, along the axis.
    """

    volume_mm3: float
    length_mm: float
    width_mm: float
    radial_reach_mm: float
    distal_reach_mm: float
    proximal_reach_mm: float

    @classmethod
    def empty(cls) -> "LesionSize":
        return cls(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def lesion_size(grid: LesionGrid, field: np.ndarray, threshold: float, probe_radius_mm: float,
                probe_length_mm: float) -> LesionSize:
    """Sizes of ``field >= threshold`` on ``grid`` around a probe of the given radius and active length (mm)."""
    count = int(np.count_nonzero(field >= threshold))
    if count == 0:
        return LesionSize.empty()
    h = grid.spacing_mm
    along = extent_index(field, threshold, 2)
    across = [extent_index(field, threshold, a) for a in (0, 1)]
    if along is None:
        return LesionSize.empty()
    widths = [(e[1] - e[0]) * h for e in across if e is not None]
    centre = grid.axis_index
    reach = max(max(e[1] - centre[a], centre[a] - e[0]) for a, e in enumerate(across) if e is not None) * h
    start_index = grid.tip_index - probe_length_mm / h
    return LesionSize(count * grid.voxel_volume_mm3, (along[1] - along[0]) * h, max(widths),
                      reach - probe_radius_mm, (along[1] - grid.tip_index) * h, (start_index - along[0]) * h)
