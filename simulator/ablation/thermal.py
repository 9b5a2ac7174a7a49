"""Heat coefficients of the tissues on a grid, for the Pennes bioheat equation (ablation.md §1-2).

``ρ c ∂T/∂t = ∇·(k ∇T) + ρ_b c_b ω_b (T_b − T)``: capacity ρc, conductivity k and the
perfusion coefficient ρ_b c_b ω_b come from :data:`simulator.tissues.TISSUES` (IT'IS V4.2 and
COMSOL values) and blood's density and specific heat (IT'IS V4.2). Metabolic heat is left out
(ablation.md §1: about 10³ W/m³, set 0).

Air (points outside the body, when a grid reaches the skin) is given no conductivity: the skin
is then an insulated surface, which is what still air nearly is for a lesion lasting minutes
(design choice; it also keeps air's high diffusivity from shrinking the time step).

Examples
--------
>>> from simulator.ablation.grid import needle_grid
>>> from simulator.ablation.medium import TissueBlock, tissue_map
>>> grid = needle_grid([0, 0, -5.0], [0, 0, 0.0], margin_mm=2.0, spacing_mm=1.0)
>>> medium = heat_medium(tissue_map(TissueBlock("muscle"), grid))
>>> round(float(medium.perfusion[0]))        # W/(m³·K): ablation.md §2 gives ≈ 2.5e3
2544
"""

from __future__ import annotations

import numpy as np

from dataclasses import dataclass

from simulator._validation import check_range
from simulator.ablation.grid import LesionGrid, diffusion_length_mm, needle_grid
from simulator.ablation.medium import Site, TissueMap, tissue_map
from simulator.ablation.probe import ProbeShape, probe_shape
from simulator.ablation.result import watch_points
from simulator.ablation.solver import Medium
from simulator.needle import Needle
from simulator.scene import OUTSIDE
from simulator.tissues import TISSUES

__all__ = ["heat_medium", "HeatSetup", "heat_setup", "HEAT_REACH_DIFFUSIVITY_M2_S", "BLOOD_DENSITY_KG_M3", "BLOOD_SPECIFIC_HEAT_J_KG_K", "volumetric_heat_capacity"]

#: Blood (ablation.md §1, IT'IS V4.2).
BLOOD_DENSITY_KG_M3 = 1049.75
BLOOD_SPECIFIC_HEAT_J_KG_K = 3617.0
#: The largest unfrozen tissue diffusivity k/(ρc) of the table (CSF, 1.43e-7 m²/s), rounded up:
#: it sets how far a model's grid must reach.
HEAT_REACH_DIFFUSIVITY_M2_S = 1.45e-7


def volumetric_heat_capacity(tissue_id: str) -> float:
    """ρ c of a tissue, J/(m³·K)."""
    t = TISSUES[tissue_id]
    return t.density_kg_m3 * t.specific_heat_j_kg_k


def heat_medium(tissues: TissueMap) -> Medium:
    """Pennes coefficients per tissue of ``tissues`` (no phase change)."""
    capacity = tissues.table({t: volumetric_heat_capacity(t) for t in tissues.tissue_ids})
    conductivity = tissues.table({t: 0.0 if t == OUTSIDE else TISSUES[t].conductivity_w_m_k for t in tissues.tissue_ids})
    blood = BLOOD_DENSITY_KG_M3 * BLOOD_SPECIFIC_HEAT_J_KG_K
    perfusion = tissues.table({t: blood * TISSUES[t].perfusion_per_s for t in tissues.tissue_ids})
    if not tissues.perfused:
        perfusion = np.zeros_like(perfusion)
    return Medium(tissues.labels, capacity, conductivity, perfusion, tissues.baseline_c)


@dataclass(frozen=True, eq=False)
class HeatSetup:
    """What a heat or cold model starts from: its grid, the tissues on it, the probe, and the
    names and positions (mm) of the watched points."""

    grid: LesionGrid
    tissues: TissueMap
    probe: ProbeShape
    point_names: list[str]
    points_mm: np.ndarray


def heat_setup(site: Site, needle: Needle, kind: str, *, spacing_mm: float, spacing_range_mm: tuple[float, float],
               time_s: float, margin_extra_mm: float, probe_points_mm: object, perfused: bool | None = None) -> HeatSetup:
    """The grid round the active tip of ``needle`` (a device of ``kind``), wide enough for heat
    to spread for ``time_s`` plus ``margin_extra_mm``, and the tissues on it."""
    h = check_range(spacing_mm, "spacing_mm", *spacing_range_mm, "mm")
    probe = probe_shape(needle, kind)
    start, tip = needle.active_segment_mm
    margin = margin_extra_mm + diffusion_length_mm(HEAT_REACH_DIFFUSIVITY_M2_S, time_s)
    grid = needle_grid(start, tip, margin_mm=margin, spacing_mm=h)
    names, points = watch_points(grid, probe, probe_points_mm, "c")
    return HeatSetup(grid, tissue_map(site, grid, perfused=perfused), probe, names, points)
