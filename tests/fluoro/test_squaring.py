"""The true AP of L4: spinous process midway between the pedicles, superior endplate edge-on."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.fluoro import CArmGeometry, CArmPose, squared_endplate_pose, superior_endplate_normal
from simulator.fluoro.projection import Projection, project_points
from tests.helpers import record

GEOMETRY = CArmGeometry(pixels=512)


def _endplate_points(scene, level):
    """Centroids of the cranial-facing triangles of the superior endplate (its rim and surface)."""
    mesh = scene.structure(level).mesh
    normal = superior_endplate_normal(scene, level)
    centroids = mesh.vertices[mesh.faces].astype(float).mean(axis=1)
    offset = centroids - scene.landmark(f"superior_endplate_{level}")
    height = offset @ normal
    radial = np.linalg.norm(offset - height[:, None] * normal, axis=1)
    return centroids[(mesh.face_normals() @ normal > 0.95) & (np.abs(height) < 1.5) & (radial < 12.0)]


def _row_spread(pose, points):
    """Thickness (px, 5th to 95th percentile) of the projected points across their main line."""
    pixels = project_points(Projection(GEOMETRY, pose), points)
    centred = pixels - pixels.mean(axis=0)
    across = centred @ np.linalg.eigh(centred.T @ centred)[1][:, 0]
    return float(np.percentile(across, 95) - np.percentile(across, 5))


@pytest.fixture(scope="module")
def true_ap(default_scene):
    return squared_endplate_pose(default_scene, "L4")


def test_spinous_process_midway_between_the_pedicles(default_scene, true_ap):
    projection = Projection(GEOMETRY, true_ap)
    left, right, spinous = project_points(projection, [default_scene.landmark(f"pedicle_L4_{s}") for s in ("left", "right")]
                                          + [default_scene.landmark("spinous_tip_L4")])
    offset_px = spinous[1] - 0.5 * (left[1] + right[1])
    record("true AP of L4", "spinous tip off the pedicles' midpoint, px", float(offset_px), "|x| < 0.5", abs(offset_px) < 0.5)
    assert abs(offset_px) < 0.5
    assert left[1] < spinous[1] < right[1]          # PA display: the patient's left on the image's left
    assert right[1] - left[1] > 50                  # the pedicles are well apart (≈ 37 mm × 4.3 px/mm)


def _plane_points(scene, level):
    """Points of the fitted endplate plane within 15 mm of the endplate centre."""
    normal = superior_endplate_normal(scene, level)
    u = np.cross(normal, [1.0, 0.0, 0.0])
    u /= np.linalg.norm(u)
    v = np.cross(normal, u)
    a, r = np.meshgrid(np.linspace(0, 2 * np.pi, 24, endpoint=False), np.linspace(0, 15.0, 6))
    return scene.landmark(f"superior_endplate_{level}") + (r * np.cos(a)).reshape(-1, 1) * u + (r * np.sin(a)).reshape(-1, 1) * v


def test_superior_endplate_is_edge_on(default_scene, true_ap):
    plane = _plane_points(default_scene, "L4")
    squared = _row_spread(true_ap, plane)
    tilted = _row_spread(CArmPose(true_ap.oblique_left_deg, true_ap.tilt_cranial_deg + 5.0, true_ap.isocenter_mm), plane)
    record("true AP of L4", "endplate plane on the image, px", squared, "< 0.1 px (5° off: > 5 px)", squared < 0.1 < 5.0 < tilted)
    assert squared < 0.1
    assert tilted > 5.0
    # The bone's own endplate (1.5 mm concave) then shows as a band about as thick as its dish.
    surface = _endplate_points(default_scene, "L4")
    band = _row_spread(true_ap, surface)
    record("true AP of L4", "endplate surface band, px (dish 1.5 mm ≈ 6.5 px)", band, "< 8 px", band < 8.0)
    assert len(surface) > 50 and band < 8.0


def test_beam_lies_in_the_endplate_plane(default_scene, true_ap):
    normal = superior_endplate_normal(default_scene, "L4")
    # The source is in the plane; the beam is within the angle the 38 mm between the isocentre
    # (body centre) and the endplate subtend at 530 mm.
    source = GEOMETRY.source_mm(true_ap)
    assert abs((source - default_scene.landmark("superior_endplate_L4")) @ normal) < 1e-6
    assert abs(true_ap.beam_direction @ normal) < np.sin(np.radians(2.0))


def test_oblique_keeps_the_endplate_square(default_scene):
    pose = squared_endplate_pose(default_scene, "L4", oblique_side="right", oblique_deg=25.0)
    assert pose.oblique_left_deg == pytest.approx(-25.0, abs=1.5)
    # The orbit turns about the C-arm's axis, which is 1.5° off the endplate normal (the source
    # was put in the endplate plane 14 mm above the isocentre): a fraction of a pixel.
    thickness = _row_spread(pose, _plane_points(default_scene, "L4"))
    record("right oblique 25° of the true AP of L4", "endplate plane on the image, px", thickness, "< 0.5 px", thickness < 0.5)
    assert thickness < 0.5


def test_endplate_normal_follows_the_lordosis(default_scene):
    # L5 sits deeper in the lordosis than L4: its endplate faces more anteriorly-cranially.
    n4, n5 = (superior_endplate_normal(default_scene, level) for level in ("L4", "L5"))
    assert n4[2] > 0.95 and n5[2] > 0.9
    assert n5[1] < n4[1] < 0.0
