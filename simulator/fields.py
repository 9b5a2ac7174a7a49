"""Signed-distance fields of structures, and the sampler that makes grids from functions.

Two kinds of field share one small protocol (``signed_distance(points)`` and ``bounds``):

- :class:`GridField`: values sampled on a regular grid, read back by trilinear interpolation.
  Used for bones, discs, the dural sac, muscles and the body envelope.
- :class:`TubeField`: an analytic tube along a polyline with a radius per vertex. Used for
  nerves and vessels, which are thin and long, so a grid would be mostly empty.

All coordinates in mm in the patient frame (LPS). Distances are negative inside.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["Field", "GridField", "TubeField", "ShellField", "LayerField", "Bounds", "sample_grid", "without_islands",
           "QUANTUM_MM"]

#: Stored grid values are whole multiples of this (mm).
QUANTUM_MM = 0.01

#: Axis-aligned box ``((x_min, y_min, z_min), (x_max, y_max, z_max))`` in mm.
Bounds = tuple[tuple[float, float, float], tuple[float, float, float]]


class Field(Protocol):
    """What every structure's geometry offers."""

    @property
    def bounds(self) -> Bounds: ...

    def signed_distance(self, points: np.ndarray) -> np.ndarray: ...



@dataclass(frozen=True, eq=False)
class GridField:
    """Signed distance sampled on a regular grid.

    Parameters
    ----------
    values : numpy.ndarray, shape (nx, ny, nz), float32
        Signed distance in mm at each grid node, indexed ``[i, j, k]`` along x, y, z.
    origin_mm : tuple of float
        Position of node ``[0, 0, 0]`` in mm.
    spacing_mm : float
        Distance between nodes in mm (isotropic).


    Notes
    -----
    Inside the grid the value is the trilinear interpolation of the nodes. Outside it is the
    distance to the grid's box plus the value at the nearest box point: an upper bound of the
    true distance that is exact along the box normals, and only used far from the structure.
    """

    values: np.ndarray
    origin_mm: tuple[float, float, float]
    spacing_mm: float

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.values.shape)  # type: ignore[return-value]

    @property
    def bounds(self) -> Bounds:
        origin = np.asarray(self.origin_mm)
        upper = origin + (np.asarray(self.values.shape) - 1) * self.spacing_mm
        return tuple(map(float, origin)), tuple(map(float, upper))  # type: ignore[return-value]

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        """Signed distance in mm at ``points`` (shape (n, 3), mm)."""
        points = np.asarray(points, dtype=float)
        shape = self.values.shape
        # Trilinear interpolation written out over the flat array: about 2.5x faster than
        # scipy's map_coordinates on points spread over a large grid, as fast on local ones.
        outside_sq = np.zeros(len(points))
        cell, fraction = [], []
        for axis in range(3):
            index = (points[:, axis] - self.origin_mm[axis]) / self.spacing_mm
            clamped = np.clip(index, 0.0, shape[axis] - 1)
            outside_sq += (index - clamped) ** 2
            lower = np.minimum(clamped.astype(np.intp), shape[axis] - 2)
            cell.append(lower)
            fraction.append(clamped - lower)
        flat = self.values.ravel()
        stride_x, stride_y = shape[1] * shape[2], shape[2]
        base = cell[0] * stride_x + cell[1] * stride_y + cell[2]
        fx, fy, fz = fraction

        def along_z(offset: np.ndarray) -> np.ndarray:
            low = flat[offset]
            return low + (flat[offset + 1] - low) * fz

        def along_yz(offset: np.ndarray) -> np.ndarray:
            low = along_z(offset)
            return low + (along_z(offset + stride_y) - low) * fy

        low_x = along_yz(base)
        inside = low_x + (along_yz(base + stride_x) - low_x) * fx
        return inside + np.sqrt(outside_sq) * self.spacing_mm

    def quantized(self) -> "GridField":
        """The field as stored in files: values rounded to :data:`QUANTUM_MM`."""
        values = np.round(self.values / QUANTUM_MM) * QUANTUM_MM
        return GridField(values.astype(np.float32), self.origin_mm, self.spacing_mm)


@dataclass(frozen=True, eq=False)
class ShellField:
    """The layer of another field between two of its level sets (the skin).

    Parameters
    ----------
    base : GridField
        The enclosing field (the body envelope).
    inner_mm, outer_mm : float
        The layer holds the points where ``inner_mm <= base <= outer_mm`` (both <= 0).
    """

    base: GridField
    inner_mm: float
    outer_mm: float

    @property
    def bounds(self) -> Bounds:
        return self.base.bounds

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        """Signed distance in mm to the layer (exact where the base field is)."""
        d = self.base.signed_distance(points)
        return np.maximum(d - self.outer_mm, self.inner_mm - d)


