"""Off-screen 3D pictures of an anatomy, for the demo, reports and comparisons.

Uses :class:`pyvista.Plotter` off-screen (no Qt). Bone is ivory, target nerves (medial
branches, dorsal rami) red and orange, other nerves yellow, vessels red and blue, discs
light blue; soft tissue is left out unless asked for.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterable

import numpy as np

from simulator.mesh import TriangleMesh
from simulator.structure import Structure

__all__ = ["VIEWS", "KIND_COLORS", "render_structures", "render_meshes_side_by_side"]

KIND_COLORS: dict[str, str] = {
    "vertebra": "ivory", "sacrum": "ivory", "disc": "lightsteelblue", "dural_sac": "gold", "root": "yellow",
    "ganglion": "orange", "ventral_ramus": "khaki", "dorsal_ramus": "darkorange", "medial_branch": "red",
    "artery": "firebrick", "vein": "royalblue", "muscle": "indianred", "fat": "khaki", "skin": "peachpuff",
    "body": "peachpuff", "ligament": "lightgreen", "bone": "wheat",
}
#: Camera directions (from the focal point towards the camera) in the patient frame, and up.
VIEWS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "posterior_oblique": ((0.55, 0.8, 0.25), (0.0, 0.0, 1.0)),   # from behind, the patient's left
    "posterior_oblique_right": ((-0.55, 0.8, 0.25), (0.0, 0.0, 1.0)),  # from behind, the patient's right
    "lateral": ((-1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),             # from the patient's right side
    "posterior": ((0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
    "anterior": ((0.0, -1.0, 0.0), (0.0, 0.0, 1.0)),
}
SKELETAL_KINDS = ("vertebra", "sacrum", "disc", "root", "ganglion", "ventral_ramus", "dorsal_ramus", "medial_branch",
                  "ligament")


def _plotter(size: tuple[int, int]):
    import pyvista as pv

    _prefer_egl_without_display()
    plotter = pv.Plotter(off_screen=True, window_size=list(size))
    plotter.set_background("white")
    return plotter


def _place_camera(plotter, view: str, focus: np.ndarray, extent: float) -> None:
    direction, up = VIEWS[view]
    d = np.asarray(direction, dtype=float)
    plotter.camera.focal_point = tuple(focus)
    plotter.camera.position = tuple(focus + d / np.linalg.norm(d) * extent * 4.0)
    plotter.camera.up = up
    plotter.camera.view_angle = 30.0
    plotter.reset_camera_clipping_range()


def render_structures(structures: Iterable[Structure], path: str | Path, *, view: str = "posterior_oblique",
                      kinds: Iterable[str] = SKELETAL_KINDS, opacity: dict[str, float] | None = None,
                      size: tuple[int, int] = (900, 1100), title: str | None = None,
                      framed_kinds: Iterable[str] | None = None) -> Path:
    """Render the structures of the given kinds to a PNG and return its path.

    ``framed_kinds``: the kinds the camera frames (default: every one drawn); the others are
    drawn as context and may reach beyond the picture. When none of them is present, the
    camera frames everything drawn.
    """
    kinds = tuple(kinds)
    chosen = [s for s in structures if s.kind in kinds]
    if not chosen:
        raise ValueError(f"render_structures: no structure of kinds {kinds}")
    framed = [s for s in chosen if framed_kinds is None or s.kind in tuple(framed_kinds)] or chosen
    plotter = _plotter(size)
    for s in chosen:
        plotter.add_mesh(s.mesh.to_pyvista(), color=KIND_COLORS[s.kind], smooth_shading=True,
                         opacity=(opacity or {}).get(s.kind, 1.0))
    points = np.vstack([s.mesh.vertices for s in framed])
    focus = 0.5 * (points.min(axis=0) + points.max(axis=0))
    _place_camera(plotter, view, focus, float(np.ptp(points, axis=0).max()) * 0.5)
    if title:
        _caption(plotter, title)
    return _save(plotter, path)


def _prefer_egl_without_display() -> None:
    """Let VTK render with EGL straight away on a Linux machine with no display.

    VTK (9.4 and later) chooses its OpenGL window at run time: without this it first tries X,
    prints "bad X server connection" and only then falls back. A user's own choice wins.
    """
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")


def _caption(plotter, title: str, font_size: int = 10) -> None:
    """Write ``title`` in the upper-left corner on a pale band, so it stays readable over any structure."""
    text = plotter.add_text(title, font_size=font_size, color="black")
    text.GetTextProperty().SetBackgroundColor(1.0, 1.0, 1.0)
    text.GetTextProperty().SetBackgroundOpacity(0.75)


def _save(plotter, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    plotter.screenshot(str(path))
    plotter.close()
    return path


def render_meshes_side_by_side(left: list[TriangleMesh], right: list[TriangleMesh], path: str | Path, *,
                               view: str = "posterior_oblique", titles: tuple[str, str] = ("", ""),
                               size: tuple[int, int] = (1600, 1000)) -> Path:
    """Two bone sets in one picture, same view and scale (e.g. generated vs real vertebrae)."""
    import pyvista as pv

    _prefer_egl_without_display()
    plotter = pv.Plotter(off_screen=True, window_size=list(size), shape=(1, 2))
    plotter.set_background("white")
    extents = [float(np.ptp(np.vstack([m.vertices for m in meshes]), axis=0).max()) * 0.5 for meshes in (left, right)]
    for column, (meshes, title) in enumerate(zip((left, right), titles)):
        plotter.subplot(0, column)
        for mesh in meshes:
            plotter.add_mesh(mesh.to_pyvista(), color="ivory", smooth_shading=True)
        points = np.vstack([m.vertices for m in meshes])
        _place_camera(plotter, view, 0.5 * (points.min(axis=0) + points.max(axis=0)), max(extents))
        _caption(plotter, title, font_size=11)
    return _save(plotter, path)
