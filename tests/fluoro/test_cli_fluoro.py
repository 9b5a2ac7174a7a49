"""``rhizosim fluoro``: a PNG of the default patient, JSON with pose, landmark pixels and dose; errors in one line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.test_cli import _assert_one_line_error, _run


@pytest.fixture(scope="module")
def oblique_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("fluoro") / "shot.png"
    result = _run("fluoro", "--view", "oblique", "--side", "right", "--angle-deg", "25", "--pixels", "128",
                  "--out", str(out), "--json")
    return result, out


def test_fluoro_writes_a_png_and_prints_json(oblique_run):
    from PIL import Image

    result, out = oblique_run
    assert result.returncode == 0, result.stderr
    image = np.asarray(Image.open(out))
    assert image.shape[:2] == (128, 128)
    assert image[0, 0].max() == 0 and image[64, 64].max() > 0      # black outside the round field
    report = json.loads(result.stdout)
    assert report["pose"]["oblique_left_deg"] == pytest.approx(-25.0, abs=1e-6)
    assert report["pose"]["name"].startswith("right oblique 25°")
    assert report["marker"] == "L"
    assert report["dose"]["session"]["shots"] == 1
    assert 0 < report["dose"]["dap_gy_cm2"] < 0.01
    pedicle = report["landmarks_px"]["pedicle_L4_right"]
    assert pedicle["in_field"] and 0 <= pedicle["row"] < 128 and 0 <= pedicle["col"] < 128


def test_fluoro_json_landmarks_are_the_projection_of_the_scene(oblique_run, default_scene):
    from simulator.fluoro import CArmGeometry, CArmPose
    from simulator.fluoro.projection import Projection, project_points

    report = json.loads(oblique_run[0].stdout)
    pose = CArmPose(report["pose"]["oblique_left_deg"], report["pose"]["tilt_cranial_deg"], report["pose"]["isocenter_mm"])
    expected = project_points(Projection(CArmGeometry(pixels=128), pose), default_scene.landmark("spinous_tip_L4"))[0]
    got = report["landmarks_px"]["spinous_tip_L4"]
    np.testing.assert_allclose([got["row"], got["col"]], expected, atol=0.01)


def test_fluoro_collision_is_one_line():
    _assert_one_line_error(_run("fluoro", "--view", "custom", "--tilt-cranial-deg", "-80", "--pixels", "64"),
                           "not reachable", "inside the table")


@pytest.mark.parametrize("arguments, needle", [
    (("--pixels", "4"), "pixels"), (("--kvp", "200"), "kvp"), (("--level", "L7"), "--level"),
    (("--mode", "pulsed"), "duration_s"), (("--view", "oblique", "--angle-deg", "75"), "oblique_deg"),
])
def test_fluoro_bad_input_is_one_line(arguments, needle):
    _assert_one_line_error(_run("fluoro", *arguments), needle)
