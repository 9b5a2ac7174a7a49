"""Reading users' mesh files: STL, OBJ, PLY, VTP/VTK and GLB, in whatever units they were saved.

Real files are messy: a triangle soup (every triangle with its own three vertices, as the
Visible Human OBJ files are), quads and polygons, several pieces, metres instead of
millimetres. :func:`read_mesh_file` returns one triangle mesh with coincident vertices welded,
in the file's own units and frame; :func:`detect_units` tells metres from centimetres and
millimetres by the size of a bone; :func:`mm_from_units` converts. Every problem raises
:class:`~simulator.errors.AssetError` naming the file.

Examples
--------
>>> mesh = read_mesh_file("L3.obj")                                  # doctest: +SKIP
>>> detect_units(mesh, "vertebra", "L3.obj")                         # doctest: +SKIP
'm'
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simulator.errors import AssetError
from simulator.mesh import TriangleMesh

__all__ = ["MESH_SUFFIXES", "UNITS_MM", "read_mesh_file", "detect_units", "check_given_units", "mm_from_units",
           "largest_extent"]

#: File suffixes read, and the library that reads them.
MESH_SUFFIXES: dict[str, str] = {".stl": "trimesh", ".obj": "trimesh", ".ply": "trimesh", ".glb": "trimesh",
                                 ".gltf": "trimesh", ".vtp": "pyvista", ".vtk": "pyvista"}
#: Millimetres per unit of each unit a file may be in.
UNITS_MM: dict[str, float] = {"mm": 1.0, "cm": 10.0, "m": 1000.0}
#: Largest extent of one bone, mm: from a small thoracic vertebra's body (25) to a large
#: sacrum with its alae and curvature (250, anatomy.md §5: sacrum 100-120 mm tall, alae ~110
#: wide). The unit ranges these give do not overlap, so a bone's size tells its unit.
BONE_EXTENT_MM = (25.0, 250.0)
#: Welding tolerance, as a fraction of the mesh's largest extent (a triangle soup's copies of a
#: vertex agree to its printed digits).
_WELD_FRACTION = 1e-7


def read_mesh_file(path: str | Path) -> TriangleMesh:
    """Read one mesh file as a single triangle mesh (the file's units and frame).

    Polygons are triangulated, the pieces of a multi-part file (GLB scenes) joined, and
    vertices that coincide welded, so a triangle soup becomes a connected surface whose holes,
    if any, are real.

    Parameters
    ----------
    path : str or Path
        An ``.stl``, ``.obj``, ``.ply``, ``.vtp``, ``.vtk``, ``.glb`` or ``.gltf`` file.

    Raises
    ------
    AssetError
        If the file is missing, of another format, unreadable, or holds no triangle.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in MESH_SUFFIXES:
        raise AssetError(path, f"unknown mesh format '{suffix or '(no suffix)'}'; allowed: {', '.join(MESH_SUFFIXES)}")
    if not path.is_file():
        raise AssetError(path, "mesh file is missing")
    try:
        vertices, faces = _read_pyvista(path) if MESH_SUFFIXES[suffix] == "pyvista" else _read_trimesh(path)
    except AssetError:
        raise
    except Exception as error:  # the readers raise many types for damaged files
        raise AssetError(path, f"cannot read mesh ({type(error).__name__}: {error})") from None
    if len(faces) == 0 or len(vertices) < 3:
        raise AssetError(path, "mesh is empty (no triangles)")
    if not np.all(np.isfinite(vertices)):
        raise AssetError(path, "mesh has non-finite vertex coordinates")
    vertices, faces = _welded(vertices, faces)
    if len(faces) == 0:
        raise AssetError(path, "mesh is empty (all its triangles are degenerate)")
    return TriangleMesh(vertices.astype(np.float64), faces.astype(np.int32))


def _read_trimesh(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import trimesh

    loaded = trimesh.load(path, process=False)
    if isinstance(loaded, trimesh.Scene):
        parts = [g for g in loaded.dump() if isinstance(g, trimesh.Trimesh)] if loaded.geometry else []
        if not parts:
            return np.zeros((0, 3)), np.zeros((0, 3), np.int64)
        loaded = trimesh.util.concatenate(parts)
    if not isinstance(loaded, trimesh.Trimesh):  # a point cloud or a path: no triangles
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64)
    return np.asarray(loaded.vertices, dtype=float), np.asarray(loaded.faces, dtype=np.int64)


def _read_pyvista(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import pyvista as pv

    data = pv.read(path)
    surface = data.extract_surface() if not isinstance(data, pv.PolyData) else data
    surface = surface.triangulate()
    if surface.n_cells == 0 or surface.faces.size == 0:
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64)
    return np.asarray(surface.points, dtype=float), surface.faces.reshape(-1, 4)[:, 1:].astype(np.int64)


def _welded(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge vertices closer than a tiny tolerance; drop triangles that collapse."""
    tolerance = max(float(np.ptp(vertices, axis=0).max()) * _WELD_FRACTION, 1e-12)
    keys = np.round(vertices / tolerance).astype(np.int64)
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    faces = inverse.reshape(-1)[faces]
    keep = (faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])
    return vertices[first], faces[keep]


def largest_extent(mesh: TriangleMesh) -> float:
    """The largest side of the mesh's axis-aligned box, in its own units."""
    return float(np.ptp(mesh.vertices, axis=0).max())


def detect_units(mesh: TriangleMesh, path: str | Path) -> str:
    """The units a bone mesh is in (``"mm"``, ``"cm"`` or ``"m"``), told by its size.

    A bone's largest extent is 25-250 mm (:data:`BONE_EXTENT_MM`): 0.025-0.25 in metres,
    2.5-25 in centimetres. A size outside all three ranges raises.

    Raises
    ------
    AssetError
        If the size fits none of the units (name them in the description file).
    """
    extent = largest_extent(mesh)
    for unit, mm in UNITS_MM.items():
        if BONE_EXTENT_MM[0] <= extent * mm <= BONE_EXTENT_MM[1]:
            return unit
    raise AssetError(path, f"cannot tell the units: the bone's largest extent is {extent:.4g}, which is no bone's size "
                           f"in mm, cm or m ({BONE_EXTENT_MM[0]:g}-{BONE_EXTENT_MM[1]:g} mm); set units = \"mm\", \"cm\" "
                           "or \"m\" for it in the description file")


#: A bone's largest extent allowed when its units are given (mm): wider than the detection's
#: range, for the odd bone that needs the override, but no unit mistake (a factor of ten) fits.
BONE_EXTENT_GIVEN_UNITS_MM = (10.0, 400.0)


def check_given_units(mesh: TriangleMesh, unit: str, path: str | Path) -> None:
    """Refuse units given for a bone that make it no bone's size (a unit mistake).

    Raises
    ------
    AssetError
        Naming the file, the size the units give and the units its size suggests.
    """
    extent_mm = largest_extent(mesh) * UNITS_MM[unit]
    low, high = BONE_EXTENT_GIVEN_UNITS_MM
    if not low <= extent_mm <= high:
        try:
            suggestion = f"; its size says {detect_units(mesh, path)}"
        except AssetError:
            suggestion = ""
        raise AssetError(path, f"units = \"{unit}\" make this bone {extent_mm:.4g} mm across, no bone's size "
                               f"({low:g}-{high:g} mm){suggestion}")


def mm_from_units(unit: str) -> float:
    """Millimetres per ``unit`` (``"mm"``, ``"cm"``, ``"m"``).

    Examples
    --------
    >>> mm_from_units("m")
    1000.0
    """
    return UNITS_MM[unit]
