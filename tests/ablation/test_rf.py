"""RF lesions against the published bench facts (ablation.md §4), convergence, and behaviour.

Cosman, Dolensky & Hoffman 2014 (Pain Med) made > 400 lesions ex vivo, so the facts are
checked in an unperfused muscle block. The abstract does not give the bath temperature; the
block starts at 37 °C (docs/ablation.md shows 21 °C too). Where the model misses a published
range the test is a strict xfail that records the model's figure: it fails loudly if a change
makes the model meet the range, so the docs get updated.
"""

from __future__ import annotations

import numpy as np
import pytest

from simulator.ablation import RFSettings, TissueBlock, block_needle, rf_lesion
from simulator.ablation.damage import ARRHENIUS, time_to_damage_s
from simulator.ablation.probe import probe_body
from simulator.ablation.thermal import volumetric_heat_capacity
from simulator.errors import ParameterError, SimulationCancelled
from tests.helpers import record

EX_VIVO = TissueBlock("muscle", perfused=False, temperature_c=37.0)
_CACHE: dict = {}


def lesion(device: str, temperature_c: float = 80.0, duration_s: float = 120.0, **options):
    """The ex-vivo lesion of ``device`` (cached: several facts share lesions)."""
    key = (device, temperature_c, duration_s, tuple(sorted(options.items())))
    if key not in _CACHE:
        site = options.pop("site", EX_VIVO)
        spacing = options.pop("spacing_mm", 0.5)
        _CACHE[key] = rf_lesion(site, block_needle(device), RFSettings(temperature_c, duration_s, **options),
                                spacing_mm=spacing)
    return _CACHE[key]


def growth(small, large, zone: str | None = None) -> float:
    """Width of ``large`` over width of ``small``, minus one (the lesion or one of its zones)."""
    if zone is None:
        return large.width_mm / small.width_mm - 1.0
    return large.zones[zone].size.width_mm / small.zones[zone].size.width_mm - 1.0


# -- published facts (Cosman 2014 abstract, ablation.md §4) ------------------------------------
def test_widths_at_80c_2min_are_within_the_published_bounds():
    """Implied widths (ablation.md §4): 22 G 4.6-6.9 mm, 16 G 7.6-10.9 mm at 80 °C for 2 min."""
    w22, w16 = lesion("rf_22g_100mm_10mm").width_mm, lesion("rf_16g_100mm_10mm").width_mm
    record("RF width 80 °C 2 min (ex vivo)", "22 G", w22, "4.6-6.9 mm (Cosman 2014, implied)", 4.6 <= w22 <= 6.9)
    record("RF width 80 °C 2 min (ex vivo)", "16 G", w16, "7.6-10.9 mm (Cosman 2014, implied)", 7.6 <= w16 <= 10.9)
    assert 4.6 <= w22 <= 6.9
    assert 7.6 <= w16 <= 10.9


def test_width_grows_with_gauge():
    widths = [lesion(f"rf_{g}g_100mm_10mm").width_mm for g in (22, 20, 18, 16)]
    assert np.all(np.diff(widths) > 0.3), widths


_GAUGE = ("22 G → 16 G (80 °C, 2 min)", ("rf_22g_100mm_10mm",), ("rf_16g_100mm_10mm",), (0.58, 0.65))
_TEMPERATURE = ("60 → 90 °C (2 min, 18 G)", ("rf_18g_100mm_10mm", 60.0), ("rf_18g_100mm_10mm", 90.0), (1.08, 1.52))
_TIME = ("1 → 2 min (80 °C, 18 G)", ("rf_18g_100mm_10mm", 80.0, 60.0), ("rf_18g_100mm_10mm", 80.0, 120.0), (0.11, 0.20))
_NO_JOULE = ("the fixed-temperature electrode underestimates the gauge effect; a Joule-heated variant did not help "
             "(docs/ablation.md)")


