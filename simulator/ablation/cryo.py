"""Cryoneurolysis: freezing around a Joule-Thomson cryoprobe, by the enthalpy method.

The probe's freezing tip (a cylinder of the probe's radius and freezing length) is held at the
gas's temperature during each freeze, after a short cool-down; during each thaw the gas stops
and the probe warms passively with the tissue (its nodes become tissue again). Heat flows by
conduction, with latent heat released over a mushy zone and frozen tissue conducting better
and storing less heat (ablation.md §5); perfusion warms only unfrozen tissue.

Outputs: the ice ball (tissue that reached 0 °C) and the lesion, where the tissue got colder
than the lethal temperature (−20 °C by default: necrosis below −20 °C, Hsu & Stevenson 2015).

Tissue constants (``CRYO_TISSUES``): the unfrozen ones are the Pennes table of
:mod:`simulator.tissues`; frozen conductivity is 4 times and frozen specific heat half the
unfrozen value, as in the ``biotransport`` template (0.5/2.0 W/(m·K), 3600/1800 J/(kg·K),
ablation.md §5) [R]; the latent heat of water-rich tissues is 149 kJ/kg, the middle of the
139.8-159.0 J/g measured in bovine liver (Sci Rep 2021) [V]; CSF freezes as water (333.5 J/g);
fat and bone hold less water and are given 50 kJ/kg (assumption, no source in the sheet). Ice
forms between −2 and 0 °C (template: −1 °C with a 2 K mushy zone) [R].

Examples
--------
>>> from simulator.ablation import TissueBlock, block_needle
>>> result = cryo_lesion(TissueBlock("muscle"), block_needle("cryo_14g_100mm"), CryoSettings())   # doctest: +SKIP
>>> round(result.zones["ice_ball_0c"].size.width_mm, 1)                                          # doctest: +SKIP
11.8
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable


from simulator._validation import check_range
from simulator.ablation.medium import Site
from simulator.ablation.probe import probe_body
from simulator.ablation.result import LesionResult, build_result, run_time_course
from simulator.ablation.solver import LesionProgress, Medium, Phase, Recording, simulate
from simulator.ablation.thermal import heat_medium, heat_setup
from simulator.errors import ParameterError
from simulator.needle import Needle
from simulator.tissues import TISSUES

__all__ = ["CryoSettings", "cryo_lesion", "cryo_medium", "CRYO_TISSUES", "PROBE_TEMPERATURE_C", "LETHAL_C",
           "CRYO_DEFAULT_SPACING_MM", "SOLIDUS_C", "LIQUIDUS_C"]

#: Probe temperatures, °C: N₂O boils at −88.5 °C (probe tip down to −89 °C); practical probes
#: run at −60 to −80 °C (ablation.md §5).
PROBE_TEMPERATURE_C = (-89.0, -40.0)
#: Lethal temperatures that may be chosen, °C: < −20 °C necrosis (Hsu 2015), < −30 °C "lethal
#: ice" (Littrup 2009), ≤ −40 °C near-universal death (ablation.md §5).
LETHAL_C = (-40.0, -20.0)
#: Freezing completes at the solidus; the mushy zone ends at the liquidus (the ice ball's edge), °C.
SOLIDUS_C, LIQUIDUS_C = -2.0, 0.0
#: Default node spacing, mm (the ice ball is about ten times wider than an RF lesion's reach).
CRYO_DEFAULT_SPACING_MM = 0.75
_FROZEN_CONDUCTIVITY_RATIO = 4.0
_FROZEN_HEAT_RATIO = 0.5
_MARGIN_EXTRA_MM = 2.0  # the ice ball moved < 1 % between 0 and 8 mm (docs/ablation.md)


@dataclass(frozen=True)
class CryoTissue:
    """Frozen-state constants of one tissue: latent heat (J/kg) and its source."""

    latent_heat_j_kg: float
    source: str


_WATERY = CryoTissue(149.0e3, "bovine liver 139.8-159.0 J/g (Sci Rep 2021, ablation.md §5), middle value")
_DRY = CryoTissue(50.0e3, "assumption: about a third of the water-rich value (no source in ablation.md)")
CRYO_TISSUES: dict[str, CryoTissue] = {
    "air": CryoTissue(0.0, "no water"),
    "csf": CryoTissue(333.5e3, "water, 333.5 J/g (ablation.md §5)"),
    "fat": _DRY, "cortical_bone": _DRY, "cancellous_bone": _DRY,
    **{t: _WATERY for t in ("soft_tissue", "muscle", "skin", "disc", "blood", "nerve", "ligament")},
}


@dataclass(frozen=True)
class CryoSettings:
    """Freeze-thaw protocol of one cryoneurolysis lesion.

    Parameters
    ----------
    cycles : tuple of (freeze_s, thaw_s), default: ((90, 30), (90, 30))
        Freeze and thaw times of each cycle, s: 1 to 3 cycles, freezes 10 to 300 s, thaws 0 to
        300 s (protocol A: 1-1.5 min freeze, 20-30 s thaw, 1.5 min refreeze; protocol B: 3 min
        × 2-3; ablation.md §5).
    probe_temperature_c : float, default: −70
        Temperature of the freezing tip, °C (−89 to −40).
    cooldown_s : float, default: 5
        Time the probe takes to reach its temperature at the start of a freeze, s (0 to 30; a
        design default).
    lethal_c : float, default: −20
        The lesion is the tissue that got at least this cold, °C (−40 to −20).
    """

    cycles: tuple[tuple[float, float], ...] = ((90.0, 30.0), (90.0, 30.0))
    probe_temperature_c: float = -70.0
    cooldown_s: float = 5.0
    lethal_c: float = -20.0

    def __post_init__(self) -> None:
        try:
            cycles = tuple((float(f), float(t)) for f, t in self.cycles)
        except (TypeError, ValueError):
            raise ParameterError("cycles", self.cycles, "a tuple of (freeze_s, thaw_s) pairs") from None
        if not 1 <= len(cycles) <= 3:
            raise ParameterError("cycles", self.cycles, "1 to 3 freeze-thaw cycles")
        for freeze, thaw in cycles:
            check_range(freeze, "freeze_s", 10.0, 300.0, "s")
            check_range(thaw, "thaw_s", 0.0, 300.0, "s")
        object.__setattr__(self, "cycles", cycles)
        check_range(self.probe_temperature_c, "probe_temperature_c", *PROBE_TEMPERATURE_C, "°C")
        check_range(self.cooldown_s, "cooldown_s", 0.0, 30.0, "s")
        check_range(self.lethal_c, "lethal_c", *LETHAL_C, "°C")

    @property
    def total_s(self) -> float:
        return float(sum(f + t for f, t in self.cycles))

    def summary(self) -> str:
        steps = ", ".join(f"freeze {f:g} s / thaw {t:g} s" for f, t in self.cycles)
        return f"Cryoneurolysis: probe at {self.probe_temperature_c:g} °C, {steps}"

    def phases(self) -> list[Phase]:
        phases = []
        for i, (freeze, thaw) in enumerate(self.cycles):
            phases.append(Phase(freeze, self.probe_temperature_c, f"freeze {i + 1}", min(self.cooldown_s, freeze)))
            phases.append(Phase(thaw, None, f"thaw {i + 1}"))
        return phases


def cryo_medium(tissues) -> Medium:
    """Heat coefficients with the frozen state and latent heat of :data:`CRYO_TISSUES`."""
    unfrozen = heat_medium(tissues)
    latent = tissues.table({t: TISSUES[t].density_kg_m3 * CRYO_TISSUES[t].latent_heat_j_kg for t in tissues.tissue_ids})
    return Medium(unfrozen.labels, unfrozen.capacity, unfrozen.conductivity, unfrozen.perfusion, unfrozen.blood_value,
                  capacity_frozen=unfrozen.capacity * _FROZEN_HEAT_RATIO,
                  conductivity_frozen=unfrozen.conductivity * _FROZEN_CONDUCTIVITY_RATIO, latent=latent,
                  solidus_c=SOLIDUS_C, mushy_width_c=LIQUIDUS_C - SOLIDUS_C)


def cryo_lesion(site: Site, needle: Needle, settings: CryoSettings, *, spacing_mm: float = CRYO_DEFAULT_SPACING_MM,
                target_id: str | None = None, probe_points_mm: object = None, perfused: bool | None = None,
                progress: Callable[[LesionProgress], bool] | None = None) -> LesionResult:
    """Model a cryoneurolysis lesion made by ``needle`` (a cryoprobe) at ``site``.

    Parameters are those of :func:`simulator.ablation.rf_lesion`; ``spacing_mm`` 0.2 to 1.5,
    default 0.75. The lesion is the tissue that reached ``settings.lethal_c``; zones give the
    ice ball (0 °C) and the −40 °C core.
    """
    started = time.perf_counter()
    if not isinstance(settings, CryoSettings):
        raise ParameterError("settings", type(settings).__name__, "CryoSettings")
    setup = heat_setup(site, needle, "cryoprobe", spacing_mm=spacing_mm, spacing_range_mm=(0.2, 1.5),
                       time_s=settings.total_s, margin_extra_mm=_MARGIN_EXTRA_MM, probe_points_mm=probe_points_mm,
                       perfused=perfused)
    grid, shape = setup.grid, setup.probe
    run = simulate(grid, cryo_medium(setup.tissues), probe_body(grid, shape), setup.tissues.baseline_c, settings.phases(),
                   probes_mm=setup.points_mm, recording=Recording("probe_c", tuple(setup.point_names), "°C"),
                   progress=progress, what="cryo lesion")
    low = run.low
    return build_result(
        modality="cryo", settings=settings, site=site, grid=grid, probe=shape,
        lesion_field=-low, lesion_threshold=-settings.lethal_c,
        lesion_definition=f"tissue reached {settings.lethal_c:g} °C",
        zones=[("ice_ball_0c", f"Ice ball (reached {LIQUIDUS_C:g} °C)", "min_temperature_c", LIQUIDUS_C, True),
               ("core_minus40c", "Core colder than −40 °C (near-universal cell death)", "min_temperature_c", -40.0, True)],
        fields={"min_temperature_c": low, "final_temperature_c": run.final},
        time_course=run_time_course(run),
        target_id=target_id, steps=run.steps, dt_s=run.dt_s, started=started,
        perfused=setup.tissues.perfused)

