"""No NaN and no blow-up anywhere in the allowed parameter ranges (property-based, hypothesis).

Settings are drawn across the whole range each settings class allows (temperatures, times per
cycle, ramps, cycles, gauges, volumes, concentrations), in any tissue, perfused or not, at coarse
spacings; pauses, cooling and cryo thaws are kept to 2 minutes and freezes to 2 cycles so an
example takes about a second (the time step does not depend on them). Besides finiteness, the
heat and diffusion equations obey a maximum principle: no node may end hotter than the hottest
boundary value or colder than the coldest (the electrode or probe, the starting tissue), and a
concentration stays between 0 and the injected one.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

from simulator.ablation import (AGENTS, ChemicalSettings, CryoSettings, RFSettings, TissueBlock, block_needle,
                                chemical_lesion, cryo_lesion, rf_lesion)
from simulator.ablation.cryo import LETHAL_C, PROBE_TEMPERATURE_C
from simulator.ablation.rf import PULSED_TEMPERATURE_C, RF_TEMPERATURE_C
from simulator.tissues import TISSUES

TISSUE_IDS = sorted(t for t in TISSUES if t != "air")
blocks = st.builds(TissueBlock, st.sampled_from(TISSUE_IDS), st.booleans(), st.floats(15.0, 40.0))
QUICK = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


def _finite(result) -> None:
    assert np.all(np.isfinite(result.lesion_field[result.lesion_field > -30]))
    for name, values in result.fields.items():
        assert np.all(np.isfinite(values)), name
    for name, values in result.time_course.series.items():
        assert not np.any(np.isinf(values)), name
    assert np.isfinite(result.volume_mm3) and np.isfinite(result.width_mm) and np.isfinite(result.length_mm)


@QUICK
@given(site=blocks, pulsed=st.booleans(), fraction=st.floats(0.0, 1.0), duration=st.floats(10.0, 600.0),
       ramp_fraction=st.floats(0.0, 1.0), repeats=st.integers(1, 3), pause=st.floats(0.0, 120.0),
       cooling=st.floats(0.0, 120.0), gauge=st.sampled_from([16, 18, 20, 22]), tip=st.sampled_from([5, 10, 15]))
def test_rf_stays_finite_and_bounded(site, pulsed, fraction, duration, ramp_fraction, repeats, pause, cooling, gauge, tip):
    low, high = PULSED_TEMPERATURE_C if pulsed else RF_TEMPERATURE_C
    target = low + fraction * (high - low)
    ramp = ramp_fraction * min(60.0, duration)
    result = rf_lesion(site, block_needle(f"rf_{gauge}g_100mm_{tip}mm"),
                       RFSettings(target, duration, ramp, pulsed=pulsed, repeats=repeats, pause_s=pause, cooling_s=cooling),
                       spacing_mm=1.0)
    _finite(result)
    peak = result.fields["peak_temperature_c"]
    assert peak.max() <= max(target, site.temperature_c) + 1e-9
    assert result.fields["final_temperature_c"].min() >= min(target, site.temperature_c) - 1e-9


@QUICK
@given(site=blocks, probe=st.floats(*PROBE_TEMPERATURE_C), lethal=st.floats(*LETHAL_C),
       cycles=st.lists(st.tuples(st.floats(10.0, 300.0), st.floats(0.0, 120.0)), min_size=1, max_size=2),
       device_id=st.sampled_from(["cryo_14g_100mm", "cryo_16g_100mm"]))
def test_cryo_stays_finite_and_bounded(site, probe, lethal, cycles, device_id):
    result = cryo_lesion(site, block_needle(device_id),
                         CryoSettings(cycles=tuple(cycles), probe_temperature_c=probe, lethal_c=lethal), spacing_mm=1.5)
    _finite(result)
    low = result.fields["min_temperature_c"]
    assert low.min() >= probe - 1e-9
    assert result.fields["final_temperature_c"].max() <= site.temperature_c + 1e-9
    assert result.zones["ice_ball_0c"].size.volume_mm3 >= result.volume_mm3


soft_blocks = st.builds(TissueBlock, st.sampled_from([t for t in TISSUE_IDS if "bone" not in t]), st.booleans(),
                        st.floats(15.0, 40.0))


@QUICK
@given(site=soft_blocks, agent=st.sampled_from(sorted(AGENTS)), fraction=st.floats(0.0, 1.0), volume=st.floats(0.1, 3.0),
       observe=st.floats(60.0, 7200.0))
def test_chemical_stays_finite_and_bounded(site, agent, fraction, volume, observe):
    low, high = AGENTS[agent].concentration_pct
    concentration = low + fraction * (high - low)
    result = chemical_lesion(site, block_needle("spinal_22g_89mm"), ChemicalSettings(agent, volume, concentration, observe),
                             spacing_mm=1.0)
    _finite(result)
    peak = result.fields["peak_concentration_pct"]
    assert peak.min() >= 0.0 and peak.max() <= concentration * (1 + 1e-6)
    assert result.fields["final_concentration_pct"].min() >= 0.0


def test_an_injection_into_bone_is_refused():
    import pytest

    from simulator.errors import ParameterError

    with pytest.raises(ParameterError, match="cannot be injected into bone"):
        chemical_lesion(TissueBlock("cortical_bone"), block_needle("spinal_22g_89mm"), ChemicalSettings())
