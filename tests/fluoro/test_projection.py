"""Projected pixels of known points against hand-computed answers, and rays back through them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulator.errors import ParameterError
from simulator.fluoro import CArmGeometry, CArmPose, ap, lateral, oblique
from simulator.fluoro.projection import Projection, pixel_rays, point_depths_mm, project_points

GEOMETRY = CArmGeometry(pixels=512)
F = 1020.0 / (230.0 / 512.0)    # focal length in pixels
C = 255.5                       # principal point


def test_ap_points():
    projection = Projection(GEOMETRY, ap())
    points = [[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 0.0, 10.0], [-20.0, 100.0, -30.0]]
    expected = [[C, C], [C, C - 10.0 * F / 530.0], [C - 10.0 * F / 530.0, C],
                [C + 30.0 * F / 630.0, C + 20.0 * F / 630.0]]     # 100 mm closer to the detector: less magnified
    np.testing.assert_allclose(project_points(projection, points), expected, atol=1e-9)
    np.testing.assert_allclose(point_depths_mm(projection, points), [530.0, 530.0, 530.0, 630.0])


def test_left_oblique_points():
    angle = 30.0
    projection = Projection(GEOMETRY, oblique("left", angle, (5.0, 0.0, 0.0)))
    a = math.radians(angle)
    # A point 10 mm towards the detector from the isocentre stays on the central ray.
    on_axis = np.array([5.0 + 10.0 * math.sin(a), 10.0 * math.cos(a), 0.0])
    np.testing.assert_allclose(project_points(projection, on_axis), [[C, C]], atol=1e-9)
    # The column axis is R_z(-30°) @ (-1, 0, 0) = (-cos a, sin a, 0).
    sideways = np.array([5.0 - 12.0 * math.cos(a), 12.0 * math.sin(a), 0.0])
    np.testing.assert_allclose(project_points(projection, sideways), [[C, C + 12.0 * F / 530.0]], atol=1e-9)


def test_lateral_points():
    projection = Projection(GEOMETRY, lateral("left"))    # beam +x, detector on the left
    points = [[0.0, 10.0, 0.0], [0.0, 0.0, -10.0], [50.0, 0.0, 0.0]]
    expected = [[C, C + 10.0 * F / 530.0],                 # posterior goes right
                [C + 10.0 * F / 530.0, C], [C, C]]         # caudal goes down; along the beam stays central
    np.testing.assert_allclose(project_points(projection, points), expected, atol=1e-9)


def test_tilted_points():
    projection = Projection(GEOMETRY, CArmPose(tilt_cranial_deg=-40.0))
    a = math.radians(-40.0)
    row_axis = np.array([0.0, math.sin(a), -math.cos(a)])    # R_x(t) @ (0, 0, -1)
    np.testing.assert_allclose(project_points(projection, 8.0 * row_axis), [[C + 8.0 * F / 530.0, C]], atol=1e-9)


@pytest.mark.parametrize("pose", [ap(), oblique("right", 25.0, tilt_cranial_deg=-30.0), lateral("right", (0, 5, -40))])
def test_rays_pass_through_the_points_they_come_from(pose):
    projection = Projection(GEOMETRY, pose)
    points = np.random.default_rng(3).uniform(-60.0, 60.0, (20, 3))
    origin, directions = pixel_rays(projection, project_points(projection, points))
    np.testing.assert_allclose(origin, GEOMETRY.source_mm(pose))
    to_points = points - origin
    along = np.einsum("ij,ij->i", to_points, directions)
    np.testing.assert_allclose(to_points, along[:, None] * directions, atol=1e-9)


def test_transforms_are_inverse():
    projection = Projection(GEOMETRY, oblique("left", 20.0, tilt_cranial_deg=15.0))
    np.testing.assert_allclose(projection.patient_from_camera @ projection.camera_from_patient, np.eye(4), atol=1e-12)
    assert projection.handedness == -1   # the PA view is the mirror of a camera looking along the beam


def test_bad_points_and_pixels():
    projection = Projection(GEOMETRY, ap())
    with pytest.raises(ParameterError, match="points_mm"):
        project_points(projection, [[0.0, -600.0, 0.0]])    # behind the source
    with pytest.raises(ParameterError, match="points_mm"):
        project_points(projection, [1.0, 2.0])
    with pytest.raises(ParameterError, match="pixels"):
        pixel_rays(projection, [[1.0, 2.0, 3.0]])