@pytest.mark.parametrize("fact, zone", [
    pytest.param(_GAUGE, None, marks=pytest.mark.xfail(strict=True, reason=f"model +41 %: {_NO_JOULE}"), id="gauge"),
    pytest.param(_GAUGE, "isotherm_50c", marks=pytest.mark.xfail(strict=True, reason=f"model +42 %: {_NO_JOULE}"),
                 id="gauge, 50 °C isotherm"),
    pytest.param(_TEMPERATURE, None, marks=pytest.mark.xfail(strict=True, reason="model +106 %, just below the range"),
                 id="temperature"),
    pytest.param(_TEMPERATURE, "isotherm_50c", id="temperature, 50 °C isotherm"),
    pytest.param(_TIME, None, marks=pytest.mark.xfail(strict=True, reason="model +35 %: the liver set needs tens of "
                                                      "seconds above 50 °C, so the modelled lesion grows later"), id="time"),
    pytest.param(_TIME, "isotherm_50c", id="time, 50 °C isotherm"),
])
def test_width_grows_as_cosman_measured(fact, zone):
    """Cosman 2014 (ablation.md §4): width +58-65 % from 22 G to 16 G at 80 °C for 2 min, +108-152 %
    from 60 to 90 °C at 2 min, +11-20 % from 1 to 2 min; by the Arrhenius lesion and by the
    50 °C isotherm (Hall 2015: the usual RF lesion edge), the cross-check."""
    name, small, large, (low, high) = fact
    g = growth(lesion(*small), lesion(*large), zone)
    record(f"RF width {name}", "50 °C isotherm" if zone else "Arrhenius", f"+{100 * g:.0f} %",
           f"+{100 * low:.0f}-{100 * high:.0f} % (Cosman 2014)", low <= g <= high)
    assert low <= g <= high


@pytest.mark.parametrize("gauge", [22, 18, 16])
def test_length_exceeds_the_active_tip_by_1_to_5_mm(gauge):
    """Cosman 2014: at 80 °C, 2 min, length = tip + 1-5 mm, extending distal and proximal."""
    result = lesion(f"rf_{gauge}g_100mm_10mm")
    extra = result.length_mm - 10.0
    record("RF length − active tip (80 °C, 2 min)", f"{gauge} G", extra, "1-5 mm (Cosman 2014)", 1.0 <= extra <= 5.0)
    assert 1.0 <= extra <= 5.0
    assert result.size.distal_reach_mm > 0.0 and result.size.proximal_reach_mm > 0.0


def test_conventional_lesion_radius_is_about_2mm_and_grows_with_gauge():
    """Cohen 2011: conventional lesion radius 1.1-2.2 mm by electrode; Bogduk 1987: at most about
    2 mm, no distal extension (ablation.md §4 suggested test (c): ≤ 2 mm distal)."""
    small = lesion("rf_22g_100mm_5mm", 80.0, 90.0)
    record("RF lesion radius beyond the electrode", "22 G 5 mm, 80 °C 90 s", small.size.radial_reach_mm,
           "1.1-2.2 mm (Cohen 2011)", 1.1 <= small.size.radial_reach_mm <= 2.2)
    assert 1.1 <= small.size.radial_reach_mm <= 2.2
    reaches = [lesion(f"rf_{g}g_100mm_10mm", 80.0, 90.0).size.radial_reach_mm for g in (22, 18, 16)]
    assert np.all(np.diff(reaches) > 0.0), reaches
    for g in (22, 18, 16):
        assert lesion(f"rf_{g}g_100mm_10mm", 80.0, 90.0).size.distal_reach_mm <= 2.0


def test_perfusion_barely_alters_a_90s_lesion():
    """ablation.md §2: muscle's perfusion time constant ≈ 1470 s, so it barely alters 60-150 s lesions."""
    ex_vivo = lesion("rf_18g_100mm_10mm", 80.0, 90.0)
    in_vivo = lesion("rf_18g_100mm_10mm", 80.0, 90.0, site=TissueBlock("muscle"))
    ratio = in_vivo.width_mm / ex_vivo.width_mm
    assert 0.95 <= ratio < 1.0


