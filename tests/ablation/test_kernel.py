"""The compiled step against its numpy restatement (tests/ablation/numpy_step.py), lesion by lesion.

Whole lesions of every modality (probe surface links, freezing, the Arrhenius and table doses)
are run with both steps; the fields must agree to round-off.
"""

from __future__ import annotations

import numpy as np
import pytest

from simulator.ablation import (ChemicalSettings, CryoSettings, RFSettings, TissueBlock, block_needle, chemical_lesion,
                                cryo_lesion, rf_lesion)
from simulator.ablation import kernel
from tests.ablation.numpy_step import numpy_step

CASES = {
    "rf": lambda: rf_lesion(TissueBlock("muscle"), block_needle("rf_20g_100mm_5mm"), RFSettings(85.0, 20.0, cooling_s=5.0),
                            spacing_mm=0.6),
    "cryo": lambda: cryo_lesion(TissueBlock("fat"), block_needle("cryo_16g_100mm"), CryoSettings(cycles=((20.0, 10.0),)),
                                spacing_mm=0.8),
    "chemical": lambda: chemical_lesion(TissueBlock("muscle"), block_needle("spinal_22g_89mm"),
                                        ChemicalSettings("ethanol", 0.2, 60.0, observe_s=120.0), spacing_mm=0.6),
}


@pytest.mark.parametrize("modality", sorted(CASES))
def test_compiled_step_matches_numpy(modality, monkeypatch):
    compiled = CASES[modality]()
    monkeypatch.setattr(kernel, "step", numpy_step)
    restated = CASES[modality]()
    for name, values in compiled.fields.items():
        np.testing.assert_allclose(restated.fields[name], values, rtol=1e-5, atol=1e-5, err_msg=name)
    assert restated.volume_mm3 == pytest.approx(compiled.volume_mm3, rel=1e-3)
    power = [n for n in compiled.time_course.series if n == "power_w"]
    for name in power:
        np.testing.assert_allclose(restated.time_course.series[name], compiled.time_course.series[name], rtol=1e-9, atol=1e-12)