#: Queries with more points than this use every core for the k-d tree search.
_PARALLEL_QUERY_POINTS = 20_000


@dataclass(frozen=True, eq=False)
class TubeField:
    """A tube of varying radius along a polyline (nerves, vessels).

    Parameters
    ----------
    points_mm : numpy.ndarray, shape (n, 3)
        Centreline vertices in mm, n >= 2.
    radii_mm : numpy.ndarray, shape (n,)
        Tube radius in mm at each vertex; linear in between. The ends are closed by
        hemispheres.

    Notes
    -----
    The distance is the minimum over segments of (distance to the segment minus the
    interpolated radius): exact for constant radius, and within a few hundredths of a mm for the
    slowly varying radii of nerves and vessels. Candidate segments are found with a k-d tree of
    the vertices, so a query costs about as much as one nearest-neighbour search; far from a
    bent tube (beyond about 10 mm) the nearest vertex may sit beside another segment than the
    closest one, and the result is then an upper bound within about 2 % (tests/test_fields.py).
    """

    points_mm: np.ndarray
    radii_mm: np.ndarray

    def __post_init__(self) -> None:
        points = np.asarray(self.points_mm, dtype=float)
        object.__setattr__(self, "points_mm", points)
        object.__setattr__(self, "radii_mm", np.asarray(self.radii_mm, dtype=float))
        object.__setattr__(self, "_tree", cKDTree(points))
        axis = np.diff(points, axis=0)
        object.__setattr__(self, "_segments", (points[:-1].T.copy(), axis.T.copy(),
                                               np.maximum(np.einsum("ij,ij->i", axis, axis), 1e-12),
                                               self.radii_mm[:-1], np.diff(self.radii_mm)))

    @property
    def length_mm(self) -> float:
        """Length of the centreline in mm."""
        return float(np.linalg.norm(np.diff(self.points_mm, axis=0), axis=1).sum())

    @property
    def bounds(self) -> Bounds:
        r = float(self.radii_mm.max())
        lower = self.points_mm.min(axis=0) - r
        upper = self.points_mm.max(axis=0) + r
        return tuple(map(float, lower)), tuple(map(float, upper))  # type: ignore[return-value]

    def closest_centerline_points(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Closest centreline point, its arc-length position (mm) and the signed distance (mm)."""
        distance, segment, t = self._closest_segments(np.asarray(points, dtype=float))
        axis = np.diff(self.points_mm, axis=0)
        foot = self.points_mm[segment] + t[:, None] * axis[segment]
        lengths = np.linalg.norm(axis, axis=1)
        arc = np.concatenate([[0.0], np.cumsum(lengths)])[segment] + t * lengths[segment]
        return foot, arc, distance

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        """Signed distance in mm at ``points`` (shape (n, 3), mm)."""
        return self._closest_segments(np.asarray(points, dtype=float))[0]

    def _closest_segments(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Signed distance, closest segment and position along it (0..1) for each point."""
        start, direction, length_sq, r_start, r_change = self._segments
        # The closest segment touches the nearest vertex (centrelines are smooth and densely
        # sampled, with bends wider than the tube): check the two segments that meet there.
        # Threads pay off only for large queries; for a few points starting them costs ~0.1 ms.
        workers = -1 if len(points) > _PARALLEL_QUERY_POINTS else 1
        _, nearest = self._tree.query(points, workers=workers)  # type: ignore[attr-defined]
        x, y, z = points[:, 0], points[:, 1], points[:, 2]
        best_distance = best_segment = best_t = None
        for segment in (np.maximum(nearest - 1, 0), np.minimum(nearest, len(length_sq) - 1)):
            # Column by column: gathering 1-D arrays is much faster than rows of (n, 3) ones.
            rx, ry, rz = x - start[0][segment], y - start[1][segment], z - start[2][segment]
            ux, uy, uz = direction[0][segment], direction[1][segment], direction[2][segment]
            t = np.clip((rx * ux + ry * uy + rz * uz) / length_sq[segment], 0.0, 1.0)
            rx -= t * ux
            ry -= t * uy
            rz -= t * uz
            distance = np.sqrt(rx * rx + ry * ry + rz * rz) - (r_start[segment] + t * r_change[segment])
            if best_distance is None:
                best_distance, best_segment, best_t = distance, segment, t
            else:
                better = distance < best_distance
                best_distance = np.where(better, distance, best_distance)
                best_segment = np.where(better, segment, best_segment)
                best_t = np.where(better, t, best_t)
        return best_distance, best_segment, best_t


@dataclass(frozen=True, eq=False)
class LayerField:
    """The layer between two nested surfaces: inside ``outer`` below ``outer_level_mm`` and
    outside ``inner`` (the subcutaneous fat, between the skin and the muscles).
    """

    outer: GridField
    outer_level_mm: float
    inner: GridField

    @property
    def bounds(self) -> Bounds:
        return self.outer.bounds

    def signed_distance(self, points: np.ndarray) -> np.ndarray:
        """Signed distance in mm to the layer (exact where the two fields are)."""
        return np.maximum(self.outer.signed_distance(points) - self.outer_level_mm, -self.inner.signed_distance(points))


def sample_grid(function: Callable[[np.ndarray], np.ndarray], bounds: Bounds, spacing_mm: float, *,
                band_mm: float = 2.0, block: int = 4) -> GridField:
    """Sample a signed-distance function on a grid, exactly only near its surface.

    The function is evaluated on a coarse grid of block corners first; blocks whose corners
    prove (by the 1-Lipschitz property of distances) that the surface is farther than
    ``band_mm`` are filled by trilinear interpolation of their corners, the others are
    evaluated node by node. This keeps generation fast while the surface and its
    neighbourhood are exact.

    Parameters
    ----------
    function : callable
        Maps points of shape (n, 3) in mm to signed distances in mm.
    bounds : Bounds
        Box to sample, in mm; it is enlarged to a whole number of blocks.
    spacing_mm : float
        Grid spacing in mm.
    band_mm : float, default: 2.0
        Half-width of the band around the surface that is evaluated exactly.
    block : int, default: 4
        Block size in nodes.
    """
    lower = np.asarray(bounds[0], dtype=float)
    upper = np.asarray(bounds[1], dtype=float)
    blocks = np.maximum(np.ceil((upper - lower) / (spacing_mm * block)).astype(int), 1)
    shape = blocks * block + 1
    coarse_axes = [lower[a] + np.arange(blocks[a] + 1) * spacing_mm * block for a in range(3)]
    coarse_points = np.stack(np.meshgrid(*coarse_axes, indexing="ij"), axis=-1).reshape(-1, 3)
    coarse = function(coarse_points).reshape(*(blocks + 1))

    # Trilinear upsampling of the coarse grid gives every node a first value.
    fine_axes = [np.arange(shape[a]) / block for a in range(3)]
    values = coarse
    for axis in range(3):
        position = fine_axes[axis]
        base = np.minimum(np.floor(position).astype(int), blocks[axis] - 1)
        frac = (position - base).reshape([-1 if a == axis else 1 for a in range(3)])
        values = np.take(values, base, axis=axis) * (1 - frac) + np.take(values, base + 1, axis=axis) * frac
    values = values.astype(np.float32)

    corner_min = np.abs(coarse)
    for axis in range(3):
        sl_lo = [slice(None)] * 3
        sl_hi = [slice(None)] * 3
        sl_lo[axis] = slice(0, -1)
        sl_hi[axis] = slice(1, None)
        corner_min = np.minimum(corner_min[tuple(sl_lo)], corner_min[tuple(sl_hi)])
    # Every point of a block lies within half its diagonal of one of the corners, so a block
    # whose corners are all farther than that plus the band keeps away from the surface.
    half_diagonal = 0.5 * np.sqrt(3.0) * spacing_mm * block
    active = corner_min <= half_diagonal + band_mm
    if active.any():
        mask = np.zeros(tuple(shape), dtype=bool)
        expanded = active.repeat(block, 0).repeat(block, 1).repeat(block, 2)
        mask[:-1, :-1, :-1] = expanded
        # Each block also owns its far faces, shared with the next block.
        for axis in range(3):
            shifted = np.roll(mask, 1, axis=axis)
            index = [slice(None)] * 3
            index[axis] = 0
            shifted[tuple(index)] = False
            mask |= shifted
        nodes = np.argwhere(mask)
        values[mask] = function(lower + nodes * spacing_mm)
    return GridField(values=values, origin_mm=tuple(map(float, lower)), spacing_mm=float(spacing_mm))


def without_islands(values: np.ndarray, spacing_mm: float) -> np.ndarray:
    """Signed-distance grid values with only the largest solid region kept.

    Crumbs (loose fragments left by cutting, sign flips at a hole's rim) are set just outside,
    half a grid step. Returns ``values`` itself when there is one region.
    """
    from scipy import ndimage

    labels, count = ndimage.label(values < 0)
    if count <= 1:
        return values
    sizes = ndimage.sum_labels(np.ones_like(labels), labels, index=np.arange(1, count + 1))
    crumbs = (labels > 0) & (labels != 1 + int(np.argmax(sizes)))
    values = values.copy()
    values[crumbs] = 0.5 * spacing_mm
    return values