def test_liver_set_reaches_omega_1_after_61s_at_50c():
    """ablation.md §3 / suggested test (d): Ω = 1 at 50 °C after ≈ 61 s; the kernel's integral
    over tissue held at 50 °C agrees to 1e-9."""
    from simulator.ablation.damage import DAMAGE_FLOOR_C
    from simulator.ablation.grid import needle_grid
    from simulator.ablation.solver import ArrheniusDose, Phase, simulate, uniform_medium

    liver = ARRHENIUS["liver"]
    assert time_to_damage_s(liver, 50.0) == pytest.approx(61.0, abs=1.0)
    grid = needle_grid([0, 0, 0.0], [0, 0, 0.0], margin_mm=2.0, spacing_mm=1.0, direction=[0, 0, 1.0])
    run = simulate(grid, uniform_medium(grid, capacity=3.7e6, conductivity=0.5), None, 50.0, [Phase(61.0, None, "hold")],
                   dose=ArrheniusDose(liver.ln_a, liver.ea_over_r_k, DAMAGE_FLOOR_C))
    assert np.allclose(run.dose, 61.0 / time_to_damage_s(liver, 50.0), rtol=1e-9)


# -- numerics of the whole model -----------------------------------------------------------------
def test_width_converges_when_the_spacing_is_halved():
    """The issue's requirement: width changes < 5 % from the default 0.5 mm to 0.25 mm (18 G, 80 °C, 90 s)."""
    coarse = lesion("rf_18g_100mm_10mm", 80.0, 90.0)
    fine = lesion("rf_18g_100mm_10mm", 80.0, 90.0, spacing_mm=0.25)
    change = abs(fine.width_mm / coarse.width_mm - 1.0)
    record("RF width, 0.5 → 0.25 mm spacing", "18 G 10 mm, 80 °C 90 s", f"{100 * change:.2f} %", "< 5 %", change < 0.05)
    assert change < 0.05
    assert abs(fine.length_mm / coarse.length_mm - 1.0) < 0.05


def test_electrode_heat_goes_into_the_tissue():
    """Heat through the electrode's surface (power × time) equals the tissue's gain within 5 %
    (no perfusion, 30 s: nothing reaches the grid's edge)."""
    result = lesion("rf_18g_100mm_10mm", 80.0, 30.0, cooling_s=0.0, spacing_mm=0.25)
    body = probe_body(result.grid, result.probe)
    rise = result.fields["final_temperature_c"].astype(float) - 37.0
    gained = float(rise[~body.inside].sum()) * volumetric_heat_capacity("muscle") * (0.25e-3) ** 3
    course = result.time_course
    delivered = float(np.sum(course.series["power_w"][1:] * np.diff(course.time_s)))
    record("RF electrode energy vs tissue gain", "18 G, 80 °C 30 s", f"{delivered:.1f} / {gained:.1f} J", "within 5 %",
           abs(delivered / gained - 1) < 0.05)
    assert delivered == pytest.approx(gained, rel=0.05)


def test_same_input_gives_bit_identical_results():
    a = rf_lesion(EX_VIVO, block_needle("rf_20g_100mm_5mm"), RFSettings(70.0, 30.0), spacing_mm=0.8)
    b = rf_lesion(EX_VIVO, block_needle("rf_20g_100mm_5mm"), RFSettings(70.0, 30.0), spacing_mm=0.8)
    assert np.array_equal(a.lesion_field, b.lesion_field)
    assert all(np.array_equal(a.fields[k], b.fields[k]) for k in a.fields)
    assert all(np.array_equal(a.time_course.series[k], b.time_course.series[k], equal_nan=True)
               for k in a.time_course.series)
    assert a.report == b.report


