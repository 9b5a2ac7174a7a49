"""Every mesh of the default patient is a closed, consistently oriented surface facing outwards.

Renderers, the fluoroscopy ray caster and volume measurements all rely on this: an open edge
leaks rays, a flipped triangle inverts inside and outside.
"""

from __future__ import annotations

from simulator.mesh import edge_manifold_report
from tests.helpers import record


def test_every_mesh_is_watertight_oriented_and_outward(default_scene):
    problems = []
    for structure_id in default_scene.ids():
        mesh = default_scene.structure(structure_id).mesh
        watertight, oriented = edge_manifold_report(mesh)
        volume = mesh.volume_mm3()
        if not (watertight and oriented and volume > 0.0):
            problems.append(f"{structure_id} (watertight={watertight}, oriented={oriented}, volume={volume:.0f} mm³)")
    count = len(default_scene.ids())
    record("meshes watertight, oriented, volume > 0", f"{count} structures", f"{count - len(problems)}/{count}",
           "all", not problems)
    assert count > 0
    assert not problems, "bad meshes: " + "; ".join(problems)


def test_meshes_have_no_degenerate_triangles(default_scene):
    """No zero-area triangle (they break normals and ray-triangle tests)."""
    import numpy as np

    problems = []
    for structure_id in default_scene.ids():
        mesh = default_scene.structure(structure_id).mesh
        f = mesh.faces
        v = mesh.vertices.astype(float)
        # Computed here, not with the mesh's own method, so the test does not trust the code under test.
        area = 0.5 * np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1)
        if np.any(area < 1e-9):
            problems.append(f"{structure_id}: {np.count_nonzero(area < 1e-9)} zero-area triangles")
    assert not problems, "; ".join(problems)
