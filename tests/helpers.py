"""Measuring tools shared by the tests: rays through fields, mesh topology, a report of figures.

Every measurement here reads the scene's fields or meshes (what the simulator answers), never
the generator's parameters. Points are in mm; ``pose`` maps a vertebra's local frame (origin at
its body centre, x patient left, y posterior, z cranial) to the patient frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Bones of the default patient, cranial to caudal.
BONES: tuple[str, ...] = ("L1", "L2", "L3", "L4", "L5", "sacrum")
LUMBAR: tuple[str, ...] = ("L1", "L2", "L3", "L4", "L5")
#: Sign of local x on each patient side (LPS: +x is the patient's left).
SIDES: dict[str, int] = {"left": 1, "right": -1}
#: Sampling step of the rays (mm): extents are found to about twice this.
RAY_STEP_MM = 0.05


# -- report of measured figures (printed at the end of the run by conftest) ---------------------
@dataclass
class Figure:
    check: str
    item: str
    measured: float | str
    expected: str
    passed: bool


REPORT: list[Figure] = []


def record(check: str, item: str, measured: float | str, expected: str, passed: bool) -> None:
    """Keep a measured figure for the end-of-run summary."""
    REPORT.append(Figure(check, item, measured, expected, bool(passed)))


def within(measured: float, reference: float, fraction: float) -> bool:
    return abs(measured - reference) <= fraction * abs(reference)


# -- rays through a structure's field ----------------------------------------------------------
def inside_along(scene, structure_id: str, pose, origin_local, direction_local, t_min: float, t_max: float,
                 step: float = RAY_STEP_MM) -> tuple[np.ndarray, np.ndarray]:
    """Sample ``structure_id`` along a line given in a local frame: (parameters t, inside flags)."""
    t = np.arange(t_min, t_max + 0.5 * step, step)
    direction = np.asarray(direction_local, dtype=float)
    direction = direction / np.linalg.norm(direction)
    local = np.asarray(origin_local, dtype=float)[None] + t[:, None] * direction[None]
    return t, scene.signed_distance(structure_id, pose.patient_from_local(local)) < 0.0


def run_through(scene, structure_id: str, pose, origin_local, direction_local, reach: float = 60.0,
                step: float = RAY_STEP_MM) -> tuple[float, float] | None:
    """Extent (t_start, t_end) of the inside run containing ``origin_local``; None if it is outside.

    The run is the connected stretch of the line inside the structure that contains the origin,
    so its length is the structure's thickness along the line through that point.
    """
    t, inside = inside_along(scene, structure_id, pose, origin_local, direction_local, -reach, reach, step)
    i0 = int(np.argmin(np.abs(t)))
    if not inside[i0]:
        return None
    outside = np.nonzero(~inside)[0]
    before, after = outside[outside < i0], outside[outside > i0]
    if len(before) == 0 or len(after) == 0:
        raise AssertionError(f"{structure_id}: run through {origin_local} longer than the {reach} mm probe")
    # Surface halfway between the last inside and the first outside sample.
    return float(t[before[-1]] + 0.5 * step), float(t[after[0]] - 0.5 * step)


def gap_through(scene, structure_id: str, pose, origin_local, direction_local,
                reach: float = 40.0, step: float = RAY_STEP_MM) -> tuple[float, float] | None:
    """Extent (t_start, t_end) of the free stretch containing ``origin_local`` between two walls.

    None if the origin is inside the structure or either direction meets no wall within ``reach``.
    """
    t, inside = inside_along(scene, structure_id, pose, origin_local, direction_local, -reach, reach, step)
    i0 = int(np.argmin(np.abs(t)))
    if inside[i0]:
        return None
    hits = np.nonzero(inside)[0]
    before, after = hits[hits < i0], hits[hits > i0]
    if len(before) == 0 or len(after) == 0:
        return None
    return float(t[before[-1]] + 0.5 * step), float(t[after[0]] - 0.5 * step)


def local_point(scene, landmark: str, pose) -> np.ndarray:
    """A scene landmark in a local frame."""
    return pose.local_from_patient(scene.landmark(landmark)[None])[0]


def min_bone_distance(scene, points: np.ndarray) -> tuple[float, str]:
    """Smallest signed distance from ``points`` to any bone, and which bone."""
    distances = {bone: float(scene.signed_distance(bone, points).min()) for bone in BONES}
    bone = min(distances, key=distances.get)
    return distances[bone], bone


# -- mesh topology ------------------------------------------------------------------------------
def mesh_components(mesh) -> int:
    """Number of connected pieces of a triangle mesh (by shared vertices)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    f = np.asarray(mesh.faces, dtype=np.int64)
    n = len(mesh.vertices)
    rows = np.concatenate([f[:, 0], f[:, 1], f[:, 2]])
    cols = np.concatenate([f[:, 1], f[:, 2], f[:, 0]])
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    used = np.unique(f)
    count, labels = connected_components(graph, directed=False)
    return len(np.unique(labels[used]))