# -- behaviour -----------------------------------------------------------------------------------
def test_pulsed_rf_makes_no_lesion():
    """Pulsed RF keeps the tip at 42 °C; > 45 °C is neurodestructive (procedure.md §4): no lesion."""
    result = lesion("rf_18g_100mm_10mm", 42.0, 120.0, pulsed=True)
    assert result.volume_mm3 == 0.0
    assert float(result.fields["peak_temperature_c"].max()) == pytest.approx(42.0, abs=1e-9)
    assert 0.0 < float(result.fields["damage_omega"].max()) < 0.5
    assert "No lesion" in result.report


def test_repeated_cycles_widen_the_lesion():
    once = lesion("rf_18g_100mm_10mm", 80.0, 90.0)
    twice = lesion("rf_18g_100mm_10mm", 80.0, 90.0, repeats=2)
    assert twice.width_mm > once.width_mm + 0.2
    assert np.isnan(twice.time_course.series["electrode_c"]).any()  # the generator was off in the pause


def test_time_course_follows_the_generator():
    result = lesion("rf_18g_100mm_10mm", 80.0, 90.0)
    course = result.time_course
    electrode = course.series["electrode_c"]
    on = course.time_s <= 90.0 + 1e-9
    assert np.nanmax(electrode) == pytest.approx(80.0)
    assert np.all(np.isnan(electrode[~on]))
    beside = course.series["lateral_2mm_c"]
    assert beside[np.argmin(np.abs(course.time_s - 90.0))] > 50.0  # 2 mm from the surface: inside the 50 °C isotherm
    assert beside[-1] < beside[np.argmin(np.abs(course.time_s - 90.0))]  # cooling after the generator stops
    assert np.all(course.series["power_w"][on][5:] > 0.3)


def test_progress_is_reported_with_the_live_time_course_and_can_cancel():
    reports = []
    result = rf_lesion(EX_VIVO, block_needle("rf_22g_100mm_5mm"), RFSettings(80.0, 20.0), spacing_mm=1.0,
                       progress=lambda p: reports.append(p) or True)
    fractions = [p.fraction for p in reports]
    assert fractions[-1] == 1.0 and np.all(np.diff(fractions) > 0) and len(fractions) >= 20
    # Each report carries the latest record of the time course the result keeps, so a screen can
    # draw the curve while the lesion is computed.
    course = result.time_course
    for report in reports:
        row = int(np.argmin(np.abs(course.time_s - report.time_s)))
        assert course.time_s[row] == pytest.approx(report.time_s)
        assert set(report.values) == set(course.series) - {"power_w"}
        for name, value in report.values.items():
            assert value == pytest.approx(course.series[name][row], nan_ok=True)
    assert reports[-1].values["electrode_c"] != reports[-1].values["electrode_c"]  # NaN: off, cooling
    assert max(p.values["electrode_c"] for p in reports) == pytest.approx(80.0)
    assert reports[-1].time_s == pytest.approx(course.time_s[-1]) == pytest.approx(reports[0].duration_s)
    assert {p.unit for p in reports} == {"°C"}
    with pytest.raises(SimulationCancelled, match="rf lesion cancelled"):
        rf_lesion(EX_VIVO, block_needle("rf_22g_100mm_5mm"), RFSettings(80.0, 20.0), spacing_mm=1.0,
                  progress=lambda p: p.fraction < 0.5)


