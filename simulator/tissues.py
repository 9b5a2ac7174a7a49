"""Tissue property table: X-ray attenuation and thermal properties read by later modules.

Sources (``shared/reference``):

- Linear attenuation (cm⁻¹) at 40/50/55/60/80 keV: ``fluoroscopy.md`` §2 (ρ × NIST μ/ρ;
  cancellous bone as 17 % cortical + 83 % soft tissue; disc as soft tissue at cartilage
  density; ligament as the disc). Skin, nerve and generic soft tissue use the ICRU-44 soft-tissue
  row (assumption).
- Thermal conductivity, density, specific heat and perfusion: ``ablation.md`` §2 (IT'IS V4.2
  and COMSOL values). Nerve, disc, skin and ligament are not tabulated there: they take the muscle row
  (assumption); CSF takes water's constants; air its constants at 37 °C.

Every property's unit is in its name. Perfusion is the blood volume per second per tissue
volume (s⁻¹).

Examples
--------
>>> round(attenuation_per_mm("cortical_bone", 55.0), 4)
0.0697
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.errors import ParameterError, UnknownStructureError

__all__ = ["TissueProperties", "TISSUES", "ENERGIES_KEV", "attenuation_per_mm", "tissue"]

#: Energies (keV) at which attenuation is tabulated.
ENERGIES_KEV: tuple[float, ...] = (40.0, 50.0, 55.0, 60.0, 80.0)


@dataclass(frozen=True)
class TissueProperties:
    """Physical properties of one tissue."""

    id: str
    attenuation_per_cm: tuple[float, float, float, float, float]
    density_kg_m3: float
    conductivity_w_m_k: float
    specific_heat_j_kg_k: float
    perfusion_per_s: float
    source: str


_SOFT = (0.285, 0.240, 0.228, 0.217, 0.193)
_MUSCLE_THERMAL = (1090.4, 0.495, 3421.2, 6.7e-4)
TISSUES: dict[str, TissueProperties] = {t.id: t for t in [
    TissueProperties("air", (3.0e-4, 2.5e-4, 2.4e-4, 2.3e-4, 2.0e-4), 1.13, 0.027, 1007.0, 0.0,
                     "fluoroscopy.md §2; thermal: air at 37 °C (physical constants)"),
    TissueProperties("soft_tissue", _SOFT, *_MUSCLE_THERMAL,
                     "fluoroscopy.md §2 ICRU-44 soft tissue; thermal: muscle row of ablation.md §2 (assumption)"),
    TissueProperties("muscle", (0.282, 0.238, 0.226, 0.215, 0.191), *_MUSCLE_THERMAL,
                     "fluoroscopy.md §2 ICRU-44 muscle; ablation.md §2 IT'IS V4.2 muscle (ω from 36.74 mL/min/kg)"),
    TissueProperties("fat", (0.230, 0.203, 0.195, 0.189, 0.172), 911.0, 0.21, 2348.0, 7.1e-4,
                     "fluoroscopy.md §2 ICRP-110 fat; ablation.md §2 COMSOL fat, ω from 47 mL/min/kg"),
    TissueProperties("skin", _SOFT, *_MUSCLE_THERMAL,
                     "soft-tissue attenuation and muscle thermal row (assumption: skin not tabulated)"),
    TissueProperties("cortical_bone", (1.278, 0.815, 0.697, 0.604, 0.428), 1908.0, 0.32, 1313.0, 0.0,
                     "fluoroscopy.md §2 ICRU-44 cortical bone; ablation.md §2 COMSOL bone"),
    TissueProperties("cancellous_bone", (0.45, 0.33, 0.30, 0.28, 0.23), 1908.0, 0.32, 1313.0, 0.0,
                     "fluoroscopy.md §2 (17 % cortical + 83 % soft tissue); ablation.md §2 COMSOL bone"),
    TissueProperties("disc", (0.296, 0.249, 0.236, 0.225, 0.201), *_MUSCLE_THERMAL[:3], 0.0,
                     "fluoroscopy.md §2 disc proxy; thermal: muscle row, no perfusion (assumption: avascular disc)"),
    TissueProperties("blood", (0.288, 0.242, 0.229, 0.218, 0.194), 1049.75, 0.517, 3617.0, 0.0,
                     "fluoroscopy.md §2 ICRU-44 blood; ablation.md §2 IT'IS V4.2 blood"),
    TissueProperties("csf", (0.268, 0.227, 0.216, 0.206, 0.184), 1000.6, 0.60, 4180.0, 0.0,
                     "fluoroscopy.md §2 CSF ≈ water; thermal: water constants (assumption)"),
    TissueProperties("nerve", _SOFT, *_MUSCLE_THERMAL,
                     "soft-tissue attenuation and muscle thermal row (assumption: nerve not tabulated)"),
    TissueProperties("ligament", (0.296, 0.249, 0.236, 0.225, 0.201), *_MUSCLE_THERMAL,
                     "dense connective tissue: disc proxy attenuation of fluoroscopy.md §2; thermal: muscle row "
                     "(assumption: ligament not tabulated)"),
]}


def tissue(tissue_id: str) -> TissueProperties:
    """Properties of ``tissue_id``; raises :class:`UnknownStructureError` naming the known ids."""
    try:
        return TISSUES[tissue_id]
    except KeyError:
        raise UnknownStructureError(tissue_id, list(TISSUES), what="tissue") from None


def attenuation_per_mm(tissue_id: str, energy_kev: float) -> float:
    """Linear attenuation coefficient (mm⁻¹) at ``energy_kev``, log-log interpolated.

    Parameters
    ----------
    tissue_id : str
        A key of :data:`TISSUES`.
    energy_kev : float
        Photon energy in keV, 40 to 80.
    """
    if not ENERGIES_KEV[0] <= energy_kev <= ENERGIES_KEV[-1]:
        raise ParameterError("energy_kev", energy_kev, f"{ENERGIES_KEV[0]:g} to {ENERGIES_KEV[-1]:g} keV")
    mu = np.exp(np.interp(np.log(energy_kev), np.log(ENERGIES_KEV), np.log(tissue(tissue_id).attenuation_per_cm)))
    return float(mu) / 10.0
