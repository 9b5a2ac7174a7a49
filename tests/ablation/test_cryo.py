"""Cryoneurolysis: ice ball and lethal zone against ablation.md §5, the enthalpy balance,
convergence, protocols and bad input."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from simulator.ablation import CryoSettings, TissueBlock, block_needle, cryo_lesion
from simulator.ablation.cryo import CRYO_TISSUES, LIQUIDUS_C
from simulator.ablation.probe import probe_body
from simulator.devices import device
from simulator.errors import ParameterError
from simulator.tissues import TISSUES
from tests.helpers import record

IN_VIVO = TissueBlock("muscle")
_CACHE: dict = {}


def lesion(settings: CryoSettings = CryoSettings(), device_id: str = "cryo_14g_100mm", site=IN_VIVO, **options):
    key = (settings, device_id, site, tuple(sorted(options.items())))
    if key not in _CACHE:
        _CACHE[key] = cryo_lesion(site, block_needle(device_id), settings, **options)
    return _CACHE[key]


def probe_of_diameter(diameter_mm: float):
    """A cryoprobe like the 14 G one but of another diameter (Littrup's 1.7 and 2.4 mm probes)."""
    needle = block_needle("cryo_14g_100mm")
    return replace(needle, model=replace(device("cryo_14g_100mm"), id=f"cryo_{diameter_mm}mm", outer_diameter_mm=diameter_mm))


def test_protocol_a_freezes_at_least_4mm_of_a_parallel_nerve():
    """Protocol A (1.5 min freeze, 30 s thaw, 1.5 min refreeze) should freeze ≥ 4 mm of nerve
    (ablation.md §5): ice ball and lethal zone both reach well over 4 mm along the probe."""
    result = lesion()
    ice = result.zones["ice_ball_0c"].size
    record("cryo protocol A, 14 G probe at −70 °C", "ice ball width / length", f"{ice.width_mm:.1f} / {ice.length_mm:.1f} mm",
           "≥ 4 mm frozen nerve (ablation.md §5)", ice.length_mm >= 4.0)
    record("cryo protocol A, 14 G probe at −70 °C", "lethal (−20 °C) width / length",
           f"{result.width_mm:.1f} / {result.length_mm:.1f} mm", "inside the ice ball", result.width_mm < ice.width_mm)
    assert result.length_mm >= 4.0 and ice.length_mm >= 4.0
    assert result.zones["core_minus40c"].size.width_mm < result.width_mm < ice.width_mm


def test_lethal_diameter_of_a_1_7mm_probe_is_84_percent_of_a_2_4mm_probe():
    """Littrup 2009 (ablation.md §5): a 1.7 mm probe gives 84 % of the 2.4 mm probe's lethal
    (< −30 °C) diameter, in a 39 °C phantom. Here 5 min at −89 °C (the N₂O limit; the argon probes
    and 15 min of the study are outside a nerve probe's settings): within 0.80-0.88."""
    phantom = TissueBlock("muscle", perfused=False, temperature_c=39.0)
    settings = CryoSettings(cycles=((300.0, 0.0),), probe_temperature_c=-89.0, lethal_c=-30.0)
    small, large = (cryo_lesion(phantom, probe_of_diameter(d), settings) for d in (1.7, 2.4))
    ratio = small.width_mm / large.width_mm
    record("cryo lethal Ø, 1.7 / 2.4 mm probe", "5 min at −89 °C, 39 °C phantom", f"{100 * ratio:.1f} %",
           "84 % (Littrup 2009)", 0.80 <= ratio <= 0.88)
    assert 0.80 <= ratio <= 0.88
    _CACHE["littrup_2.4"] = large


@pytest.mark.xfail(strict=True, reason="model ≈ 8 °C/mm: the sheet's 4 °C/mm comes from larger argon needles "
                                       "frozen longer (docs/ablation.md)")
def test_temperature_rises_about_4c_per_mm_from_the_minus40c_core_to_the_ice_edge():
    """PMC4850244 (ablation.md §5): ≤ −40 °C core, then a linear rise to 0 °C ≈ 1 cm further out: ≈ 4 °C/mm."""
    large = _CACHE.get("littrup_2.4") or cryo_lesion(
        TissueBlock("muscle", perfused=False, temperature_c=39.0), probe_of_diameter(2.4),
        CryoSettings(cycles=((300.0, 0.0),), probe_temperature_c=-89.0, lethal_c=-30.0))
    ice, core = large.zones["ice_ball_0c"].size.width_mm, large.zones["core_minus40c"].size.width_mm
    gradient = 40.0 / (0.5 * (ice - core))
    record("cryo gradient −40 → 0 °C", "2.4 mm probe, 5 min at −89 °C", f"{gradient:.1f} °C/mm", "≈ 4 °C/mm (PMC4850244)",
           3.0 <= gradient <= 5.0)
    assert 3.0 <= gradient <= 5.0


def test_a_second_freeze_grows_the_ice_ball():
    one = lesion(CryoSettings(cycles=((90.0, 30.0),)))
    two = lesion()
    assert two.zones["ice_ball_0c"].size.volume_mm3 > one.zones["ice_ball_0c"].size.volume_mm3
    assert two.volume_mm3 > one.volume_mm3


def test_colder_probe_and_longer_freeze_make_bigger_lesions():
    base = lesion(CryoSettings(cycles=((60.0, 0.0),)))
    colder = lesion(CryoSettings(cycles=((60.0, 0.0),), probe_temperature_c=-89.0))
    longer = lesion(CryoSettings(cycles=((120.0, 0.0),)))
    assert colder.width_mm > base.width_mm and longer.width_mm > base.width_mm


def test_probe_temperature_course_and_thaw():
    result = lesion()
    course = result.time_course
    probe = course.series["probe_c"]
    assert np.nanmin(probe) == pytest.approx(-70.0)
    thawing = (course.time_s > 90.0 + 1e-9) & (course.time_s <= 120.0)
    assert np.all(np.isnan(probe[thawing]))  # the gas is off during the thaw
    beside = course.series["lateral_2mm_c"]
    assert beside.min() < -20.0  # 2 mm from the probe: in the lethal zone
    assert np.all(course.series["power_w"][~np.isnan(probe)][3:] < 0.0)  # heat flows into the probe


def test_enthalpy_is_balanced():
    """Heat drawn by the probe (power × time) equals the tissue's loss of enthalpy, latent heat
    included, within 2 % at 0.25 mm (no perfusion, one 30 s freeze). The probe's cut cells are not
    conservative, so the balance converges with the spacing: 0.90 at 0.75 mm, 0.95 at 0.5 mm."""
    site = TissueBlock("muscle", perfused=False)
    result = cryo_lesion(site, block_needle("cryo_14g_100mm"), CryoSettings(cycles=((30.0, 0.0),), cooldown_s=0.0),
                         spacing_mm=0.25)
    grid = result.grid
    outside = ~probe_body(grid, result.probe).inside
    t = result.fields["final_temperature_c"].astype(float)[outside]
    muscle = TISSUES["muscle"]
    c_u = muscle.density_kg_m3 * muscle.specific_heat_j_kg_k
    c_f, latent = 0.5 * c_u, muscle.density_kg_m3 * CRYO_TISSUES["muscle"].latent_heat_j_kg

    def enthalpy(temperature):  # the enthalpy method's H(T), solidus −2 °C, liquidus 0 °C
        return np.where(temperature <= -2.0, c_f * (temperature + 2.0),
                        np.where(temperature < 0.0, (c_f + latent / 2.0) * (temperature + 2.0),
                                 2.0 * c_f + latent + c_u * temperature))

    lost = float((enthalpy(np.full_like(t, 37.0)) - enthalpy(t)).sum()) * (grid.spacing_mm * 1e-3) ** 3
    course = result.time_course
    drawn = -float(np.sum(course.series["power_w"][1:] * np.diff(course.time_s)))
    record("cryo probe heat vs tissue enthalpy loss", "14 G, 30 s at −70 °C, 0.25 mm", f"{drawn:.1f} / {lost:.1f} J",
           "within 2 %", abs(drawn / lost - 1) < 0.02)
    assert drawn == pytest.approx(lost, rel=0.02)


def test_ice_ball_converges_when_the_spacing_is_halved():
    """Ice ball and lethal widths change < 5 % from the default 0.75 mm to 0.375 mm (one 60 s
    freeze; the default protocol at 0.375 mm takes minutes: at 0.5 mm it moved < 2 %, docs/ablation.md)."""
    settings = CryoSettings(cycles=((60.0, 0.0),))
    coarse, fine = lesion(settings), lesion(settings, spacing_mm=0.375)
    for name, a, b in (("lethal", coarse.width_mm, fine.width_mm),
                       ("ice ball", coarse.zones["ice_ball_0c"].size.width_mm, fine.zones["ice_ball_0c"].size.width_mm)):
        change = abs(b / a - 1.0)
        record("cryo width, 0.75 → 0.375 mm spacing", f"{name}, 60 s freeze", f"{100 * change:.2f} %", "< 5 %", change < 0.05)
        assert change < 0.05


def test_ice_ball_edge_is_at_0c():
    result = lesion()
    low = result.fields["min_temperature_c"]
    assert np.array_equal(result.zone_mask("ice_ball_0c"), low <= LIQUIDUS_C)
    assert float(low.min()) == pytest.approx(-70.0)


@pytest.mark.parametrize("options, name, allowed", [
    ({"probe_temperature_c": -120.0}, "probe_temperature_c", "-89 to -40 °C"),
    ({"probe_temperature_c": 5.0}, "probe_temperature_c", "-89 to -40 °C"),
    ({"cycles": ((-10.0, 30.0),)}, "freeze_s", "10 to 300 s"),
    ({"cycles": ((90.0, 30.0),) * 4}, "cycles", "1 to 3"),
    ({"cycles": ()}, "cycles", "1 to 3"),
    ({"cycles": ((90.0, -1.0),)}, "thaw_s", "0 to 300 s"),
    ({"cycles": "long"}, "cycles", "pairs"),
    ({"lethal_c": 0.0}, "lethal_c", "-40 to -20 °C"),
])
def test_protocols_outside_what_probes_allow_are_refused(options, name, allowed):
    with pytest.raises(ParameterError, match=name) as error:
        CryoSettings(**options)
    assert allowed in str(error.value)


def test_an_rf_cannula_is_not_a_cryoprobe():
    with pytest.raises(ParameterError, match="cryoprobe"):
        cryo_lesion(IN_VIVO, block_needle("rf_18g_100mm_10mm"), CryoSettings())


def test_protocol_a_at_the_l4_medial_branch_destroys_at_least_4mm_of_it(default_scene):
    """The 14 G probe placed by the textbook parallel approach on the right L4 medial branch:
    protocol A takes ≥ 4 mm of the nerve below −20 °C (ablation.md §5: "≥ 4 mm frozen nerve
    length"; procedure.md §6 item 13) and reaches no critical structure."""
    from simulator.approach import place_needle, textbook_approach

    needle, _ = place_needle(default_scene, textbook_approach("medial_branch_L4_right"), device_id="cryo_14g_100mm")
    result = cryo_lesion(default_scene, needle, CryoSettings(), target_id="medial_branch_L4_right")
    record("cryo protocol A at the L4 medial branch (textbook needle)", "nerve length below −20 °C",
           result.target_length_mm, ">= 4 mm (ablation.md §5)", result.target_length_mm >= 4.0)
    assert result.target_length_mm >= 4.0
    assert result.critical_ids == ()
    assert result.zones["ice_ball_0c"].size.volume_mm3 > result.volume_mm3