def test_mesh_encloses_the_lesion_volume():
    result = lesion("rf_18g_100mm_10mm", 80.0, 90.0)
    mesh = result.mesh()
    assert mesh.volume_mm3() == pytest.approx(result.volume_mm3, rel=0.05)
    grid = result.grid
    middle = grid.tip_index - 0.5 * result.probe.active_mm / grid.spacing_mm
    centre = grid.patient_from_index([[*grid.axis_index, middle]])[0]
    assert np.allclose(mesh.vertices.mean(axis=0), centre, atol=0.5)  # around the middle of the active tip (patient mm)


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize("options, name, allowed", [
    ({"set_temperature_c": 120.0}, "set_temperature_c", "60 to 90 °C"),
    ({"set_temperature_c": 55.0}, "set_temperature_c", "60 to 90 °C"),
    ({"set_temperature_c": 80.0, "pulsed": True}, "set_temperature_c", "38 to 42 °C for pulsed RF"),
    ({"duration_s": -5.0}, "duration_s", "10 to 600 s"),
    ({"duration_s": float("nan")}, "duration_s", "10 to 600 s"),
    ({"ramp_s": 100.0}, "ramp_s", "0 to 60 s"),
    ({"repeats": 4}, "repeats", "1 to 3"),
    ({"repeats": 1.5}, "repeats", "1 to 3"),
    ({"damage_model": "steak"}, "damage_model", "liver"),
])
def test_settings_outside_what_generators_allow_are_refused(options, name, allowed):
    with pytest.raises(ParameterError, match=name) as error:
        RFSettings(**options)
    assert allowed in str(error.value)


def test_a_cryoprobe_is_not_an_electrode():
    with pytest.raises(ParameterError, match="rf_cannula"):
        rf_lesion(EX_VIVO, block_needle("cryo_14g_100mm"), RFSettings())


def test_spacing_outside_its_range_is_refused():
    with pytest.raises(ParameterError, match="spacing_mm.*0.1 to 1 mm"):
        rf_lesion(EX_VIVO, block_needle("rf_18g_100mm_10mm"), RFSettings(), spacing_mm=0.05)


# -- in the patient ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def l4_lesion(default_scene):
    from simulator.approach import place_needle, textbook_approach

    needle, _ = place_needle(default_scene, textbook_approach("medial_branch_L4_right"))
    return rf_lesion(default_scene, needle, RFSettings(), target_id="medial_branch_L4_right")


def test_textbook_placement_lesions_enough_of_the_l4_medial_branch(l4_lesion):
    """The textbook parallel needle (0.5 mm, 12° from the nerve) at 80 °C × 90 s must take in the
    ≥ 4 mm of nerve of the scoring checklist (procedure.md §6 item 13) and spare every critical structure."""
    record("RF at the L4 medial branch (textbook needle, 80 °C 90 s)", "nerve length in lesion",
           l4_lesion.target_length_mm, ">= 4 mm (procedure.md checklist 13)", l4_lesion.target_length_mm >= 4.0)
    assert l4_lesion.target_length_mm >= 4.0
    assert 0.0 < l4_lesion.target_fraction < 1.0
    assert "medial_branch_L4_right" in l4_lesion.damaged_mm3
    assert l4_lesion.critical_ids == ()
    assert "enough" in l4_lesion.report


def test_scene_tissues_shape_the_lesion(l4_lesion):
    """Bone conducts less heat and stores less than muscle: the lesion reaches into the L5
    transverse process under the needle, and its volume differs from the block's."""
    assert l4_lesion.damaged_mm3.get("L5", 0.0) > 0.0
    block = lesion("rf_18g_150mm_10mm", 80.0, 90.0, site=TissueBlock("muscle"))
    assert abs(l4_lesion.volume_mm3 / block.volume_mm3 - 1.0) > 0.05


def test_an_electrode_beside_a_ganglion_damages_what_must_be_spared(default_scene):
    """A cannula coming from behind whose active tip passes 1 mm lateral of the right L4 ganglion
    (a needle far too deep and lateral): the lesion reaches the ganglion, the result lists it
    among the structures to spare and the report tells the trainee."""
    from simulator.devices import device
    from simulator.needle import Needle

    ganglion = default_scene.structure("ganglion_L4_right").field
    centre = np.asarray(ganglion.points_mm, dtype=float).mean(axis=0)
    model = device("rf_18g_150mm_10mm")
    direction = np.array([0.0, -1.0, 0.0])  # anterior, as from the back
    middle = centre + np.array([-1.0, 0.0, 0.0]) * (float(np.max(ganglion.radii_mm)) + 1.0 + model.radius_mm)
    tip = middle + 5.0 * direction
    needle = Needle("needle 1", model, tip - 60.0 * direction, direction, depth_mm=60.0)
    result = rf_lesion(default_scene, needle, RFSettings(), target_id="medial_branch_L4_right")
    assert "ganglion_L4_right" in result.critical_ids
    assert result.damaged_mm3["ganglion_L4_right"] > 5.0
    assert "must be spared" in result.report and "ganglion_L4_right" in result.report
    assert result.target_length_mm == 0.0 and "misses medial_branch_L4_right" in result.report


