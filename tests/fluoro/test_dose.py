"""Dose model against the reference sheet's published figures; the record is a pure value."""

from __future__ import annotations

import pytest

from simulator.errors import ParameterError
from simulator.fluoro import CArmGeometry, DoseRecord, Exposure, Technique, exposure_dose, record_exposure
from simulator.fluoro.dose import effective_energy_kev, frame_mas, tube_output_ugy_per_mas
from tests.helpers import record

GEOMETRY = CArmGeometry()


def test_tube_output_follows_the_square_law_fit():
    assert tube_output_ugy_per_mas(90.0) == pytest.approx(64.85, abs=0.01)        # µGy/mAs at 1 m
    assert tube_output_ugy_per_mas(90.0, 2000.0) == pytest.approx(64.85 / 4, abs=0.01)
    assert tube_output_ugy_per_mas(120.0) / tube_output_ugy_per_mas(60.0) == pytest.approx(2**1.983)


def test_dap_per_fluoroscopy_second_is_in_the_published_range():
    # Reference sheet §3: about 0.03-0.1 Gy·cm² per second of fluoroscopy in lumbar procedures.
    pulsed = exposure_dose(Exposure("pulsed", 1.0), GEOMETRY).dap_gy_cm2
    continuous = exposure_dose(Exposure("continuous", 1.0, Technique(tube_current_ma=3.0)), GEOMETRY).dap_gy_cm2
    record("DAP per fluoro second", "pulsed 8 p/s, 20 mA, 8 ms", pulsed, "0.03-0.1 Gy·cm²/s", 0.03 <= pulsed <= 0.1)
    record("DAP per fluoro second", "continuous 3 mA", continuous, "0.03-0.1 Gy·cm²/s", 0.03 <= continuous <= 0.1)
    assert 0.03 <= pulsed <= 0.1 and 0.03 <= continuous <= 0.1
    # Pulsed fluoroscopy saves dose against continuous (Cho et al. 2011: -32 %).
    assert pulsed < continuous


def test_air_kerma_rate_below_the_normal_mode_limit():
    kerma_per_min = exposure_dose(Exposure("continuous", 60.0, Technique(tube_current_ma=3.0)), GEOMETRY).air_kerma_mgy
    assert 20.0 < kerma_per_min < 88.0     # mGy/min at the reference point; 88 is the US normal-mode limit [U]


def test_a_typical_session_lands_near_the_published_totals():
    # ~30 s of pulsed fluoroscopy: published 1.18 ± 1.08 Gy·cm² for spinal pain procedures.
    session = DoseRecord()
    for _ in range(30):
        session = record_exposure(session, Exposure("pulsed", 1.0), GEOMETRY)
    record("session of 30 × 1 s pulsed", "DAP Gy·cm²", session.dap_gy_cm2, "0.1-2.3 (1.18 ± 1.08)", 0.1 < session.dap_gy_cm2 < 2.3)
    assert session.shots == 30 and session.fluoro_time_s == pytest.approx(30.0)
    assert 0.1 < session.dap_gy_cm2 < 2.3


def test_record_is_pure_and_counts_every_mode():
    start = DoseRecord()
    single = Exposure("single")
    after = record_exposure(start, single, GEOMETRY)
    assert start == DoseRecord()
    assert after.shots == 1 and after.fluoro_time_s == pytest.approx(0.008)
    one_pulse = exposure_dose(single, GEOMETRY)
    assert after.air_kerma_mgy == pytest.approx(one_pulse.air_kerma_mgy)
    run = record_exposure(after, Exposure("pulsed", 2.0), GEOMETRY)
    assert run.shots == 2
    assert run.dap_gy_cm2 == pytest.approx(one_pulse.dap_gy_cm2 * 17)        # 1 + 16 pulses
    assert Exposure("pulsed", 2.0).pulses == 16
    assert DoseRecord(2, 1.0, 0.5, 0.25).to_dict() == {"shots": 2, "fluoro_time_s": 1.0, "air_kerma_mgy": 0.5,
                                                        "dap_gy_cm2": 0.25}


def test_collimation_cuts_the_dose_area_product_not_the_kerma():
    full = exposure_dose(Exposure(), GEOMETRY)
    narrow = exposure_dose(Exposure(), CArmGeometry(collimation_mm=115.0))
    assert narrow.air_kerma_mgy == pytest.approx(full.air_kerma_mgy)
    assert narrow.dap_gy_cm2 == pytest.approx(full.dap_gy_cm2 / 4)


def test_frame_charge_and_effective_energy():
    assert frame_mas(Exposure("continuous", 1.0, Technique(tube_current_ma=3.0))) == pytest.approx(0.1)
    assert frame_mas(Exposure()) == pytest.approx(0.16)
    assert effective_energy_kev(60.0) == 45.0 and effective_energy_kev(105.0) == pytest.approx(64.5)


@pytest.mark.parametrize("build, name", [
    (lambda: Technique(kvp=150.0), "kvp"), (lambda: Technique(tube_current_ma=0.0), "tube_current_ma"),
    (lambda: Technique(pulse_rate_hz=60.0), "pulse_rate_hz"), (lambda: Exposure("video"), "mode"),
    (lambda: Exposure("pulsed", 0.0), "duration_s"),
])
def test_bad_technique_names_the_parameter(build, name):
    with pytest.raises(ParameterError) as caught:
        build()
    assert caught.value.name == name