def inside_mesh(mesh, points: np.ndarray) -> np.ndarray:
    """Whether each point is inside a closed mesh, by VTK's point-in-surface test (not our fields)."""
    import pyvista as pv

    cloud = pv.PolyData(np.asarray(points, dtype=float))
    surface = mesh.to_pyvista()
    if hasattr(cloud, "select_interior_points"):  # pyvista >= 0.47
        result = cloud.select_interior_points(surface, method="signed_distance", check_surface=True)
        return np.asarray(result.point_data["selected_points"], dtype=bool)
    result = cloud.select_enclosed_points(surface, tolerance=1e-6, check_surface=True)
    return np.asarray(result.point_data["SelectedPoints"], dtype=bool)


# -- damaged copies of an anatomy folder --------------------------------------------------------
def _update_checksum(folder, name: str) -> None:
    import hashlib
    import json

    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["sha256"][name] = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest, indent=1))


def _truncate(folder, name: str, fix_checksum: bool) -> str:
    path = folder / name
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    if fix_checksum:
        _update_checksum(folder, name)
    return name.split("/")[-1]


def _scramble(folder, name: str, fix_checksum: bool) -> str:
    path = folder / name
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle: middle + 4096] = bytes((b ^ 0x5A) for b in data[middle: middle + 4096])
    path.write_bytes(bytes(data))
    if fix_checksum:
        _update_checksum(folder, name)
    return name.split("/")[-1]


def _break_manifest_json(folder) -> str:
    path = folder / "manifest.json"
    path.write_text(path.read_text()[:-200])
    return "manifest.json"


def _invalid_manifest_kind(folder) -> str:
    import json

    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["structures"][0]["kind"] = "banana"
    path.write_text(json.dumps(manifest))
    return "manifest.json"


def _delete(folder, name: str) -> str:
    (folder / name).unlink()
    return name.split("/")[-1]


#: name -> function(folder) damaging the folder in place and returning the file name the error must give.
CORRUPTIONS = {
    "truncated_ply": lambda f: _truncate(f, "meshes/L4.ply", fix_checksum=False),
    "truncated_ply_checksum_updated": lambda f: _truncate(f, "meshes/L4.ply", fix_checksum=True),
    "scrambled_ply_checksum_updated": lambda f: _scramble(f, "meshes/sacrum.ply", fix_checksum=True),
    "corrupt_fields_npz": lambda f: _scramble(f, "fields.npz", fix_checksum=False),
    "corrupt_fields_npz_checksum_updated": lambda f: _scramble(f, "fields.npz", fix_checksum=True),
    "truncated_fields_npz_checksum_updated": lambda f: _truncate(f, "fields.npz", fix_checksum=True),
    "manifest_not_json": _break_manifest_json,
    "manifest_unknown_kind": _invalid_manifest_kind,
    "missing_mesh": lambda f: _delete(f, "meshes/medial_branch_L4_left.ply"),
    "missing_fields_npz": lambda f: _delete(f, "fields.npz"),
    "missing_manifest": lambda f: _delete(f, "manifest.json"),
}


def damaged_copy(tmp_path, corruption: str):
    """Copy the default anatomy folder to ``tmp_path`` and damage it; (folder, expected file name)."""
    import shutil

    from simulator.anatomy.assets import default_anatomy_folder

    folder = tmp_path / "anatomy"
    shutil.copytree(default_anatomy_folder(), folder)
    return folder, CORRUPTIONS[corruption](folder)