def test_chosen_points_are_recorded():
    """A point the caller gives, 1 mm from the electrode's surface beside the middle of its tip,
    gets its own course (°C): hotter than the built-in point 2 mm out, cooler than the electrode."""
    needle = block_needle("rf_18g_100mm_10mm")  # tip at the origin, along +z
    point = [needle.model.radius_mm + 1.0, 0.0, -5.0]
    result = rf_lesion(EX_VIVO, needle, RFSettings(80.0, 60.0), probe_points_mm=[point])
    course = result.time_course
    assert course.units["point_0_c"] == "°C" and course.units["power_w"] == "W"
    near, far = course.series["point_0_c"].max(), course.series["lateral_2mm_c"].max()
    assert far < near < 80.0 and near > 60.0


def test_lesions_at_two_positions_count_shared_nerve_once(default_scene, l4_lesion):
    """A second lesion after withdrawing the textbook cannula 3 mm (repositioning, procedure.md
    step 15): the combined coverage lies between the larger lesion's and the sum of both (the
    stretch both take in is counted once). The textbook position already takes in the stretch of
    nerve that runs along the SAP neck, so the second lesion adds little (docs/ablation.md)."""
    from simulator.ablation import combined_nerve_coverage
    from simulator.approach import place_needle, textbook_approach
    from simulator.needle import withdraw

    target = "medial_branch_L4_right"
    needle, _ = place_needle(default_scene, textbook_approach(target))
    back, _ = withdraw(default_scene, needle, 3.0)
    second = rf_lesion(default_scene, back, RFSettings(), target_id=target)
    length, fraction = combined_nerve_coverage(default_scene, target, [l4_lesion, second])
    assert combined_nerve_coverage(default_scene, target, [l4_lesion, l4_lesion])[0] == pytest.approx(l4_lesion.target_length_mm)
    record("RF at the L4 medial branch + a second lesion 3 mm back", "nerve length in either lesion", length,
           "between the larger and the sum", max(l4_lesion.target_length_mm, second.target_length_mm) < length
           < l4_lesion.target_length_mm + second.target_length_mm)
    assert max(l4_lesion.target_length_mm, second.target_length_mm) < length
    assert length < l4_lesion.target_length_mm + second.target_length_mm
    assert fraction == pytest.approx(length / default_scene.structure(target).field.length_mm, rel=1e-3)


def test_perfusion_can_be_switched_off_in_the_patient(default_scene, l4_lesion):
    """Without perfusion (an ex-vivo comparison in the patient's own tissues) the same lesion is a
    little larger, and the result says so."""
    from simulator.approach import place_needle, textbook_approach

    needle, _ = place_needle(default_scene, textbook_approach("medial_branch_L4_right"))
    dry = rf_lesion(default_scene, needle, RFSettings(), target_id="medial_branch_L4_right", perfused=False)
    assert dry.site == "scene, no perfusion" and l4_lesion.site == "scene"
    assert l4_lesion.volume_mm3 < dry.volume_mm3 < 1.1 * l4_lesion.volume_mm3
    assert "scene, no perfusion" in dry.report
    forced = rf_lesion(TissueBlock("muscle"), block_needle("rf_18g_100mm_10mm"), RFSettings(), perfused=False)
    assert forced.site.startswith("block of muscle (ex vivo")
