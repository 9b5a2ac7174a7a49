"""Slow, exact references for the fast projector (tests and validation only).

- :func:`mesh_path_lengths_exact`: each ray against every triangle (Möller–Trumbore), summing
  ``±t`` over the crossings, in float64: what the rasteriser approximates with sub-pixel
  snapping and float32. A ray through a shared edge or vertex counts each triangle there (a
  measure-zero case: pick rays off the triangles' edges).
- :func:`scene_line_integrals_marched`: ``Σ μ·step`` along rays from the scene's own answer to
  "which tissue is here" (:meth:`simulator.scene.Scene.tissue_at`: structure priorities, cortical
  shells from the fields), i.e. independent of the meshes and of differential attenuation.

Examples
--------
>>> from simulator.fluoro.carm import CArmGeometry, ap
>>> from simulator.fluoro.projection import Projection
>>> from simulator.mesh import TriangleMesh
>>> box = box_mesh((-10.0, -10.0, -10.0), (10.0, 10.0, 10.0))
>>> projection = Projection(CArmGeometry(pixels=32), ap())
>>> round(float(mesh_path_lengths_exact(projection, box, [[15.5, 14.5]])[0]), 3)
20.0
"""

from __future__ import annotations

import numpy as np

from simulator.fluoro.projection import Projection, pixel_rays
from simulator.mesh import TriangleMesh

__all__ = ["mesh_path_lengths_exact", "scene_line_integrals_marched", "box_mesh"]


def box_mesh(lower_mm: tuple[float, float, float], upper_mm: tuple[float, float, float]) -> TriangleMesh:
    """Closed, outward-oriented mesh of an axis-aligned box (12 triangles)."""
    lo, hi = np.asarray(lower_mm, float), np.asarray(upper_mm, float)
    corners = np.array([[hi[i] if (k >> i) & 1 else lo[i] for i in range(3)] for k in range(8)])
    quads = [(0, 2, 3, 1), (4, 5, 7, 6), (0, 1, 5, 4), (2, 6, 7, 3), (0, 4, 6, 2), (1, 3, 7, 5)]
    faces = np.array([f for a, b, c, d in quads for f in ((a, b, c), (a, c, d))], dtype=np.int32)
    mesh = TriangleMesh(corners.astype(np.float32), faces)
    return mesh if mesh.volume_mm3() > 0 else TriangleMesh(mesh.vertices, faces[:, ::-1].copy())


def mesh_path_lengths_exact(projection: Projection, mesh: TriangleMesh, pixels: object) -> np.ndarray:
    """Path length (mm) inside a closed mesh of the rays through ``pixels`` ((row, col), shape (n, 2))."""
    origin, directions = pixel_rays(projection, pixels)
    v = mesh.vertices.astype(np.float64)
    a, b, c = v[mesh.faces[:, 0]], v[mesh.faces[:, 1]], v[mesh.faces[:, 2]]
    e1, e2 = b - a, c - a
    facing = np.cross(e1, e2)
    lengths = np.zeros(len(directions))
    s = origin - a
    q = np.cross(s, e1)
    for i, d in enumerate(directions):
        p = np.cross(d, e2)
        det = np.einsum("ij,ij->i", e1, p)
        ok = np.abs(det) > 1e-12
        inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
        u = np.einsum("ij,ij->i", s, p) * inv
        w = (q @ d) * inv
        t = np.einsum("ij,ij->i", e2, q) * inv
        hit = ok & (u >= 0) & (w >= 0) & (u + w <= 1) & (t > 0)
        lengths[i] = float(np.sum(np.sign(facing[hit] @ d) * t[hit]))
    return lengths


def scene_line_integrals_marched(scene, projection: Projection, pixels: object, energy_kev: float,
                                 step_mm: float = 0.1) -> np.ndarray:
    """``Σ μ·L`` along the rays through ``pixels`` from the focal spot to the detector, sampling
    :meth:`~simulator.scene.Scene.tissue_at` every ``step_mm`` (midpoint rule)."""
    from simulator.tissues import attenuation_per_mm

    origin, directions = pixel_rays(projection, pixels)
    mu = {t: attenuation_per_mm(t, energy_kev) for t in ("air", "soft_tissue", "muscle", "fat", "skin", "cortical_bone",
                                                          "cancellous_bone", "disc", "blood", "csf", "nerve", "ligament")}
    lower, upper = (np.asarray(b, float) for b in scene.bounds())
    result = np.zeros(len(directions))
    sid = projection.geometry.source_to_image_mm
    for i, d in enumerate(directions):
        ray_length = sid / float(d @ projection.pose.beam_direction)
        # Only the stretch inside the scene's box needs sampling; the rest is air.
        with np.errstate(divide="ignore"):
            t0, t1 = (lower - origin) / d, (upper - origin) / d
        enter, leave = float(np.max(np.minimum(t0, t1))), float(np.min(np.maximum(t0, t1)))
        enter, leave = max(enter, 0.0), min(leave, ray_length)
        total = mu["air"] * ray_length
        if leave > enter:
            count = int(np.ceil((leave - enter) / step_mm))
            depths = enter + (np.arange(count) + 0.5) * (leave - enter) / count
            tissues = scene.tissue_at(origin + depths[:, None] * d)
            values = np.array([mu[t] for t in tissues])
            total += float((values - mu["air"]).sum()) * (leave - enter) / count
        result[i] = total
    return result
