"""Curves for nerves and vessels: smooth interpolation, and fitting a curve against bone.

Nerves in the lumbar spine lie on bone (a medial branch hugs the superior articular process)
or must clear it (a root in its foramen). Both are expressed as a clearance from a bone
signed-distance function: :func:`hug` moves points onto the surface offset by the clearance,
:func:`clear` only pushes out points that are closer than the clearance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["TubeSpec", "smooth_path", "hug", "clear", "surface_point", "route", "arc_fraction", "outward_normal"]

DistanceFunction = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True, eq=False)
class TubeSpec:
    """A nerve or vessel before meshing: identity, centreline (mm) and radius at each point (mm)."""

    id: str
    kind: str
    level: str
    side: str
    points_mm: np.ndarray
    radii_mm: np.ndarray


def smooth_path(control_points: np.ndarray, spacing_mm: float = 1.0) -> np.ndarray:
    """Centripetal Catmull-Rom curve through ``control_points``, resampled every ``spacing_mm``."""
    p = np.asarray(control_points, dtype=float)
    padded = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    samples = []
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1: i + 3]
        t0 = 0.0
        t1 = t0 + np.linalg.norm(p1 - p0) ** 0.5 + 1e-9
        t2 = t1 + np.linalg.norm(p2 - p1) ** 0.5 + 1e-9
        t3 = t2 + np.linalg.norm(p3 - p2) ** 0.5 + 1e-9
        n = max(int(np.ceil(np.linalg.norm(p2 - p1) / spacing_mm * 4)), 2)
        t = np.linspace(t1, t2, n, endpoint=False)[:, None]
        a1 = (t1 - t) / (t1 - t0) * p0 + (t - t0) / (t1 - t0) * p1
        a2 = (t2 - t) / (t2 - t1) * p1 + (t - t1) / (t2 - t1) * p2
        a3 = (t3 - t) / (t3 - t2) * p2 + (t - t2) / (t3 - t2) * p3
        b1 = (t2 - t) / (t2 - t0) * a1 + (t - t0) / (t2 - t0) * a2
        b2 = (t3 - t) / (t3 - t1) * a2 + (t - t1) / (t3 - t1) * a3
        samples.append((t2 - t) / (t2 - t1) * b1 + (t - t1) / (t2 - t1) * b2)
    samples.append(p[-1:])
    dense = np.vstack(samples)
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(dense, axis=0), axis=1))])
    count = max(int(np.ceil(arc[-1] / spacing_mm)) + 1, 2)
    targets = np.linspace(0.0, arc[-1], count)
    return np.column_stack([np.interp(targets, arc, dense[:, axis]) for axis in range(3)])


def outward_normal(distance: DistanceFunction, points: np.ndarray, step: float = 0.1) -> np.ndarray:
    """Unit gradient of ``distance`` at ``points`` (central differences): away from the solid."""
    offsets = np.eye(3) * step
    grad = np.column_stack([(distance(points + o) - distance(points - o)) / (2 * step) for o in offsets])
    return grad / np.maximum(np.linalg.norm(grad, axis=1, keepdims=True), 1e-9)


def hug(points: np.ndarray, distance: DistanceFunction, clearance_mm: float, iterations: int = 6) -> np.ndarray:
    """Move ``points`` onto the level set ``distance == clearance_mm`` (along the gradient)."""
    p = np.array(points, dtype=float)
    for _ in range(iterations):
        d = distance(p)
        p = p - (d - clearance_mm)[:, None] * outward_normal(distance, p)
    return p


def clear(points: np.ndarray, distance: DistanceFunction, clearance_mm: float | np.ndarray,
          iterations: int = 8) -> np.ndarray:
    """Push out the points of ``points`` closer than ``clearance_mm`` (one value or one per point)."""
    p = np.array(points, dtype=float)
    clearance = np.broadcast_to(np.asarray(clearance_mm, dtype=float), (len(p),))
    for _ in range(iterations):
        d = distance(p)
        close = d < clearance
        if not close.any():
            break
        p[close] -= (d[close] - clearance[close] - 0.05)[:, None] * outward_normal(distance, p[close])
    return p


def arc_fraction(points: np.ndarray) -> np.ndarray:
    """Normalised arc length (0 at the first point, 1 at the last) of each point of a path."""
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    return arc / arc[-1]


def route(controls: np.ndarray, distance: DistanceFunction, radius_at: Callable[[np.ndarray], np.ndarray],
          margin_mm: float = 0.4, spacing_mm: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    """A smooth path through ``controls`` that keeps a tube of the given radius out of a solid.

    ``radius_at`` maps the normalised arc length (0..1) to the tube radius in mm. The path is
    pushed out of the solid, re-smoothed (pushing leaves kinks that would fold the tube), and
    pushed out again. Returns the points and the radius at each.
    """
    path = smooth_path(controls, spacing_mm)
    for _ in range(3):
        path = clear(path, distance, radius_at(arc_fraction(path)) + margin_mm + 0.4)
        path = smooth_path(np.vstack([path[0], path[2:-2:3], path[-1]]), spacing_mm)
    # Relax the remaining bends (a bend tighter than the tube would fold its surface), each
    # round followed by a push with a small margin that only nudges points that came too close.
    for _ in range(4):
        for _ in range(15):
            path[1:-1] += 0.5 * (0.5 * (path[:-2] + path[2:]) - path[1:-1])
        path = clear(path, distance, radius_at(arc_fraction(path)) + 0.3)
    return path, radius_at(arc_fraction(path))


def surface_point(distance: DistanceFunction, inside: np.ndarray, direction: np.ndarray, max_mm: float = 30.0) -> np.ndarray:
    """Where the ray from ``inside`` (a point in the solid) along ``direction`` leaves the surface."""
    direction = np.asarray(direction, dtype=float) / np.linalg.norm(direction)
    start = np.asarray(inside, dtype=float)
    if distance(start[None])[0] >= 0:
        raise ValueError("surface_point: the start point is not inside the solid")
    steps = np.arange(0.0, max_mm, 0.1)
    values = distance(start + steps[:, None] * direction)
    outside = np.nonzero(values >= 0)[0]
    if not len(outside):
        raise ValueError("surface_point: the ray does not leave the solid")
    # Refine within the 0.1 mm step in one call (each call of a bone's field has a fixed
    # cost, so one call of 101 points is far cheaper than a bisection), then interpolate.
    fine = np.linspace(steps[outside[0] - 1], steps[outside[0]], 101)
    values = distance(start + fine[:, None] * direction)
    first = int(np.nonzero(values >= 0)[0][0])
    lo, hi = fine[first - 1], fine[first]
    crossing = lo + (hi - lo) * (-values[first - 1]) / (values[first] - values[first - 1])
    return start + crossing * direction
