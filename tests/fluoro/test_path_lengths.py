"""Path lengths through meshes, needles and volumes against their exact values."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh
from scipy.ndimage import maximum_filter, minimum_filter

from simulator.errors import ParameterError
from simulator.fluoro import AttenuationVolume, CArmGeometry, ap, lateral, oblique
from simulator.fluoro.cylinders import add_cylinder_chords, cylinder_chord_mm
from simulator.fluoro.projection import Projection, pixel_rays, project_points
from simulator.fluoro.raster import rasterize_path_lengths
from simulator.fluoro.reference import box_mesh, mesh_path_lengths_exact
from simulator.mesh import TriangleMesh
from tests.helpers import record

GEOMETRY = CArmGeometry(pixels=128)
POSES = {"ap": ap(), "oblique": oblique("right", 25.0, (3.0, -4.0, 5.0), tilt_cranial_deg=-30.0),
         "lateral": lateral("left", (0.0, 10.0, 0.0))}


def _all_pixels(size: int) -> np.ndarray:
    rows, cols = np.mgrid[0:size, 0:size]
    return np.column_stack([rows.ravel(), cols.ravel()]).astype(float)


def _sphere_chords(projection, centre, radius) -> np.ndarray:
    origin, d = pixel_rays(projection, _all_pixels(projection.geometry.pixels))
    m = origin - centre
    b = d @ m
    disc = b * b - (m @ m - radius**2)
    return np.where(disc > 0, 2.0 * np.sqrt(np.maximum(disc, 0.0)), 0.0).reshape(projection.geometry.pixels, -1)


def _box_chords(projection, lower, upper) -> np.ndarray:
    origin, d = pixel_rays(projection, _all_pixels(projection.geometry.pixels))
    with np.errstate(divide="ignore", invalid="ignore"):
        t0, t1 = (np.asarray(lower) - origin) / d, (np.asarray(upper) - origin) / d
    near, far = np.minimum(t0, t1).max(axis=1), np.maximum(t0, t1).min(axis=1)
    return np.maximum(far - near, 0.0).reshape(projection.geometry.pixels, -1)


def _raster(projection, mesh: TriangleMesh) -> np.ndarray:
    return rasterize_path_lengths(projection, mesh.vertices, mesh.faces, np.zeros(mesh.n_faces, np.int32), 1)[0]


@pytest.fixture(scope="module")
def sphere() -> TriangleMesh:
    ico = trimesh.creation.icosphere(subdivisions=5, radius=25.0)
    return TriangleMesh(np.asarray(ico.vertices, np.float32) + np.float32([3.0, -4.0, 5.0]), np.asarray(ico.faces, np.int32))


@pytest.mark.parametrize("pose_name", list(POSES))
def test_sphere_path_lengths_within_one_percent(sphere, pose_name):
    projection = Projection(GEOMETRY, POSES[pose_name])
    measured = _raster(projection, sphere)
    exact = _sphere_chords(projection, np.array([3.0, -4.0, 5.0]), 25.0)
    # The mesh's flat facets lie inside the true sphere: compare where the chord is at least 10 mm.
    core = exact > 10.0
    error = np.abs(measured - exact)[core] / exact[core]
    record("sphere chord error vs exact", pose_name, float(error.max() * 100), "< 1 %", error.max() < 0.01)
    assert error.max() < 0.01
    assert np.all(measured[exact == 0.0] == 0.0), "a pixel outside the sphere's shadow got a path length"
    assert measured.min() >= -1e-3


@pytest.mark.parametrize("pose_name", list(POSES))
def test_box_path_lengths_are_exact_away_from_its_edges(pose_name):
    lower, upper = (-20.0, -15.0, -10.0), (25.0, 20.0, 30.0)
    projection = Projection(GEOMETRY, POSES[pose_name])
    measured = _raster(projection, box_mesh(lower, upper))
    exact = _box_chords(projection, lower, upper)
    # Where rays cross a side face the chord changes by up to ~10 mm per pixel, so snapping the
    # vertices to 1/256 pixel moves it by up to ~0.05 mm: relative errors are judged from 5 mm.
    core = exact > 5.0
    error = np.abs(measured - exact)[core] / exact[core]
    record("box chord error vs exact", pose_name, float(error.max() * 100), "< 1 %", error.max() < 0.01)
    assert error.max() < 0.01
    assert np.abs(measured - exact).max() < 0.1                # mm, every pixel
    assert np.median(np.abs(measured - exact)[core]) < 0.01    # mm: float32 round-off only
    assert np.all(measured[exact == 0.0] == 0.0)


def test_no_cracks_on_a_shared_edge_through_a_pixel_centre():
    # Two boxes side by side share a face whose projected edges pass exactly through pixel
    # centres in AP (x = 0 projects onto the central column of an odd-sized image).
    projection = Projection(CArmGeometry(pixels=65), ap())
    a, b = box_mesh((-20.0, -10.0, -20.0), (0.0, 10.0, 20.0)), box_mesh((0.0, -10.0, -20.0), (20.0, 10.0, 20.0))
    joined = TriangleMesh(np.vstack([a.vertices, b.vertices]), np.vstack([a.faces, b.faces + 8]).astype(np.int32))
    measured = _raster(projection, joined)
    exact = _box_chords(projection, (-20.0, -10.0, -20.0), (20.0, 10.0, 20.0))
    covered = exact[:, 32] > 5.0  # off the top and bottom faces (snapping, see above)
    assert covered.sum() > 20
    np.testing.assert_allclose(measured[:, 32][covered], exact[:, 32][covered], atol=1e-3)  # not 0 or 40 mm


def test_rasteriser_matches_exact_ray_triangle_on_a_vertebra(default_scene):
    mesh = default_scene.structure("L4").mesh
    projection = Projection(CArmGeometry(pixels=64), oblique("right", 25.0, default_scene.landmark("body_center_L4")))
    measured = _raster(projection, mesh)
    pixels = _all_pixels(64)[::3]
    exact = mesh_path_lengths_exact(projection, mesh, pixels)
    fast = measured[pixels[:, 0].astype(int), pixels[:, 1].astype(int)]
    difference = np.abs(fast - exact)
    record("L4 raster vs ray-triangle", "max |Δ| mm", float(difference.max()), "< 0.05 mm", difference.max() < 0.05)
    assert exact.max() > 30.0
    assert difference.max() < 0.05


def test_needle_chords_are_exact_and_the_tip_projects_where_the_geometry_says():
    projection = Projection(CArmGeometry(pixels=256), oblique("right", 20.0, tilt_cranial_deg=-30.0))
    tip, hub = np.array([4.0, 10.0, -6.0]), np.array([-30.0, 80.0, -50.0])
    radius = 0.359   # 22 G
    image = np.zeros((256, 256), np.float32)
    add_cylinder_chords(projection, image, hub, tip, radius, 1.0)
    # The needle's image ends at the projected tip: walk along the projected axis.
    tip_px, hub_px = project_points(projection, np.vstack([tip, hub]))
    axis = (tip_px - hub_px) / np.linalg.norm(tip_px - hub_px)
    steps = np.arange(-20.0, 6.0, 0.5)
    samples = [image[int(round(p[0])), int(round(p[1]))] for p in tip_px + steps[:, None] * axis]
    last_dark = steps[np.nonzero(np.asarray(samples) > 0.1)[0].max()]
    record("needle tip on the image", "end of shadow vs projected tip, px", float(last_dark), "within 1 px", abs(last_dark) <= 1.0)
    assert abs(last_dark) <= 1.0
    # Through the axis a ray crosses about one diameter (more where it runs along the shaft obliquely).
    middle = 0.5 * (tip + hub)
    row, col = project_points(projection, middle)[0]
    chord = cylinder_chord_mm(projection.source_mm, middle - projection.source_mm, hub, tip, radius)
    assert chord >= 2 * radius
    assert image[int(round(row)), int(round(col))] == pytest.approx(chord, rel=0.25)   # 2x2 sub-pixel average


def test_cylinder_chord_closed_forms():
    assert cylinder_chord_mm([0, -100, 0], [0, 1, 0], [0, 0, -10], [0, 0, 10], 2.0) == pytest.approx(4.0)
    assert cylinder_chord_mm([1.0, -100, 0], [0, 1, 0], [0, 0, -10], [0, 0, 10], 2.0) == pytest.approx(2 * np.sqrt(3.0))
    assert cylinder_chord_mm([0, 0, -100], [0, 0, 1], [0, 0, -10], [0, 0, 10], 2.0) == pytest.approx(20.0)  # end-on
    assert cylinder_chord_mm([3.0, -100, 0], [0, 1, 0], [0, 0, -10], [0, 0, 10], 2.0) == 0.0
    assert cylinder_chord_mm([0, -100, 11.0], [0, 1, 0], [0, 0, -10], [0, 0, 10], 2.0) == 0.0     # beyond the tip


def _voxel_box(spacing: float):
    # 1 mm⁻¹ inside the box (-20..25, -15..20, -10..30), each voxel holding the fraction of it
    # inside the box (partial volume), on a grid with a margin round the box.
    centres = np.arange(-40.0, 45.0 + 1e-9, spacing)
    fractions = []
    for low, high in ((-20.0, 25.0), (-15.0, 20.0), (-10.0, 30.0)):
        overlap = np.minimum(centres + 0.5 * spacing, high) - np.maximum(centres - 0.5 * spacing, low)
        fractions.append(np.clip(overlap / spacing, 0.0, 1.0))
    values = fractions[0][:, None, None] * fractions[1][None, :, None] * fractions[2][None, None, :]
    affine = np.diag([spacing, spacing, spacing, 1.0])
    affine[:3, 3] = -40.0
    return AttenuationVolume(values.astype(np.float32), affine)


@pytest.mark.parametrize("pose_name", list(POSES))
def test_volume_projection_of_a_box_within_one_percent(pose_name):
    projection = Projection(CArmGeometry(pixels=64), POSES[pose_name])
    measured = _voxel_box(0.5).line_integrals(projection)
    exact = _box_chords(projection, (-20.0, -15.0, -10.0), (25.0, 20.0, 30.0))
    # Voxels blur each face by half a voxel: judge the rays whose chord changes by less than
    # 1 mm from their neighbours' (not the ones grazing a side face).
    steepness = maximum_filter(exact, size=3) - minimum_filter(exact, size=3)
    core = (exact > 20.0) & (steepness < 1.0)
    error = np.abs(measured - exact)[core] / exact[core]
    record("voxel box line integral vs exact", pose_name, float(error.max() * 100), "< 1 %", error.max() < 0.01)
    assert core.sum() > 50
    assert error.max() < 0.01


def test_volume_projection_of_a_sphere_within_one_percent():
    spacing = 0.5
    axes = [np.arange(-30.0, 30.0 + 1e-9, spacing)] * 3
    x, y, z = np.meshgrid(*axes, indexing="ij")
    # Partial-volume sampling of the sphere (radius 25): the fraction of each voxel inside.
    r = np.sqrt(x**2 + y**2 + z**2)
    values = np.clip((25.0 - r) / spacing + 0.5, 0.0, 1.0).astype(np.float32)
    affine = np.diag([spacing] * 3 + [1.0])
    affine[:3, 3] = -30.0
    projection = Projection(CArmGeometry(pixels=64), oblique("left", 35.0, tilt_cranial_deg=20.0))
    measured = AttenuationVolume(values, affine).line_integrals(projection)
    exact = _sphere_chords(projection, np.zeros(3), 25.0)
    # A chord L changes by 4R/L per mm of radius: the half-voxel blur of the rim matters less
    # than 1 % where L is at least the radius.
    core = exact > 25.0
    error = np.abs(measured - exact)[core] / exact[core]
    record("voxel sphere line integral vs exact", "left oblique 35°, cranial 20°", float(error.max() * 100), "< 1 %",
           error.max() < 0.01)
    assert error.max() < 0.01


def test_a_volume_needs_its_affine_and_sane_values():
    values = np.zeros((4, 4, 4), np.float32)
    with pytest.raises(ParameterError, match="patient_from_index"):
        AttenuationVolume(values, None)
    with pytest.raises(ParameterError, match="patient_from_index"):
        AttenuationVolume(values, np.eye(3))
    with pytest.raises(ParameterError, match="patient_from_index"):
        AttenuationVolume(values, np.zeros((4, 4)))
    with pytest.raises(ParameterError, match="values_per_mm"):
        AttenuationVolume(np.zeros((4, 4)), np.eye(4))
    with pytest.raises(ParameterError, match="values_per_mm"):
        AttenuationVolume(values - 1.0, np.eye(4))
