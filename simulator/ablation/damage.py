"""Thermal damage models: Arrhenius parameter sets and the heat-damage floor.

Ω(t) = A ∫ exp(−E_a / (R T(t′))) dt′ with T in kelvin; Ω = 1 (about 63 % of cells altered) is
the lesion boundary, as in the public RF models reviewed (ablation.md §3). The sets and their
times to Ω = 1 at constant temperature are those of ablation.md §3.

Damage is counted only above :data:`DAMAGE_FLOOR_C`. Without a floor the liver set, fitted on
ablation temperatures, would give Ω = 1 after about an hour at 37 °C, which is an artefact of
extrapolating the fit, not a lesion (design choice; pulsed RF at 42 °C still accrues damage).

Examples
--------
>>> round(time_to_damage_s(ARRHENIUS["liver"], 50.0))   # ablation.md §3: ≈ 61 s
61
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simulator.errors import ParameterError

__all__ = ["ArrheniusSet", "ARRHENIUS", "DEFAULT_DAMAGE_MODEL", "DAMAGE_FLOOR_C", "GAS_CONSTANT_J_MOL_K",
           "time_to_damage_s", "arrhenius_set"]

GAS_CONSTANT_J_MOL_K = 8.314
#: Temperature below which no heat damage is counted (°C); see the module notes.
DAMAGE_FLOOR_C = 40.0


@dataclass(frozen=True)
class ArrheniusSet:
    """One Arrhenius parameter set: frequency factor ``a_per_s`` (1/s) and activation energy
    ``ea_j_mol`` (J/mol), with its source."""

    name: str
    a_per_s: float
    ea_j_mol: float
    source: str

    @property
    def ln_a(self) -> float:
        return math.log(self.a_per_s)

    @property
    def ea_over_r_k(self) -> float:
        """E_a / R in kelvin."""
        return self.ea_j_mol / GAS_CONSTANT_J_MOL_K


ARRHENIUS: dict[str, ArrheniusSet] = {s.name: s for s in [
    ArrheniusSet("liver", 7.39e39, 2.577e5, "ablation.md §3: COMSOL Bioheat library; rirastorza/RFA-tutorial (the "
                 "default of RF models; no nerve-necrosis set was found)"),
    ArrheniusSet("fat", 4.43e16, 1.3e5, "ablation.md §3: COMSOL"),
    ArrheniusSet("skin", 3.1e98, 6.28e5, "ablation.md §3: Henriques & Moritz as quoted in public code (fits poorly)"),
    ArrheniusSet("nerve_function", 1.8e105, 6.6e5, "ablation.md §3: fit to rat sciatic 50 % functional loss "
                 "(Int J Radiat Biol 1988;53:429); reversible loss, not necrosis"),
]}
DEFAULT_DAMAGE_MODEL = "liver"


def arrhenius_set(name: str) -> ArrheniusSet:
    """The set called ``name``; an unknown name raises an error listing the known ones."""
    try:
        return ARRHENIUS[name]
    except KeyError:
        raise ParameterError("damage_model", name, "one of " + ", ".join(ARRHENIUS)) from None


def time_to_damage_s(model: ArrheniusSet, temperature_c: float) -> float:
    """Time (s) to reach Ω = 1 at a constant ``temperature_c`` (°C)."""
    rate = math.exp(model.ln_a - model.ea_over_r_k / (temperature_c + 273.15))
    return 1.0 / rate
