"""Signed-distance primitives and operators: plain functions over point arrays.

Every function takes points as a float array of shape ``(n, 3)`` in mm and returns the signed
distance in mm, negative inside. Primitives are exact or close lower bounds of the Euclidean
distance (the ellipse and ellipsoid are first-order approximations, exact on the surface).
Smooth operators follow the polynomial smooth minimum (Quilez): within ``k`` mm of the seam they
add a fillet of radius about ``k``; elsewhere they equal the exact min/max.

Examples
--------
>>> import numpy as np
>>> float(sphere(np.array([[3.0, 0.0, 0.0]]), center=(0, 0, 0), radius=1.0)[0])
2.0
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "transform",
    "sphere",
    "ellipsoid",
    "rounded_box",
    "capsule",
    "ellipse_2d",
    "half_space",
    "to_local",
    "union",
    "intersection",
    "subtract",
    "smooth_union",
    "smooth_subtract",
    "smooth_intersection",
]


def transform(points: np.ndarray, matrix: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """``points @ matrix.T + offset`` for (n, 3) points, column by column.

    Much faster than a (n, 3) @ (3, 3) matrix product in NumPy, which is the inner loop of
    every primitive.
    """
    x, y, z = points[:, 0], points[:, 1], points[:, 2]
    out = np.empty_like(points, dtype=float)
    for row in range(3):
        m = matrix[row]
        out[:, row] = x * m[0] + y * m[1] + z * m[2] + offset[row]
    return out


def to_local(points: np.ndarray, center: np.ndarray, axes: np.ndarray) -> np.ndarray:
    """Express ``points`` in a frame with origin ``center`` and orthonormal rows ``axes`` (3x3)."""
    axes = np.asarray(axes, dtype=float)
    return transform(points, axes, -axes @ np.asarray(center, dtype=float))


def _norm(vectors: np.ndarray) -> np.ndarray:
    """Row norms of an (n, 3) array (column-wise: much faster than a reduction over axis 1)."""
    return np.sqrt(vectors[:, 0] ** 2 + vectors[:, 1] ** 2 + vectors[:, 2] ** 2)


def sphere(points: np.ndarray, center: tuple[float, float, float], radius: float) -> np.ndarray:
    """Exact signed distance to a sphere of ``radius`` mm."""
    return _norm(points - np.asarray(center, dtype=float)) - radius


def ellipsoid(points: np.ndarray, center: np.ndarray, radii: tuple[float, float, float],
              axes: np.ndarray | None = None) -> np.ndarray:
    """Signed distance (first-order approximation, exact on the surface) to an ellipsoid.

    ``radii`` are the semi-axes in mm along the rows of ``axes`` (identity by default).
    """
    local = to_local(points, center, np.eye(3) if axes is None else axes)
    radii_array = np.asarray(radii, dtype=float)
    k0 = _norm(local / radii_array)
    k1 = _norm(local / radii_array**2)
    with np.errstate(invalid="ignore", divide="ignore"):
        distance = k0 * (k0 - 1.0) / k1
    return np.where(k1 > 0, distance, -float(np.min(radii_array)))


def rounded_box(points: np.ndarray, center: np.ndarray, half_sizes: tuple[float, float, float],
                axes: np.ndarray | None = None, radius: float = 0.0) -> np.ndarray:
    """Exact signed distance to a box with edges rounded by ``radius`` mm.

    ``half_sizes`` are the full half-extents (the rounding is taken inside them), along the rows
    of ``axes`` (identity by default).
    """
    local = to_local(points, center, np.eye(3) if axes is None else axes)
    inner = np.asarray(half_sizes, dtype=float) - radius
    qx, qy, qz = (np.abs(local[:, i]) - inner[i] for i in range(3))
    outside = np.sqrt(np.maximum(qx, 0.0) ** 2 + np.maximum(qy, 0.0) ** 2 + np.maximum(qz, 0.0) ** 2)
    inside = np.minimum(np.maximum(qx, np.maximum(qy, qz)), 0.0)
    return outside + inside - radius


def capsule(points: np.ndarray, start: np.ndarray, end: np.ndarray, radius_start: float,
            radius_end: float | None = None) -> np.ndarray:
    """Signed distance to a segment swept by a sphere whose radius varies linearly (mm).

    With equal radii this is the exact capsule distance; with unequal radii it is the distance
    to the segment minus the interpolated radius, accurate while the radii change slowly.
    """
    radius_end = radius_start if radius_end is None else radius_end
    start = np.asarray(start, dtype=float)
    axis = np.asarray(end, dtype=float) - start
    length_sq = float(axis @ axis)
    offset = points - start
    t = np.clip(offset @ axis / length_sq, 0.0, 1.0) if length_sq > 0 else np.zeros(len(points))
    distance = _norm(offset - t[:, None] * axis)
    return distance - (radius_start + t * (radius_end - radius_start))


def ellipse_2d(u: np.ndarray, v: np.ndarray, a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    """Signed distance (first-order approximation) to an ellipse of semi-axes ``a``, ``b`` in mm."""
    k0 = np.hypot(u / a, v / b)
    k1 = np.hypot(u / (a * a), v / (b * b))
    with np.errstate(invalid="ignore", divide="ignore"):
        distance = k0 * (k0 - 1.0) / k1
    return np.where(k1 > 0, distance, -np.minimum(a, b))


def half_space(points: np.ndarray, point: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Exact signed distance to the half-space behind the plane through ``point`` (outward ``normal``)."""
    normal = np.asarray(normal, dtype=float)
    return (points - np.asarray(point, dtype=float)) @ (normal / np.linalg.norm(normal))


def union(*distances: np.ndarray) -> np.ndarray:
    """Exact union (minimum) of several signed distances."""
    return np.minimum.reduce(distances)


def intersection(*distances: np.ndarray) -> np.ndarray:
    """Intersection (maximum) of several signed distances."""
    return np.maximum.reduce(distances)


def subtract(base: np.ndarray, cut: np.ndarray) -> np.ndarray:
    """``base`` with ``cut`` removed."""
    return np.maximum(base, -cut)


def smooth_union(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Union with a fillet of about ``k`` mm where the two surfaces meet."""
    if k <= 0:
        return np.minimum(a, b)
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b + (a - b) * h - k * h * (1.0 - h)


def smooth_intersection(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Intersection with a rounded seam of about ``k`` mm."""
    return -smooth_union(-a, -b, k)


def smooth_subtract(base: np.ndarray, cut: np.ndarray, k: float) -> np.ndarray:
    """``base`` with ``cut`` removed, rounding the new edges by about ``k`` mm."""
    return smooth_intersection(base, -cut, k)
