"""C-arm pose conventions: clinical angle signs, beam direction, presets, table collisions, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulator.errors import CollisionError, ParameterError
from simulator.fluoro import CArmGeometry, CArmPose, Table, ap, check_reachable, lateral, oblique, pose_from_beam
from simulator.fluoro.projection import Projection


def _rx(deg):
    a = math.radians(deg)
    return np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])


def _rz(deg):
    a = math.radians(deg)
    return np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])


def test_ap_beam_runs_from_under_the_table_to_the_back():
    geometry = CArmGeometry()
    pose = ap()
    np.testing.assert_allclose(pose.beam_direction, [0.0, 1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(geometry.source_mm(pose), [0.0, -530.0, 0.0])
    np.testing.assert_allclose(geometry.detector_center_mm(pose), [0.0, 490.0, 0.0])


@pytest.mark.parametrize("oblique_left, tilt", [(20.0, 0.0), (-20.0, 0.0), (0.0, -40.0), (-25.0, -35.0), (90.0, 10.0)])
def test_detector_direction_is_tilt_carrying_orbit(oblique_left, tilt):
    pose = CArmPose(oblique_left_deg=oblique_left, tilt_cranial_deg=tilt)
    expected = _rx(tilt) @ _rz(-oblique_left) @ np.array([0.0, 1.0, 0.0])
    np.testing.assert_allclose(pose.beam_direction, expected, atol=1e-12)


def test_clinical_names_say_where_the_detector_goes():
    # "right oblique 20°": detector towards the patient's right (-x).
    assert oblique("right", 20.0).beam_direction[0] == pytest.approx(-math.sin(math.radians(20.0)))
    assert oblique("left", 20.0).beam_direction[0] == pytest.approx(math.sin(math.radians(20.0)))
    # "caudal tilt 40°": detector towards the feet; the beam runs anterior-cranial to posterior-caudal.
    caudal = CArmPose(tilt_cranial_deg=-40.0)
    geometry = CArmGeometry()
    assert geometry.detector_center_mm(caudal)[2] < 0 < geometry.source_mm(caudal)[2]
    assert geometry.source_mm(caudal)[1] < 0 < geometry.detector_center_mm(caudal)[1]
    assert caudal.describe() == "caudal 40°"
    assert oblique("right", 20.0, tilt_cranial_deg=-35.0).describe() == "right oblique 20°, caudal 35°"
    assert lateral("left").describe() == "left lateral"
    np.testing.assert_allclose(lateral("right").beam_direction, [-1.0, 0.0, 0.0], atol=1e-12)


def test_a_needle_down_the_beam_enters_caudal_and_advances_cranially():
    # procedure.md step 7d: needle direction = -beam; with a caudal tilt it points anterior and cranial.
    needle_direction = -CArmPose(oblique_left_deg=-20.0, tilt_cranial_deg=-40.0).beam_direction
    assert needle_direction[1] < 0 and needle_direction[2] > 0 and needle_direction[0] > 0  # medial from the right


@pytest.mark.parametrize("beam", [[0.0, 1.0, 0.0], [0.3, 0.8, -0.5], [-0.6, 0.7, 0.2], [1.0, 0.0, 0.0],
                                  [0.95, -0.2, 0.1], [-0.95, -0.25, -0.1]])
def test_pose_from_beam_round_trip(beam):
    pose = pose_from_beam(beam, (1.0, 2.0, 3.0))
    np.testing.assert_allclose(pose.beam_direction, np.asarray(beam) / np.linalg.norm(beam), atol=1e-12)
    assert pose.isocenter_mm == (1.0, 2.0, 3.0)


def test_pan_moves_the_isocentre_only():
    pose = oblique("left", 15.0).panned([0.0, 0.0, -40.0])
    assert pose.isocenter_mm == (0.0, 0.0, -40.0) and pose.oblique_left_deg == 15.0


def test_magnification_and_pixel_size_from_the_reference_defaults():
    geometry = CArmGeometry()
    assert geometry.source_to_image_mm == 1020.0 and geometry.source_to_isocenter_mm == 530.0
    assert geometry.magnification == pytest.approx(1.9245, abs=1e-4)
    assert geometry.pixel_spacing_mm == pytest.approx(230.0 / 512.0)
    assert CArmGeometry(pixels=1024).pixel_spacing_mm == pytest.approx(0.2246, abs=1e-4)


def test_default_view_is_posteroanterior_with_the_head_up():
    projection = Projection(CArmGeometry(), ap())
    col_axis, row_axis = projection.camera_from_patient[0, :3], projection.camera_from_patient[1, :3]
    np.testing.assert_allclose(col_axis, [-1.0, 0.0, 0.0])   # image right = patient's right
    np.testing.assert_allclose(row_axis, [0.0, 0.0, -1.0])   # image down = towards the feet
    flipped = Projection(CArmGeometry(flip_horizontal=True, flip_vertical=True), ap())
    np.testing.assert_allclose(flipped.camera_from_patient[0, :3], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(flipped.camera_from_patient[1, :3], [0.0, 0.0, 1.0])


def test_table_collision_is_refused_with_a_clear_message():
    geometry = CArmGeometry(table=Table(top_y_mm=-127.0))
    check_reachable(geometry, CArmPose(tilt_cranial_deg=-45.0, isocenter_mm=(0.0, 2.0, -38.0)))
    check_reachable(geometry, lateral("left"))
    with pytest.raises(CollisionError) as caught:
        check_reachable(geometry, CArmPose(tilt_cranial_deg=-70.0))
    message = str(caught.value)
    assert "caudal 70°" in message and "X-ray tube housing" in message and "inside the table" in message
    # Lowering the isocentre towards the table brings the tube into it too.
    with pytest.raises(CollisionError):
        check_reachable(geometry, ap((0.0, 350.0, 0.0)))


@pytest.mark.parametrize("arguments, name", [
    ({"oblique_left_deg": 130.0}, "oblique_left_deg"),
    ({"tilt_cranial_deg": float("nan")}, "tilt_cranial_deg"),
    ({"tilt_cranial_deg": "steep"}, "tilt_cranial_deg"),
    ({"isocenter_mm": (0.0, 1.0)}, "isocenter_mm"),
])
def test_bad_pose_input_names_the_parameter(arguments, name):
    with pytest.raises(ParameterError) as caught:
        CArmPose(**arguments)
    assert caught.value.name == name


@pytest.mark.parametrize("arguments, name", [
    ({"pixels": 8}, "pixels"), ({"pixels": 512.5}, "pixels"), ({"pixels": True}, "pixels"),
    ({"source_to_image_mm": 100.0}, "source_to_image_mm"),
    ({"source_to_isocenter_mm": 1000.0}, "source_to_isocenter_mm"),
    ({"detector_size_mm": 0.0}, "detector_size_mm"), ({"collimation_mm": 300.0}, "collimation_mm"),
])
def test_bad_geometry_input_names_the_parameter(arguments, name):
    with pytest.raises(ParameterError) as caught:
        CArmGeometry(**arguments)
    assert caught.value.name == name


def test_bad_side_and_beam():
    with pytest.raises(ParameterError, match="side"):
        oblique("up", 20.0)
    with pytest.raises(ParameterError, match="beam_direction"):
        pose_from_beam([0.0, -1.0, 0.0])   # detector under the table
    with pytest.raises(ParameterError, match="beam_direction"):
        pose_from_beam([0.5, -0.8, 0.0])   # past the lateral by more than 20°
    with pytest.raises(ParameterError, match="beam_direction"):
        pose_from_beam([0.0, 0.0, 0.0])
