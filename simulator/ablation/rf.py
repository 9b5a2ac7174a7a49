"""Radiofrequency heat lesions: the Pennes bioheat equation around a temperature-controlled electrode.

The generator's thermocouple holds the electrode at the set temperature (ablation.md §4: a
fixed tip temperature approximates a temperature-controlled generator, "the tissue heats the
electrode tip"), so the active tip is a body of the cannula's real radius and active length
held at that temperature, reached by a linear ramp from the tissue's temperature. Heat then
spreads by conduction through the scene's tissues (or a uniform block) and is carried off by
perfusion (Pennes, ablation.md §1-2). After the set time the generator stops and the tissue
cools; the model follows the cooling for ``cooling_s``.

The lesion is where the Arrhenius damage Ω reaches 1 (ablation.md §3; liver set by default, as
in the public RF models); the 50 °C isotherm is reported beside it as a cross-check (Hall 2015).

Pulsed RF (``pulsed=True``) is modelled as the electrode held at its mean tip temperature of at
most 42 °C: the 20 ms bursts are not resolved, so the model answers the teaching question (no
heat lesion) but not the electric-field effect claimed for pulsed RF.

Examples
--------
>>> from simulator.ablation import TissueBlock, block_needle
>>> result = rf_lesion(TissueBlock("muscle", perfused=False), block_needle("rf_18g_100mm_10mm"),
...                    RFSettings(80.0, 90.0))                          # doctest: +SKIP
>>> round(result.width_mm, 1)                                        # doctest: +SKIP
6.4
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from simulator._validation import check_range
from simulator.ablation.damage import DAMAGE_FLOOR_C, DEFAULT_DAMAGE_MODEL, arrhenius_set
from simulator.ablation.medium import Site
from simulator.ablation.probe import probe_body
from simulator.ablation.result import LesionResult, build_result, run_time_course
from simulator.ablation.solver import ArrheniusDose, LesionProgress, Phase, Recording, simulate
from simulator.ablation.thermal import heat_medium, heat_setup
from simulator.errors import ParameterError
from simulator.needle import Needle

__all__ = ["RFSettings", "rf_lesion", "RF_TEMPERATURE_C", "PULSED_TEMPERATURE_C", "RF_DURATION_S",
           "RF_DEFAULT_SPACING_MM", "ISOTHERM_C"]

#: Set temperatures of conventional RF, °C (Cosman 2014: 60-90 °C; clinical 60-90 °C, procedure.md step 14).
RF_TEMPERATURE_C = (60.0, 90.0)
#: Mean tip temperature of pulsed RF, °C (at most 42 °C; "> 45 °C neurodestructive", procedure.md §4).
PULSED_TEMPERATURE_C = (38.0, 42.0)
#: Lesion times per cycle, s (Cosman 2014: 1-10 min; clinical 60-150 s).
RF_DURATION_S = (10.0, 600.0)
#: Isotherm reported beside the Arrhenius lesion, °C (Hall 2015: the usual RF lesion edge).
ISOTHERM_C = 50.0
#: Default node spacing, mm (see docs/ablation.md: convergence).
RF_DEFAULT_SPACING_MM = 0.5
#: Grid margin beyond the diffusion length of the heating time (mm).
_MARGIN_EXTRA_MM = 3.0


@dataclass(frozen=True)
class RFSettings:
    """Generator settings of one RF lesion.

    Parameters
    ----------
    set_temperature_c : float, default: 80
        Electrode temperature the generator holds, °C: 60 to 90 (conventional) or 38 to 42
        (pulsed).
    duration_s : float, default: 90
        Time the generator is on per cycle, ramp included, s (10 to 600).
    ramp_s : float, default: 10
        Time to reach the set temperature, s (0 to 60, at most the duration); a design
        default, no source gives generators' ramp times.
    pulsed : bool, default: False
        Pulsed RF: the tip's mean temperature is held at ``set_temperature_c`` (≤ 42 °C).
    repeats : int, default: 1
        Cycles at the same position (1 to 3: "up to 3 × 90 s", procedure.md step 14).
    pause_s : float, default: 30
        Time off between cycles, s (0 to 600).
    cooling_s : float, default: 60
        Time the model follows the cooling after the last cycle, s (0 to 600).
    damage_model : str, default: "liver"
        Arrhenius set of :data:`simulator.ablation.damage.ARRHENIUS`.
    """

    set_temperature_c: float = 80.0
    duration_s: float = 90.0
    ramp_s: float = 10.0
    pulsed: bool = False
    repeats: int = 1
    pause_s: float = 30.0
    cooling_s: float = 60.0
    damage_model: str = DEFAULT_DAMAGE_MODEL

    def __post_init__(self) -> None:
        low, high = PULSED_TEMPERATURE_C if self.pulsed else RF_TEMPERATURE_C
        mode = "pulsed RF" if self.pulsed else "conventional RF"
        check_range(self.set_temperature_c, "set_temperature_c", low, high, f"°C for {mode}")
        check_range(self.duration_s, "duration_s", *RF_DURATION_S, "s")
        check_range(self.ramp_s, "ramp_s", 0.0, min(60.0, float(self.duration_s)), "s (and at most duration_s)")
        if not isinstance(self.repeats, (int, np.integer)) or isinstance(self.repeats, bool) or not 1 <= self.repeats <= 3:
            raise ParameterError("repeats", self.repeats, "a whole number of cycles, 1 to 3")
        check_range(self.pause_s, "pause_s", 0.0, 600.0, "s")
        check_range(self.cooling_s, "cooling_s", 0.0, 600.0, "s")
        arrhenius_set(self.damage_model)

    @property
    def heating_s(self) -> float:
        """Total time the generator is on, s."""
        return self.duration_s * self.repeats

    def summary(self) -> str:
        kind = "Pulsed radiofrequency" if self.pulsed else "Radiofrequency"
        cycles = f"{self.repeats} × " if self.repeats > 1 else ""
        return f"{kind}: {cycles}{self.set_temperature_c:g} °C for {self.duration_s:g} s ({self.ramp_s:g} s ramp)"

    def phases(self) -> list[Phase]:
        """Generator on (with its ramp), pauses and the final cooling."""
        phases: list[Phase] = []
        for cycle in range(self.repeats):
            if cycle:
                phases.append(Phase(self.pause_s, None, f"pause {cycle}"))
            phases.append(Phase(self.duration_s, self.set_temperature_c, f"lesion {cycle + 1}", self.ramp_s))
        phases.append(Phase(self.cooling_s, None, "cooling"))
        return phases


def rf_lesion(site: Site, needle: Needle, settings: RFSettings, *, spacing_mm: float = RF_DEFAULT_SPACING_MM,
              target_id: str | None = None, probe_points_mm: object = None, perfused: bool | None = None,
              progress: Callable[[LesionProgress], bool] | None = None) -> LesionResult:
    """Model an RF heat lesion made by ``needle`` (an RF cannula) at ``site``.

    Parameters
    ----------
    site : Scene or TissueBlock
        The patient (tissues from the scene, perfused, 37 °C) or a bench block.
    needle : Needle
        A placed RF cannula (:func:`simulator.approach.place_needle`, or
        :func:`simulator.ablation.block_needle` in a block).
    settings : RFSettings
        Generator settings.
    spacing_mm : float, default: 0.5
        Node spacing, mm (0.1 to 1).
    target_id : str, optional
        The nerve to measure coverage of (scene only).
    probe_points_mm : array_like, shape (n, 3), optional
        Patient points (mm) whose temperature is recorded against time.
    perfused : bool, optional
        Blood perfusion on or off (ex vivo); default the site's own (a block's flag; the
        patient is perfused).
    progress : callable, optional
        ``progress(LesionProgress) -> bool``, about 100 times: the fraction done and the latest
        temperatures (for a live curve); returning False cancels.

    Returns
    -------
    LesionResult
        Deterministic: the same input gives the same arrays bit for bit.
    """
    started = time.perf_counter()
    if not isinstance(settings, RFSettings):
        raise ParameterError("settings", type(settings).__name__, "RFSettings")
    setup = heat_setup(site, needle, "rf_cannula", spacing_mm=spacing_mm, spacing_range_mm=(0.1, 1.0),
                       time_s=settings.heating_s, margin_extra_mm=_MARGIN_EXTRA_MM, probe_points_mm=probe_points_mm,
                       perfused=perfused)
    grid, shape = setup.grid, setup.probe
    damage = arrhenius_set(settings.damage_model)
    run = simulate(grid, heat_medium(setup.tissues), probe_body(grid, shape), setup.tissues.baseline_c, settings.phases(),
                   dose=ArrheniusDose(damage.ln_a, damage.ea_over_r_k, DAMAGE_FLOOR_C), probes_mm=setup.points_mm,
                   recording=Recording("electrode_c", tuple(setup.point_names), "°C"), progress=progress,
                   what="rf lesion")
    course = run_time_course(run)
    omega = run.dose
    return build_result(
        modality="rf", settings=settings, site=site, grid=grid, probe=shape,
        lesion_field=np.log10(np.maximum(omega, 1e-30)), lesion_threshold=0.0,
        lesion_definition=f"Arrhenius Ω ≥ 1, {damage.name} set",
        zones=[("isotherm_50c", f"{ISOTHERM_C:g} °C isotherm (peak temperature ≥ {ISOTHERM_C:g} °C)",
                "peak_temperature_c", ISOTHERM_C, False)],
        fields={"peak_temperature_c": run.peak, "damage_omega": omega, "final_temperature_c": run.final},
        time_course=course, target_id=target_id, steps=run.steps, dt_s=run.dt_s, started=started,
        perfused=setup.tissues.perfused)

