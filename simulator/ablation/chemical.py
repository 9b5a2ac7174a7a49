"""Chemical neurolysis: an injected bolus of ethanol or phenol, its diffusion, clearance and kill.

The injected volume leaves the needle's tip and fills the soft tissue nearest the tip (bone
takes none), a sphere of radius (3V/4π)^⅓ where nothing is in the way (ablation.md §6). The
bolus starts at the injected concentration; the agent then diffuses with the tissue's
diffusivity (none into bone) and is cleared by blood flow at the tissue's perfusion rate (a
first-order clearance k_E = ω_b, partition coefficient 1: derived here, no source in the
sheet; 0 ex vivo). Fascial spread and leaks along the needle track are not modelled
(ablation.md §6: "bolus volume and fascial spread dominate").

A node dies when its exposure meets the agent's concentration-time criterion: the kill dose
``∫ dt / t_kill(C(t))`` reaches 1, with ``t_kill`` interpolated log-log between the agent's
published points (``AGENTS``).

Examples
--------
>>> from simulator.ablation import TissueBlock, block_needle
>>> result = chemical_lesion(TissueBlock("muscle"), block_needle("spinal_22g_89mm"),
...                          ChemicalSettings("ethanol", volume_ml=0.5, concentration_pct=95.0))  # doctest: +SKIP
>>> round(result.size.radial_reach_mm + result.probe.radius_mm, 1)   # bolus 4.9 mm + diffusion   # doctest: +SKIP
5.5
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from simulator._validation import check_range
from simulator.ablation.grid import diffusion_length_mm, needle_grid
from simulator.ablation.medium import Site, tissue_map
from simulator.ablation.probe import ProbeShape
from simulator.ablation.result import LesionResult, build_result, run_time_course, watch_points
from simulator.ablation.solver import LesionProgress, Medium, Phase, Recording, TableDose, simulate
from simulator.errors import ParameterError
from simulator.needle import Needle
from simulator.tissues import TISSUES

__all__ = ["Agent", "AGENTS", "ChemicalSettings", "chemical_lesion", "agent_medium", "bolus_radius_mm",
           "CHEMICAL_VOLUME_ML", "CHEMICAL_DEFAULT_SPACING_MM"]

#: Injected volumes, mL: from 0.1 mL (Sung 2001, rabbit) to the 3 mL of the sheet's bolus table;
#: 2 mL of phenol per genicular nerve is the largest clinical volume reported (ablation.md §6).
CHEMICAL_VOLUME_ML = (0.1, 3.0)
#: Default node spacing, mm.
CHEMICAL_DEFAULT_SPACING_MM = 0.5
#: Longest time step, s: well below the 15 s kill time of concentrated ethanol.
_DT_MAX_S = 5.0
_MARGIN_EXTRA_MM = 3.0
#: A tip resting on bone injects into the soft tissue within this distance (mm).
_OPEN_TISSUE_REACH_MM = 1.0
#: Tissues the agent does not enter.
_BARRIERS = ("cortical_bone", "cancellous_bone", "air")
#: Tissues where the agent diffuses as in water.
_WATERY = ("csf", "blood")


@dataclass(frozen=True)
class Agent:
    """A neurolytic agent.

    Parameters
    ----------
    name : str
        ``"ethanol"`` or ``"phenol"``.
    concentration_pct : tuple of float
        Allowed injected concentrations, % (low, high).
    default_pct : float
        Usual concentration, %.
    diffusivity_tissue_m2_s, diffusivity_water_m2_s : float
        Diffusivity in soft tissue and in water-like fluids (CSF, blood), m²/s.
    kill_pct, kill_time_s : tuple of float
        Concentrations (%) and the exposure times (s) that kill all cells at them; no kill
        below the lowest concentration.
    source : str
        Where the figures come from.
    """

    name: str
    concentration_pct: tuple[float, float]
    default_pct: float
    diffusivity_tissue_m2_s: float
    diffusivity_water_m2_s: float
    kill_pct: tuple[float, ...]
    kill_time_s: tuple[float, ...]
    source: str


AGENTS: dict[str, Agent] = {a.name: a for a in [
    Agent("ethanol", (35.0, 100.0), 95.0, 4.5e-10, 8.4e-10, (10.0, 17.5, 35.0), (3600.0, 450.0, 15.0),
          "ablation.md §6: 35-100 % (Medscape), 95 % for lumbar facets (Afifi 2022); D in tissue 4.5e-10 m²/s "
          "(ethanolablation fit) and in water 8.4e-10 m²/s; kill: 30-40 % in 15 s, 15-20 % in 5-10 min, 10 % in "
          "60 min (Tapani 1996), the middle of each range"),
    Agent("phenol", (3.0, 8.0), 6.0, 4.3e-10, 8.0e-10, (5.0,), (90.0,),
          "ablation.md §6: 3-5 % (Sung 2001) and 5-8 % (Medscape); D 8e-10 m²/s (phenol in ethanol, the only value), "
          "scaled to tissue by ethanol's tissue/water ratio (assumption); kill: ≥ 5 % (coagulates protein, Medscape) "
          "for 90 s (the contact time chosen after CMAP loss at 62-74 s, Lin 2015)"),
]}


def bolus_radius_mm(volume_ml: float) -> float:
    """Radius (mm) of a sphere of ``volume_ml``: (3V/4π)^⅓ (ablation.md §6: 1 mL → 6.2 mm).

    >>> round(bolus_radius_mm(1.0), 1)
    6.2
    """
    return float((3.0 * volume_ml * 1000.0 / (4.0 * np.pi)) ** (1.0 / 3.0))


@dataclass(frozen=True)
class ChemicalSettings:
    """One injection.

    Parameters
    ----------
    agent : {"ethanol", "phenol"}
        The agent.
    volume_ml : float, default: 0.5
        Injected volume, mL (0.1 to 3).
    concentration_pct : float, optional
        Injected concentration, % (ethanol 35 to 100, phenol 3 to 8); default the agent's usual.
    observe_s : float, default: 1800
        How long the model follows the agent after the injection, s (60 to 7200).
    """

    agent: str = "ethanol"
    volume_ml: float = 0.5
    concentration_pct: float | None = None
    observe_s: float = 1800.0

    def __post_init__(self) -> None:
        if self.agent not in AGENTS:
            raise ParameterError("agent", self.agent, "one of " + ", ".join(AGENTS))
        agent = AGENTS[self.agent]
        check_range(self.volume_ml, "volume_ml", *CHEMICAL_VOLUME_ML, f"mL of {self.agent}")
        if self.concentration_pct is None:
            object.__setattr__(self, "concentration_pct", agent.default_pct)
        check_range(self.concentration_pct, "concentration_pct", *agent.concentration_pct, f"% {self.agent}")
        check_range(self.observe_s, "observe_s", 60.0, 7200.0, "s")

    def summary(self) -> str:
        return (f"Chemical neurolysis: {self.volume_ml:g} mL of {self.concentration_pct:g} % {self.agent}, followed for "
                f"{self.observe_s:g} s")


def agent_medium(tissues, agent: Agent) -> Medium:
    """Diffusivity (m²/s) and clearance (1/s) of ``agent`` in each tissue of ``tissues``."""
    def diffusivity(t: str) -> float:
        if t in _BARRIERS:
            return 0.0
        return agent.diffusivity_water_m2_s if t in _WATERY else agent.diffusivity_tissue_m2_s

    clearance = tissues.table({t: TISSUES[t].perfusion_per_s for t in tissues.tissue_ids})
    if not tissues.perfused:
        clearance = np.zeros_like(clearance)
    return Medium(tissues.labels, np.ones(len(tissues.tissue_ids)), tissues.table({t: diffusivity(t) for t in tissues.tissue_ids}),
                  clearance, 0.0)


def _bolus(grid, tissues, volume_ml: float) -> np.ndarray:
    """Fraction of each node's volume the bolus fills: a sphere round the tip, clipped by bone,
    whose radius is grown until the soft tissue inside holds the injected volume; its edge is
    spread linearly over one spacing (partial volumes), so the bolus is the same size at every
    spacing instead of a staircase of whole nodes."""
    open_tissue = ~np.isin(np.asarray(tissues.tissue_ids)[tissues.labels], _BARRIERS)
    tip = np.array([grid.axis_index[0], grid.axis_index[1], grid.tip_index], dtype=float)
    index = np.stack(np.meshgrid(*[np.arange(n) for n in grid.shape], indexing="ij"), axis=-1)
    distance = np.linalg.norm(index - tip, axis=-1)  # in spacings
    if not np.any(open_tissue & (distance * grid.spacing_mm <= _OPEN_TISSUE_REACH_MM)):
        tissue = tissues.tissue_ids[tissues.labels[tuple(tip.astype(int))]]
        raise ParameterError("needle", f"tip in {tissue}", f"a tip within {_OPEN_TISSUE_REACH_MM:g} mm of soft tissue: an "
                             "agent cannot be injected into bone")
    target = volume_ml * 1000.0 / grid.voxel_volume_mm3  # in nodes

    def filled(radius: float) -> np.ndarray:
        return np.where(open_tissue, np.clip(radius + 0.5 - distance, 0.0, 1.0), 0.0)

    low, high = 0.0, float(distance.max())
    if filled(high - 1.0).sum() < target:
        raise ParameterError("volume_ml", volume_ml, "a volume that fits the soft tissue round the tip")
    for _ in range(60):  # bisection on the radius (spacings)
        middle = 0.5 * (low + high)
        low, high = (middle, high) if filled(middle).sum() < target else (low, middle)
    return filled(0.5 * (low + high))


def chemical_lesion(site: Site, needle: Needle, settings: ChemicalSettings, *,
                    spacing_mm: float = CHEMICAL_DEFAULT_SPACING_MM, target_id: str | None = None,
                    probe_points_mm: object = None, perfused: bool | None = None,
                    progress: Callable[[LesionProgress], bool] | None = None) -> LesionResult:
    """Model a chemical neurolysis: ``settings.volume_ml`` injected at the tip of ``needle`` (any needle).

    Parameters are those of :func:`simulator.ablation.rf_lesion`; ``spacing_mm`` 0.2 to 1.0,
    default 0.5; without perfusion nothing clears the agent. The lesion is where the kill dose
    reaches 1; zones give the bolus and the tissue the agent reached at 10 % or more.
    """
    started = time.perf_counter()
    if not isinstance(settings, ChemicalSettings):
        raise ParameterError("settings", type(settings).__name__, "ChemicalSettings")
    h = check_range(spacing_mm, "spacing_mm", 0.2, 1.0, "mm")
    agent = AGENTS[settings.agent]
    tip = needle.tip_mm
    margin = (_MARGIN_EXTRA_MM + bolus_radius_mm(settings.volume_ml)
              + diffusion_length_mm(agent.diffusivity_water_m2_s, settings.observe_s))
    grid = needle_grid(tip, tip, margin_mm=margin, spacing_mm=h, direction=needle.tip_direction)
    tissues = tissue_map(site, grid, perfused=perfused)
    bolus = _bolus(grid, tissues, settings.volume_ml)
    probe = ProbeShape(needle.model.radius_mm, 0.0)
    names, points = watch_points(grid, probe, probe_points_mm, "pct")
    names = ["tip_pct"] + names
    points = np.vstack([tip[None], points])
    fraction = settings.concentration_pct / 100.0
    run = simulate(grid, agent_medium(tissues, agent), None, bolus * fraction,
                   [Phase(settings.observe_s, None, "spread")],
                   dose=TableDose(tuple(c / 100.0 for c in agent.kill_pct), tuple(1.0 / t for t in agent.kill_time_s)),
                   probes_mm=points, recording=Recording(None, tuple(names), "%", scale=100.0), progress=progress,
                   what="chemical lesion", record_interval_s=10.0, dt_max_s=_DT_MAX_S)
    course = run_time_course(run)
    return build_result(
        modality="chemical", settings=settings, site=site, grid=grid, probe=probe,
        # The dose itself, not its log: where the agent never reached 10 % it is 0, and a log
        # would put every interpolated edge on the inner node (a toothed outline, biased inwards).
        lesion_field=run.dose, lesion_threshold=1.0,
        lesion_definition=f"kill dose ≥ 1 ({agent.name}: " + ", ".join(
            f"{c:g} % for {t:g} s" for c, t in zip(agent.kill_pct, agent.kill_time_s)) + ")",
        zones=[("bolus", f"Injected bolus ({settings.volume_ml:g} mL)", "bolus", 0.5, False),
               ("reach_10pct", "Tissue the agent reached at 10 % or more", "peak_concentration_pct", 10.0, False)],
        fields={"bolus": bolus, "peak_concentration_pct": 100.0 * run.peak,
                "final_concentration_pct": 100.0 * run.final, "kill_dose": run.dose},
        time_course=course, target_id=target_id, steps=run.steps, dt_s=run.dt_s, started=started,
        perfused=tissues.perfused)
