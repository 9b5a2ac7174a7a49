"""Ablation models: radiofrequency heat, cryoneurolysis and chemical neurolysis.

One pure function per modality takes a site (the patient :class:`~simulator.scene.Scene` or a
uniform :class:`TissueBlock`), a placed needle and frozen settings, and returns one
:class:`LesionResult`: the lesion on its grid, its sizes, the target nerve inside it, every
other structure it damaged, time courses and a report. Physics, sources and the checks against
published measurements: ``docs/ablation.md``.

Examples
--------
>>> from simulator.ablation import RFSettings, TissueBlock, block_needle, rf_lesion
>>> result = rf_lesion(TissueBlock("muscle", perfused=False), block_needle("rf_18g_100mm_10mm"),
...                    RFSettings(set_temperature_c=80.0, duration_s=90.0))     # doctest: +SKIP
>>> print(result.report)                                                        # doctest: +SKIP
"""

from simulator.ablation.chemical import AGENTS, ChemicalSettings, chemical_lesion
from simulator.ablation.cryo import CryoSettings, cryo_lesion
from simulator.ablation.medium import BODY_TEMPERATURE_C, TissueBlock
from simulator.ablation.probe import block_needle
from simulator.ablation.result import LesionResult, TimeCourse, Zone, combined_nerve_coverage
from simulator.ablation.rf import RFSettings, rf_lesion
from simulator.ablation.solver import LesionProgress

__all__ = ["rf_lesion", "cryo_lesion", "chemical_lesion", "RFSettings", "CryoSettings", "ChemicalSettings", "AGENTS",
           "TissueBlock", "block_needle", "LesionResult", "TimeCourse", "Zone", "BODY_TEMPERATURE_C",
           "combined_nerve_coverage", "LesionProgress"]
