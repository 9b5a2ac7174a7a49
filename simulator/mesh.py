"""Triangle meshes: a small value type, binary PLY files, and mesh construction.

:class:`TriangleMesh` holds vertices (mm, patient frame) and triangles; it converts to
:class:`pyvista.PolyData` and :class:`trimesh.Trimesh` on demand. Files are binary
little-endian PLY, readable by any mesh tool; the reader checks the header strictly and names
the file in every error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simulator.errors import AssetError
from simulator.fields import GridField

__all__ = ["TriangleMesh", "read_ply", "write_ply", "surface_from_grid", "shell_mesh", "tube_mesh", "edge_manifold_report"]


@dataclass(frozen=True, eq=False)
class TriangleMesh:
    """A closed triangle mesh.

    Parameters
    ----------
    vertices : numpy.ndarray, shape (n, 3), float32
        Vertex positions in mm.
    faces : numpy.ndarray, shape (m, 3), int32
        Vertex indices of each triangle, counter-clockwise seen from outside.
    """

    vertices: np.ndarray
    faces: np.ndarray

    @property
    def n_faces(self) -> int:
        return int(len(self.faces))

    def volume_mm3(self) -> float:
        """Signed enclosed volume in mm³ (positive when normals point outwards)."""
        v = self.vertices.astype(float)
        a, b, c = v[self.faces[:, 0]], v[self.faces[:, 1]], v[self.faces[:, 2]]
        return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)

    def _face_cross_products(self) -> np.ndarray:
        v = self.vertices.astype(float)
        return np.cross(v[self.faces[:, 1]] - v[self.faces[:, 0]], v[self.faces[:, 2]] - v[self.faces[:, 0]])

    def face_normals(self) -> np.ndarray:
        """Unit normal of each face, shape (m, 3)."""
        n = self._face_cross_products()
        return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)

    def face_areas_mm2(self) -> np.ndarray:
        """Area of each face in mm², shape (m,)."""
        return 0.5 * np.linalg.norm(self._face_cross_products(), axis=1)

    def to_pyvista(self):  # -> pyvista.PolyData, imported lazily (rendering stack)
        import pyvista as pv

        cells = np.hstack([np.full((self.n_faces, 1), 3, dtype=np.int64), self.faces.astype(np.int64)])
        return pv.PolyData(self.vertices.astype(float), cells.ravel())

    def to_trimesh(self):  # -> trimesh.Trimesh
        import trimesh

        return trimesh.Trimesh(self.vertices.astype(float), self.faces, process=False)


def edge_manifold_report(mesh: TriangleMesh) -> tuple[bool, bool]:
    """Return ``(watertight, consistently_oriented)``.

    Watertight: every edge is shared by exactly two triangles. Consistently oriented: each
    shared edge is traversed once in each direction.
    """
    f = mesh.faces.astype(np.int64)
    start = np.concatenate([f[:, 0], f[:, 1], f[:, 2]])
    end = np.concatenate([f[:, 1], f[:, 2], f[:, 0]])
    n = max(len(mesh.vertices), 1)
    # One integer per edge: far faster to count than rows of a 2-column array.
    _, counts = np.unique(np.minimum(start, end) * n + np.maximum(start, end), return_counts=True)
    watertight = bool(np.all(counts == 2))
    _, directed_counts = np.unique(start * n + end, return_counts=True)
    oriented = watertight and bool(np.all(directed_counts == 1))
    return watertight, oriented


_PLY_HEADER = (
    "ply\nformat binary_little_endian 1.0\ncomment rhizosim {comment}\nelement vertex {nv}\n"
    "property float x\nproperty float y\nproperty float z\nelement face {nf}\n"
    "property list uchar int vertex_indices\nend_header\n"
)


def write_ply(mesh: TriangleMesh, path: str | Path, comment: str = "mesh in mm, LPS patient frame") -> None:
    """Write ``mesh`` as a binary little-endian PLY file."""
    header = _PLY_HEADER.format(comment=comment, nv=len(mesh.vertices), nf=mesh.n_faces).encode("ascii")
    face_records = np.zeros(mesh.n_faces, dtype=[("n", "u1"), ("v", "<i4", (3,))])
    face_records["n"] = 3
    face_records["v"] = mesh.faces
    with open(path, "wb") as stream:
        stream.write(header)
        stream.write(np.ascontiguousarray(mesh.vertices, dtype="<f4").tobytes())
        stream.write(face_records.tobytes())


def read_ply(path: str | Path) -> TriangleMesh:
    """Read a triangle mesh written by :func:`write_ply`.

    Raises
    ------
    AssetError
        If the file is missing, is not a binary PLY of triangles, is truncated, or indexes
        vertices that do not exist.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise AssetError(path, f"cannot read mesh file: {error.strerror}") from None
    end = data.find(b"end_header\n")
    if not data.startswith(b"ply\n") or end < 0:
        raise AssetError(path, "not a PLY mesh file (missing 'ply' magic or 'end_header')")
    lines = data[:end].decode("ascii", errors="replace").splitlines()
    if "format binary_little_endian 1.0" not in lines:
        raise AssetError(path, "PLY file is not binary little-endian")
    counts = {}
    for line in lines:
        parts = line.split()
        if len(parts) == 3 and parts[0] == "element":
            try:
                counts[parts[1]] = int(parts[2])
            except ValueError:
                raise AssetError(path, f"bad PLY element line '{line}'") from None
    if "vertex" not in counts or "face" not in counts:
        raise AssetError(path, "PLY file lacks a vertex or face element")
    nv, nf = counts["vertex"], counts["face"]
    body = data[end + len(b"end_header\n"):]
    expected = nv * 12 + nf * 13
    if len(body) != expected:
        raise AssetError(path, f"PLY body has {len(body)} bytes, expected {expected} (truncated or corrupt)")
    vertices = np.frombuffer(body[: nv * 12], dtype="<f4").reshape(nv, 3).copy()
    records = np.frombuffer(body[nv * 12:], dtype=[("n", "u1"), ("v", "<i4", (3,))])
    if nf and (np.any(records["n"] != 3)):
        raise AssetError(path, "PLY faces are not all triangles")
    faces = records["v"].astype(np.int32)
    if nf and (faces.min() < 0 or faces.max() >= nv):
        raise AssetError(path, "PLY faces index vertices that do not exist (corrupt file)")
    if not np.all(np.isfinite(vertices)):
        raise AssetError(path, "PLY vertices contain non-finite coordinates (corrupt file)")
    return TriangleMesh(vertices=vertices, faces=faces)


