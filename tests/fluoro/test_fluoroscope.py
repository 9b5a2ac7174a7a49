"""Shots of the default patient: cache, needles, image orientation and look, noise and dose."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.errors import CollisionError, ParameterError
from simulator.fluoro import (CArmGeometry, CArmPose, Display, Exposure, Fluoroscope, Technique, ap, lateral,
                              oblique, squared_endplate_pose)
from simulator.fluoro.projection import project_points
from simulator.fluoro.reference import scene_line_integrals_marched
from simulator.needle import advance_until_bone, aim_direction, entry_towards, insert
from tests.helpers import record

NOISELESS = Display(noise=False, marker=False, vignetting=0.0)


@pytest.fixture(scope="module")
def needle(default_scene):
    junction = default_scene.landmark("sap_tp_junction_L5_right")
    direction = aim_direction(junction, 50.0, 10.0, frame=default_scene.layout.poses["L5"].rotation)
    placed, _ = insert(default_scene, "rf_22g_100mm_5mm", entry_towards(default_scene, junction, direction), direction)
    return advance_until_bone(default_scene, placed)[0]


@pytest.fixture(scope="module")
def true_ap(default_scene):
    return squared_endplate_pose(default_scene, "L4")


def test_anatomy_line_integrals_match_the_field_ray_march(default_scene, fluoroscope, true_ap):
    # Rays through the pedicles, the spinous process, the bodies and beside the spine.
    projection = fluoroscope.projection(true_ap)
    marks = ["pedicle_L4_left", "pedicle_L4_right", "spinous_tip_L4", "body_center_L4", "sap_tp_junction_L5_right"]
    pixels = np.round(project_points(projection, [default_scene.landmark(m) for m in marks]))
    pixels = np.vstack([pixels, [[128.0, 40.0], [60.0, 128.0]]])
    energy = 59.0
    fast = fluoroscope.anatomy_line_integrals(true_ap, energy)[pixels[:, 0].astype(int), pixels[:, 1].astype(int)]
    slow = scene_line_integrals_marched(default_scene, projection, pixels, energy, step_mm=0.1)
    relative = np.abs(fast - slow) / slow
    record("scene line integrals vs field ray-march", "max relative difference, 7 rays", float(relative.max() * 100),
           "< 1 %", relative.max() < 0.01)
    assert relative.max() < 0.01
    assert slow.min() > 3.0   # every ray crosses the whole body


def test_a_shot_at_an_unchanged_pose_does_not_redo_the_anatomy(fluoroscope, true_ap, needle, monkeypatch):
    fluoroscope.shot(true_ap, rng=0)
    import simulator.fluoro.fluoroscope as module

    def fail(*args, **kwargs):
        raise AssertionError("the anatomy was rasterised again")

    monkeypatch.setattr(module, "rasterize_path_lengths", fail)
    again = fluoroscope.shot(true_ap, needles=[needle], rng=1)
    assert again.image.shape == (256, 256)


def test_needle_changes_only_its_own_pixels_and_is_black(fluoroscope, default_scene, needle):
    pose = oblique("right", 20.0, default_scene.landmark("body_center_L5"), tilt_cranial_deg=-25.0)
    without = fluoroscope.line_integrals(pose, 59.0)
    with_needle = fluoroscope.line_integrals(pose, 59.0, [needle])
    changed = with_needle != without
    tip_row, tip_col = np.round(project_points(fluoroscope.projection(pose), needle.tip_mm)[0]).astype(int)
    assert changed[tip_row - 1:tip_row + 2, tip_col - 1:tip_col + 2].any()
    assert changed.mean() < 0.05                       # a thin line, not the image
    # 22 G steel (0.718 mm, about 0.97 mm⁻¹ over soft tissue at 59 keV): a ray crossing the axis
    # at an angle θ to the shaft runs 0.718 / sin θ mm through it.
    sin_angle = np.linalg.norm(np.cross(pose.beam_direction, needle.direction))
    steel = 0.718 / sin_angle * 0.97
    assert (with_needle - without).max() == pytest.approx(steel, rel=0.15)
    shot = fluoroscope.shot(pose, needles=[needle], display=NOISELESS)
    assert shot.image[changed].min() < shot.image[~changed].mean() - 0.2    # the needle is darker than the anatomy


def test_radiopaque_is_dark_and_invert_flips_it(fluoroscope, default_scene, true_ap):
    projection = fluoroscope.projection(true_ap)
    pedicle = np.round(project_points(projection, default_scene.landmark("pedicle_L4_left"))[0]).astype(int)
    soft = (128, 20)    # beside the spine, in the field
    normal = fluoroscope.shot(true_ap, display=NOISELESS)
    inverted = fluoroscope.shot(true_ap, display=Display(noise=False, marker=False, vignetting=0.0, invert=True))
    assert normal.image[tuple(pedicle)] < normal.image[soft]
    assert inverted.image[tuple(pedicle)] > inverted.image[soft]
    np.testing.assert_allclose(inverted.image[normal.image > 0], 1.0 - normal.image[normal.image > 0], atol=1e-6)


def test_round_field_black_outside_and_collimation(fluoroscope, true_ap):
    shot = fluoroscope.shot(true_ap, display=NOISELESS)
    assert shot.image[0, 0] == 0.0 and shot.image[128, 128] > 0.0
    narrow = fluoroscope.with_geometry(CArmGeometry(pixels=256, collimation_mm=115.0, table=fluoroscope.table))
    collimated = narrow.shot(true_ap, display=NOISELESS)
    assert collimated.image[128, 20] == 0.0 and collimated.image[128, 128] > 0.0
    assert collimated.dose.dap_gy_cm2 == pytest.approx(shot.dose.dap_gy_cm2 / 4)


def test_marker_names_the_side_on_the_image_left(fluoroscope, default_scene):
    iso = default_scene.landmark("body_center_L4")
    assert fluoroscope.shot(ap(iso), rng=0).marker == "L"
    assert fluoroscope.shot(lateral("right", iso), rng=0).marker == "R"
    flipped = Fluoroscope(fluoroscope.anatomy, CArmGeometry(pixels=256, flip_horizontal=True, table=fluoroscope.table))
    shot = flipped.shot(ap(iso), rng=0)
    assert shot.marker == "R"
    assert shot.image.max() == 1.0    # burned in white


def test_noise_grows_as_the_dose_per_frame_falls(fluoroscope, true_ap):
    def noise(current_ma):
        exposure = Exposure(technique=Technique(tube_current_ma=current_ma))
        a = fluoroscope.shot(true_ap, exposure=exposure, display=Display(window=(4.0, 7.0), marker=False), rng=1)
        b = fluoroscope.shot(true_ap, exposure=exposure, display=Display(window=(4.0, 7.0), marker=False), rng=2)
        centre = slice(100, 156)
        return float(np.std(a.image[centre, centre] - b.image[centre, centre]) / np.sqrt(2.0))

    high, low = noise(20.0), noise(2.0)
    record("quantum noise", "grey-level sd at 2 mA / 20 mA", low / high, "≈ √10 = 3.2", 2.5 < low / high < 3.8)
    assert 2.5 < low / high < 3.8


def test_shot_reports_dose_spacing_and_energy(fluoroscope, true_ap):
    shot = fluoroscope.shot(true_ap, exposure=Exposure(technique=Technique(kvp=70.0)), rng=0)
    assert shot.energy_kev == pytest.approx(49.67, abs=0.01)
    assert shot.pixel_spacing_mm == pytest.approx(230.0 / 256)
    assert shot.pixel_spacing_at_isocenter_mm == pytest.approx(230.0 / 256 / (1020.0 / 530.0))
    assert shot.dose.dap_gy_cm2 > 0 and shot.to_uint8().dtype == np.uint8
    # Behind the patient: tens to hundreds of quanta per pixel (reference sheet: 100-400).
    behind = shot.quanta_per_pixel * np.exp(-np.median(shot.line_integrals[96:160, 96:160]))
    assert 20.0 < behind < 1000.0


def test_impossible_poses_and_bad_input_are_refused(fluoroscope):
    with pytest.raises(CollisionError):
        fluoroscope.shot(CArmPose(tilt_cranial_deg=-75.0))
    with pytest.raises(ParameterError, match="pose"):
        fluoroscope.shot("AP")
    with pytest.raises(ParameterError, match="anatomy"):
        Fluoroscope(np.zeros((4, 4, 4)))
    with pytest.raises(ParameterError, match="window"):
        Display(window=(5.0, 4.0))


def test_automatic_brightness_holds_the_detector_dose_and_costs_more_in_lateral(fluoroscope, default_scene, true_ap):
    from simulator.fluoro.fluoroscope import ABC_TARGET_NGY
    from simulator.fluoro.image import AUTO_WINDOW_RADIUS, PHOTONS_PER_MM2_PER_NGY, field_mask

    inside, radius = field_mask(256, 1.0, True)
    central = inside & (radius <= AUTO_WINDOW_RADIUS)
    shots = {name: fluoroscope.shot(pose, rng=0, automatic_brightness=True)
             for name, pose in (("ap", true_ap), ("lateral", lateral("right", default_scene.landmark("body_center_L4"))))}
    for shot in shots.values():
        quanta = shot.quanta_per_pixel * np.mean(np.exp(-shot.line_integrals[central].astype(float)))
        detector_ngy = quanta / (PHOTONS_PER_MM2_PER_NGY * shot.pixel_spacing_mm**2)
        assert detector_ngy == pytest.approx(ABC_TARGET_NGY, rel=1e-3)
        assert not shot.abc_limited
    ap, side = (shots[n].exposure.technique for n in ("ap", "lateral"))
    assert ap.kvp == 90.0 and ap.tube_current_ma < 40.0
    # The lateral crosses about 300 mm of tissue: the current reaches its limit and the voltage rises.
    assert side.tube_current_ma <= 40.0 and side.kvp > 90.0
    dose_ratio = shots["lateral"].dose.dap_gy_cm2 / shots["ap"].dose.dap_gy_cm2
    record("automatic brightness", f"lateral {side.kvp:g} kV / AP {ap.kvp:g} kV dose-area product", dose_ratio,
           "> 1.5 (thicker)", dose_ratio > 1.5)
    assert dose_ratio > 1.5
    starved = fluoroscope.shot(true_ap, rng=0, automatic_brightness=True, target_detector_ngy=5000.0)
    assert starved.abc_limited and starved.exposure.technique.tube_current_ma == 40.0
    assert starved.exposure.technique.kvp == 120.0


def test_shots_change_none_of_their_inputs(fluoroscope, default_scene, needle):
    # Like pyvista's side-effect test: fingerprint every input before and after.
    def fingerprint():
        a = fluoroscope.anatomy
        return [array.tobytes() for array in (a.vertices, a.faces, a.face_channel, needle.tip_mm, needle.entry_mm,
                                              needle.direction, default_scene.structure("L4").mesh.vertices)]

    before = fingerprint()
    pose = oblique("left", 15.0, default_scene.landmark("body_center_L3"))
    shot = fluoroscope.shot(pose, needles=[needle], exposure=Exposure("pulsed", 0.5), rng=np.random.default_rng(4),
                            automatic_brightness=True)
    assert fingerprint() == before
    assert pose == oblique("left", 15.0, default_scene.landmark("body_center_L3"))
    # What the fluoroscope hands out is the caller's own: writing to it changes no later answer.
    lengths, integrals = fluoroscope.anatomy_path_lengths(pose), fluoroscope.anatomy_line_integrals(pose, shot.energy_kev)
    kept_lengths, kept_integrals = lengths.copy(), integrals.copy()
    lengths += 1.0
    integrals += 1.0
    shot.line_integrals[...] = 0.0
    np.testing.assert_array_equal(fluoroscope.anatomy_path_lengths(pose), kept_lengths)
    np.testing.assert_array_equal(fluoroscope.anatomy_line_integrals(pose, shot.energy_kev), kept_integrals)


def test_same_seed_same_frame(fluoroscope, true_ap):
    first = fluoroscope.shot(true_ap, rng=11)
    again = fluoroscope.shot(true_ap, rng=11)
    other = fluoroscope.shot(true_ap, rng=12)
    np.testing.assert_array_equal(first.image, again.image)
    assert np.abs(first.image - other.image).max() > 0.01


def test_an_attenuation_volume_drives_the_same_fluoroscope(default_scene, fluoroscope, true_ap):
    # The scene rasterised at 4 mm stands in for a CT: same geometry, same image chain.
    from simulator.fluoro.volume import volume_from_label_volume

    volume = volume_from_label_volume(default_scene.rasterize(4.0), 59.0)
    from_volume = Fluoroscope(volume, CArmGeometry(pixels=64, table=fluoroscope.table))
    coarse = Fluoroscope(fluoroscope.anatomy, CArmGeometry(pixels=64, table=fluoroscope.table))
    a = from_volume.line_integrals(true_ap, 59.0)
    b = coarse.line_integrals(true_ap, 59.0)
    inside = b > 1.0
    relative = np.abs(a - b)[inside] / b[inside]
    record("4 mm voxel scene vs meshes", "median relative difference of line integrals", float(np.median(relative) * 100),
           "< 3 %", np.median(relative) < 0.03)
    assert np.median(relative) < 0.03
    shot = from_volume.shot(true_ap, rng=0)
    assert shot.image.shape == (64, 64) and shot.image.max() > 0.5


def test_automatic_brightness_keeps_the_quanta_per_pixel_in_a_magnified_field(fluoroscope, true_ap):
    def behind(shot):
        return shot.quanta_per_pixel * float(np.exp(-np.median(shot.line_integrals[112:144, 112:144])))

    full = fluoroscope.shot(true_ap, rng=0, automatic_brightness=True)
    magnified = fluoroscope.with_geometry(CArmGeometry(pixels=256, detector_size_mm=150.0, table=fluoroscope.table))
    small = magnified.shot(true_ap, rng=0, automatic_brightness=True)
    assert behind(small) == pytest.approx(behind(full), rel=0.25)
    # The dose rate rises by about the area ratio (the field's area falls by as much: DAP about the same).
    ratio = small.dose.air_kerma_mgy / full.dose.air_kerma_mgy
    assert ratio == pytest.approx((230.0 / 150.0) ** 2, rel=0.25)


def test_last_image_hold_averages_frames_of_a_run(fluoroscope, true_ap):
    def noise(exposure, frames):
        display = Display(window=(4.0, 7.0), marker=False, frame_averaging=frames)
        a, b = (fluoroscope.shot(true_ap, exposure=exposure, display=display, rng=seed).image for seed in (1, 2))
        return float(np.std(a[100:156, 100:156] - b[100:156, 100:156]))

    run = Exposure("pulsed", 1.0)                 # 8 frames
    assert noise(run, 4) == pytest.approx(noise(run, 1) / 2.0, rel=0.15)
    assert noise(Exposure("single"), 4) == pytest.approx(noise(Exposure("single"), 1), rel=1e-6)  # one frame only
    with pytest.raises(ParameterError, match="frame_averaging"):
        Display(frame_averaging=0)


def test_runs_under_automatic_brightness_stay_within_the_air_kerma_rate_limit(fluoroscope, default_scene):
    """A lateral is thick: brightness control would want more, but a pulsed or continuous run is
    held at the normal-mode limit of 88 mGy/min at the reference point (21 CFR 1020.32(e)); the
    image is then noisier and the shot says so."""
    from simulator.fluoro import Exposure
    from simulator.fluoro.fluoroscope import MAX_AIR_KERMA_RATE_MGY_PER_MIN

    side = lateral("right", default_scene.landmark("body_center_L5"))
    for mode in ("pulsed", "continuous"):
        shot = fluoroscope.shot(side, rng=0, automatic_brightness=True, exposure=Exposure(mode, 10.0))
        rate = shot.dose.air_kerma_mgy / 10.0 * 60.0
        record("air kerma rate of a 10 s lateral run", mode, rate, f"<= {MAX_AIR_KERMA_RATE_MGY_PER_MIN:g} mGy/min",
               rate <= MAX_AIR_KERMA_RATE_MGY_PER_MIN + 1e-6)
        assert rate <= MAX_AIR_KERMA_RATE_MGY_PER_MIN + 1e-6
        if mode == "continuous":
            assert shot.abc_limited and rate == pytest.approx(MAX_AIR_KERMA_RATE_MGY_PER_MIN)
