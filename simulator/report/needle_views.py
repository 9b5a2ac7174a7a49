"""A picture of a needle in the scene next to its target nerve (off-screen, for debriefing and docs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simulator.mesh import TriangleMesh
from simulator.needle import Needle
from simulator.report.anatomy_views import KIND_COLORS, _caption, _place_camera, _plotter, _save
from simulator.scene import Scene

__all__ = ["render_needle_at_target"]

#: Kinds drawn around the needle: bone, discs, nerves and the ligaments over the medial branches.
_KINDS = ("vertebra", "sacrum", "disc", "root", "ganglion", "ventral_ramus", "dorsal_ramus", "medial_branch", "ligament")
TARGET_COLOR = "magenta"
SHAFT_COLOR = "dimgray"
ACTIVE_TIP_COLOR = "black"


def render_needle_at_target(scene: Scene, needle: Needle, target_id: str, path: str | Path, *,
                            view: str = "posterior_oblique_right", extent_mm: float = 40.0,
                            size: tuple[int, int] = (1000, 900), title: str | None = None,
                            extra_meshes: list[tuple[TriangleMesh, str, float]] = ()) -> Path:
    """Render the structures within ``extent_mm`` of the tip, the target in magenta, the needle
    (insulated shaft grey, active tip black) at its true diameter, and ``extra_meshes`` (mesh,
    colour, opacity; e.g. a lesion), and save a PNG. ``view`` ending in ``_right`` or ``_left``
    is turned to the needle's side when the needle is on the other one."""
    import pyvista as pv

    tip = needle.tip_mm
    plotter = _plotter(size)
    for structure_id in scene.ids_near(tip[None], extent_mm, kinds=_KINDS):
        structure = scene.structure(structure_id)
        color = TARGET_COLOR if structure_id == target_id else KIND_COLORS[structure.kind]
        bone = structure.kind in ("vertebra", "sacrum")
        plotter.add_mesh(structure.mesh.to_pyvista(), color=color, smooth_shading=True, opacity=0.55 if bone else 1.0)
    active_start, _ = needle.active_segment_mm  # on the shaft, or at the bend of a curved cannula
    radius = needle.model.radius_mm
    # The shaft is drawn from 1.5 picture extents back, so its direction reads clearly.
    back = min(float(np.linalg.norm(active_start - needle.entry_mm)), extent_mm * 1.5)
    pieces = [(active_start - back * needle.direction, active_start, SHAFT_COLOR), (active_start, tip, ACTIVE_TIP_COLOR)]
    for start, end, color in pieces:
        length = float(np.linalg.norm(end - start))
        if length > 1e-6:
            plotter.add_mesh(pv.Cylinder(center=0.5 * (start + end), direction=end - start, radius=radius, height=length,
                                         resolution=24), color=color, smooth_shading=True)
    for mesh, color, opacity in extra_meshes:
        plotter.add_mesh(mesh.to_pyvista(), color=color, opacity=opacity, smooth_shading=True)
    if view.endswith("_right") and tip[0] > 0:  # LPS: +x is the patient's left
        view = view.removesuffix("_right")
    _place_camera(plotter, view, tip, extent_mm * 0.6)
    if title:
        _caption(plotter, title)
    return _save(plotter, path)
