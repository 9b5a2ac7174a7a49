"""Field kernels against slow references: grid interpolation and tube distances."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import map_coordinates

from simulator.fields import GridField, TubeField


def test_grid_interpolation_matches_scipy_and_extends_outside():
    """Inside the box: scipy's trilinear map_coordinates; outside: plus the distance to the box."""
    rng = np.random.default_rng(1)
    values = rng.normal(size=(7, 9, 11)).astype(np.float32)
    field = GridField(values, (-3.0, 5.0, 10.0), 0.5)
    upper = np.array(field.bounds[1])
    points = rng.uniform(np.array(field.origin_mm) - 2.0, upper + 2.0, size=(5000, 3))
    index = (points - np.array(field.origin_mm)) / 0.5
    clamped = np.clip(index, 0, np.array(values.shape) - 1)
    expected = (map_coordinates(values, clamped.T, order=1, prefilter=False)
                + np.linalg.norm(index - clamped, axis=1) * 0.5)
    np.testing.assert_allclose(field.signed_distance(points), expected, atol=1e-5)
    # On the nodes themselves, the node values (corners and far faces included).
    nodes = np.array([[0, 0, 0], [6, 8, 10], [6, 0, 10], [3, 4, 5]])
    np.testing.assert_allclose(field.signed_distance(np.array(field.origin_mm) + 0.5 * nodes),
                               values[tuple(nodes.T)], atol=1e-6)


def test_tube_distance_matches_brute_force_over_all_segments():
    """The two-candidate-segment kernel against the minimum over every segment of a bent tube."""
    angle = np.linspace(0, np.pi, 60)
    points = np.column_stack([30 * np.cos(angle), 30 * np.sin(angle), 5 * angle])
    radii = np.linspace(1.0, 2.0, 60)
    tube = TubeField(points, radii)
    queries = np.random.default_rng(2).uniform(-40, 40, size=(3000, 3))
    a, b = points[:-1], points[1:]
    rel = queries[:, None, :] - a[None]
    axis = b - a
    t = np.clip(np.einsum("nsk,sk->ns", rel, axis) / np.einsum("sk,sk->s", axis, axis), 0, 1)
    distance = np.linalg.norm(rel - t[..., None] * axis[None], axis=2) - (radii[:-1] + t * np.diff(radii))
    exact = distance.min(axis=1)
    fast = tube.signed_distance(queries)
    near = exact < 10.0
    # Exact near the tube, where nerves and vessels are judged ...
    np.testing.assert_allclose(fast[near], exact[near], atol=1e-6)
    # ... and farther out an upper bound within 2 % (the nearest vertex may then sit beside
    # another segment than the closest one, e.g. near the centre of a bend).
    assert np.all(fast[~near] >= exact[~near] - 1e-9)
    assert np.all(fast[~near] <= 1.02 * exact[~near])
