"""Path lengths through closed meshes by rasterisation (the "L-buffer"), compiled with numba.

For a closed, outward-oriented mesh and one ray, the length inside the mesh is the sum over
every crossing, in any order, of ``facing × depth``: exits (+) minus entries (-)
(gVirtualXRay, DeepDRR's ``density.frag``, CAD-ASTRA; ``shared/reference/fluoroscopy.md`` §4).
Each triangle is projected to the detector and every pixel centre it covers adds
``facing × (w - w_ref)`` to its channel, ``w`` being the depth along the beam at the triangle
(perspective-correct: ``1/w`` is interpolated linearly on the image). A channel's path length
is then the sum times the pixel's ``|ray| / SID``; ``w_ref`` (the isocentre depth) keeps float32
round-off near 1e-4 mm.

No cracks and no double counts: vertices are snapped to 1/256 pixel and the coverage test
uses exact integer edge functions with a tie rule (a pixel centre on an edge belongs to the
triangle on one side only), so a ray through a shared edge or vertex counts that surface once.

Numba is needed here: ``benchmarks/bench_fluoro.py`` times the same kernel uncompiled, see
``docs/benchmarks.md``.
"""

from __future__ import annotations

import numba
import numpy as np

from simulator.fluoro.projection import Projection

__all__ = ["rasterize_path_lengths", "project_vertices", "SUBPIXEL_BITS"]

#: Vertex positions are snapped to 2**-SUBPIXEL_BITS pixel.
SUBPIXEL_BITS = 8
_SUBPIXEL = 1 << SUBPIXEL_BITS


@numba.njit(cache=True, parallel=True)
def _project_vertices(vertices, rotation, translation, focal_px, center_px, cols_fx, rows_fx, inv_w):  # pragma: no cover
    for i in numba.prange(vertices.shape[0]):
        x, y, z = vertices[i, 0], vertices[i, 1], vertices[i, 2]
        u = rotation[0, 0] * x + rotation[0, 1] * y + rotation[0, 2] * z + translation[0]
        v = rotation[1, 0] * x + rotation[1, 1] * y + rotation[1, 2] * z + translation[1]
        w = rotation[2, 0] * x + rotation[2, 1] * y + rotation[2, 2] * z + translation[2]
        if w < 1.0:
            w = 1.0  # behind the source: flagged by the caller, never rasterised
        inv_w[i] = 1.0 / w
        cols_fx[i] = np.int64(np.round((center_px + focal_px * u / w) * 256.0))
        rows_fx[i] = np.int64(np.round((center_px + focal_px * v / w) * 256.0))