def surface_from_grid(field: GridField, *, target_faces: int | None = None, level_mm: float = 0.0,
                      stride: int = 1) -> TriangleMesh:
    """Extract the level set ``field == level_mm`` as a closed mesh with outward normals.

    ``stride`` > 1 contours every stride-th node only: for smooth, large surfaces (the body
    envelope) it gives few triangles without a costly decimation.

    Uses VTK's flying-edges contouring, then quadric decimation down to about
    ``target_faces`` triangles (keeping the mesh closed), and orients the triangles outwards.
    The grid must be negative only away from its border, so the surface is closed.
    """
    import pyvista as pv

    values = field.values[::stride, ::stride, ::stride]
    grid = pv.ImageData(dimensions=values.shape, spacing=(field.spacing_mm * stride,) * 3, origin=field.origin_mm)
    grid.point_data["d"] = values.ravel(order="F")
    surface = grid.contour([level_mm], scalars="d", method="flying_edges")
    surface = _without_fragments(surface)
    if target_faces is not None and surface.n_cells > target_faces:
        surface = _decimate_closed(surface, target_faces)
    mesh = _from_pyvista(surface)
    if mesh.volume_mm3() < 0:
        mesh = TriangleMesh(mesh.vertices, mesh.faces[:, ::-1].copy())
    return mesh


def _without_fragments(surface, min_fraction: float = 0.01):
    """Drop connected pieces smaller than ``min_fraction`` of the largest (contouring slivers)."""
    import pyvista as pv

    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    mesh = _from_pyvista(surface)
    f = mesh.faces
    n = len(mesh.vertices)
    graph = coo_matrix((np.ones(3 * len(f)), (np.concatenate([f[:, 0], f[:, 1], f[:, 2]]),
                                               np.concatenate([f[:, 1], f[:, 2], f[:, 0]]))), shape=(n, n))
    count, labels = connected_components(graph, directed=False)
    if count == 1:
        return surface
    face_labels = labels[f[:, 0]]
    sizes = np.bincount(face_labels, minlength=count)
    keep = sizes >= min_fraction * sizes.max()
    faces = f[keep[face_labels]]
    cells = np.hstack([np.full((len(faces), 1), 3), faces]).ravel()
    return pv.PolyData(np.asarray(surface.points), cells).clean(polys_to_lines=False, lines_to_points=False)


def _decimate_closed(surface, target_faces: int):
    """Decimate towards ``target_faces``, keeping the mesh closed and free of zero-area triangles.

    Quadric decimation (the ``fast_simplification`` library, about five times faster than
    VTK's on our meshes and as close to the field) now and then leaves a non-manifold edge;
    several settings are tried, from the target down to milder reductions, with VTK's
    decimators as a second opinion, and the first closed result is kept (the undecimated
    surface if none is).
    """
    import fast_simplification
    import pyvista as pv

    points = np.asarray(surface.points, dtype=np.float32)
    faces = surface.faces.reshape(-1, 4)[:, 1:]

    def fast(reduction: float, aggressiveness: int):
        kept_points, kept_faces = fast_simplification.simplify(points, faces, reduction, agg=aggressiveness)
        return pv.PolyData.from_regular_faces(kept_points, kept_faces)

    for fraction in (1.0, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5):
        reduction = (1.0 - target_faces / surface.n_cells) * fraction
        # Gentler collapse schedules (lower aggressiveness) fix most of the rare failures; they
        # may stop short of the target (the paraspinal muscles keep about 37,000 triangles),
        # which is cheaper than trying VTK's slower decimators.
        for decimate in (lambda: fast(reduction, 7), lambda: fast(reduction, 3),
                         lambda: surface.decimate(reduction, volume_preservation=True),
                         lambda: surface.decimate_pro(reduction, preserve_topology=True, feature_angle=60.0)):
            decimated = decimate().clean(polys_to_lines=False, lines_to_points=False)
            mesh = _from_pyvista(decimated)
            if edge_manifold_report(mesh)[0] and mesh.face_areas_mm2().min() > 1e-9:
                return decimated
    return surface


def shell_mesh(outer: TriangleMesh, inner: TriangleMesh) -> TriangleMesh:
    """A closed layer from two nested closed surfaces: the inner one turned inside out."""
    faces = np.vstack([outer.faces, inner.faces[:, ::-1] + len(outer.vertices)])
    return TriangleMesh(np.vstack([outer.vertices, inner.vertices]), faces.astype(np.int32))


def _from_pyvista(polydata) -> TriangleMesh:
    faces = polydata.faces.reshape(-1, 4)[:, 1:].astype(np.int32)
    return TriangleMesh(vertices=np.asarray(polydata.points, dtype=np.float32), faces=faces)


def tube_mesh(points_mm: np.ndarray, radii_mm: np.ndarray, *, sides: int = 12, cap_rings: int = 3) -> TriangleMesh:
    """Closed mesh of a tube along a polyline, with hemispherical end caps.

    Rings are oriented by parallel transport so the tube does not twist. Matches
    :class:`~simulator.fields.TubeField` with the same points and radii.
    """
    points = np.asarray(points_mm, dtype=float)
    radii = np.asarray(radii_mm, dtype=float)
    tangents = np.gradient(points, axis=0)
    tangents /= np.linalg.norm(tangents, axis=1, keepdims=True)
    # Parallel-transported normal frame.
    reference = np.array([1.0, 0.0, 0.0]) if abs(tangents[0, 0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    normal = np.cross(tangents[0], reference)
    normal /= np.linalg.norm(normal)
    normals = [normal]
    for t_prev, t_next in zip(tangents[:-1], tangents[1:]):
        axis = np.cross(t_prev, t_next)
        sin = np.linalg.norm(axis)
        n = normals[-1]
        if sin > 1e-9:
            axis /= sin
            cos = float(np.clip(t_prev @ t_next, -1, 1))
            n = n * cos + np.cross(axis, n) * sin + axis * (axis @ n) * (1 - cos)
        n = n - t_next * (n @ t_next)
        normals.append(n / np.linalg.norm(n))
    normals_array = np.array(normals)
    binormals = np.cross(tangents, normals_array)
    angles = np.linspace(0, 2 * np.pi, sides, endpoint=False)
    ring_dirs = np.cos(angles)[None, :, None] * normals_array[:, None, :] + np.sin(angles)[None, :, None] * binormals[:, None, :]

    # Rings: start cap (from the pole outwards), body, end cap (towards the pole).
    rings: list[np.ndarray] = []
    cap = np.linspace(0, np.pi / 2, cap_rings + 1)[1:-1]
    for phi in cap:
        rings.append(points[0] - tangents[0] * radii[0] * np.cos(phi) + ring_dirs[0] * radii[0] * np.sin(phi))
    for i in range(len(points)):
        rings.append(points[i] + ring_dirs[i] * radii[i])
    for phi in cap[::-1]:
        rings.append(points[-1] + tangents[-1] * radii[-1] * np.cos(phi) + ring_dirs[-1] * radii[-1] * np.sin(phi))
    ring_array = np.array(rings)
    n_rings = len(ring_array)
    vertices = np.vstack([ring_array.reshape(-1, 3), points[0] - tangents[0] * radii[0], points[-1] + tangents[-1] * radii[-1]])
    start_pole, end_pole = n_rings * sides, n_rings * sides + 1

    faces = []
    j = np.arange(sides)
    j_next = (j + 1) % sides
    for r in range(n_rings - 1):
        a, b = r * sides + j, r * sides + j_next
        c, d = (r + 1) * sides + j, (r + 1) * sides + j_next
        faces.append(np.stack([a, b, d], axis=1))
        faces.append(np.stack([a, d, c], axis=1))
    faces.append(np.stack([np.full(sides, start_pole), j_next, j], axis=1))
    last = (n_rings - 1) * sides
    faces.append(np.stack([np.full(sides, end_pole), last + j, last + j_next], axis=1))
    mesh = TriangleMesh(vertices.astype(np.float32), np.vstack(faces).astype(np.int32))
    if mesh.volume_mm3() < 0:
        mesh = TriangleMesh(mesh.vertices, mesh.faces[:, ::-1].copy())
    return mesh