def project_vertices(projection: Projection, vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fixed-point pixel coordinates (col, row in 1/256 px, int64) and ``1/w`` (1/mm) of vertices."""
    vertices = np.ascontiguousarray(vertices, dtype=np.float64)
    n = len(vertices)
    cols, rows, inv_w = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.float64)
    m = projection.camera_from_patient
    _project_vertices(vertices, np.ascontiguousarray(m[:3, :3]), np.ascontiguousarray(m[:3, 3]),
                      projection.focal_length_px, projection.center_px, cols, rows, inv_w)
    return cols, rows, inv_w


@numba.njit(cache=True, parallel=True)
def _rasterize(cols_fx, rows_fx, inv_w, faces, face_channel, facing_sign, w_ref, n_bands, out):  # pragma: no cover
    size_r, size_c = out.shape[1], out.shape[2]
    for band in numba.prange(n_bands):
        band_lo = band * size_r // n_bands
        band_hi = (band + 1) * size_r // n_bands - 1
        for t in range(faces.shape[0]):
            i0, i1, i2 = faces[t, 0], faces[t, 1], faces[t, 2]
            y0, y1, y2 = rows_fx[i0], rows_fx[i1], rows_fx[i2]
            r_min = (min(y0, min(y1, y2)) + 255) >> 8
            r_max = max(y0, max(y1, y2)) >> 8
            if r_min < band_lo:
                r_min = band_lo
            if r_max > band_hi:
                r_max = band_hi
            if r_min > r_max:
                continue
            x0, x1, x2 = cols_fx[i0], cols_fx[i1], cols_fx[i2]
            c_min = (min(x0, min(x1, x2)) + 255) >> 8
            c_max = max(x0, max(x1, x2)) >> 8
            if c_min < 0:
                c_min = 0
            if c_max > size_c - 1:
                c_max = size_c - 1
            if c_min > c_max:
                continue
            area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
            if area == 0:
                continue
            q0, q1, q2 = inv_w[i0], inv_w[i1], inv_w[i2]
            sign = facing_sign
            if area < 0:  # make the winding positive; the facing flips with it
                x1, x2 = x2, x1
                y1, y2 = y2, y1
                q1, q2 = q2, q1
                area = -area
                sign = -sign
            channel = face_channel[t]
            # Edge k is opposite vertex k: E_k(p) >= 0 inside, E_k / area is the barycentric weight.
            a0, b0 = y2 - y1, x2 - x1
            a1, b1 = y0 - y2, x0 - x2
            a2, b2 = y1 - y0, x1 - x0
            # Tie rule: a centre exactly on an edge counts for the edge running down (dy > 0) or,
            # if horizontal, running left; the neighbour across it runs the other way and skips it.
            bias0 = 0 if (a0 > 0 or (a0 == 0 and b0 < 0)) else 1
            bias1 = 0 if (a1 > 0 or (a1 == 0 and b1 < 0)) else 1
            bias2 = 0 if (a2 > 0 or (a2 == 0 and b2 < 0)) else 1
            inv_area = 1.0 / area
            for r in range(r_min, r_max + 1):
                py = r * 256
                e0 = b0 * (py - y1) - a0 * (c_min * 256 - x1)
                e1 = b1 * (py - y2) - a1 * (c_min * 256 - x2)
                e2 = b2 * (py - y0) - a2 * (c_min * 256 - x0)
                for c in range(c_min, c_max + 1):
                    if e0 - bias0 >= 0 and e1 - bias1 >= 0 and e2 - bias2 >= 0:
                        q = (e0 * q0 + e1 * q1 + e2 * q2) * inv_area
                        out[channel, r, c] += sign * (1.0 / q - w_ref)
                    e0 -= a0 * 256
                    e1 -= a1 * 256
                    e2 -= a2 * 256


def rasterize_path_lengths(projection: Projection, vertices: np.ndarray, faces: np.ndarray, face_channel: np.ndarray,
                           n_channels: int, *, out: np.ndarray | None = None) -> np.ndarray:
    """Path length (mm) of every pixel's ray inside each channel's closed meshes.

    Parameters
    ----------
    projection : Projection
        Geometry and pose.
    vertices : numpy.ndarray, shape (n, 3)
        Vertex positions, mm, patient frame; all in front of the focal spot.
    faces : numpy.ndarray, shape (m, 3), int32
        Triangles, counter-clockwise seen from outside (closed, outward-oriented meshes).
    face_channel : numpy.ndarray, shape (m,), int32
        Channel index (0 to ``n_channels - 1``) of each triangle.
    n_channels : int
        Number of channels.
    out : numpy.ndarray, shape (n_channels, pixels, pixels), float32, optional
        Buffer to reuse; it is overwritten.

    Returns
    -------
    numpy.ndarray, shape (n_channels, pixels, pixels), float32
        Path length in mm; overlapping meshes of one channel add up.
    """
    size = projection.geometry.pixels
    if out is None:
        out = np.zeros((n_channels, size, size), np.float32)
    else:
        out[...] = 0.0
    if len(faces) == 0:
        return out
    cols, rows, inv_w = project_vertices(projection, vertices)
    if np.any(inv_w >= 1.0):
        from simulator.errors import ParameterError

        raise ParameterError("vertices", "a mesh reaching behind the X-ray source", "meshes in front of the focal spot")
    w_ref = projection.geometry.source_to_isocenter_mm
    # Outward normals that face the source (entries) must count negatively: on the image (col
    # right, row down) they wind with the sign of the camera frame's handedness.
    facing = projection.handedness
    _rasterize(cols, rows, inv_w, np.ascontiguousarray(faces, dtype=np.int32),
               np.ascontiguousarray(face_channel, dtype=np.int32), float(facing), float(w_ref),
               max(numba.get_num_threads(), 1), out)
    out *= projection.ray_length_factor[None]
    return out
