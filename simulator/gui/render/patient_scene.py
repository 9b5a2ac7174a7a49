"""The procedure as pyvista actors: the patient's back, the needles, the C-arm, and, for the
instructor, the anatomy and the lesions.

:class:`PatientSceneActors` owns every actor it adds to a plotter (a pyvistaqt
``QtInteractor`` in the window) and redraws them from a
:class:`~simulator.procedure.ProcedureState`. In **trainee** mode only what is seen in the room
is drawn: the skin (opaque) and the part of each needle outside it with its hub. In
**instructor** mode the skin turns transparent and the bones, discs, dural sac and nerves
(the scenario's targets in red), the whole needles and the lesions are shown.

All positions are mm in the LPS patient frame (patient prone: the back is +y).
"""

from __future__ import annotations

import numpy as np

from simulator.report.anatomy_views import KIND_COLORS

__all__ = ["PatientSceneActors", "ANATOMY_STYLE", "HUB_LENGTH_MM", "HUB_RADIUS_MM"]

#: Kinds drawn in instructor mode: colour and opacity.
ANATOMY_STYLE: dict[str, tuple[str, float]] = {
    "vertebra": (KIND_COLORS["vertebra"], 0.55), "sacrum": (KIND_COLORS["sacrum"], 0.55),
    "disc": (KIND_COLORS["disc"], 0.35), "dural_sac": (KIND_COLORS["dural_sac"], 0.3),
    "root": (KIND_COLORS["root"], 0.9), "ganglion": (KIND_COLORS["ganglion"], 0.9),
    "ventral_ramus": (KIND_COLORS["ventral_ramus"], 0.9), "dorsal_ramus": (KIND_COLORS["dorsal_ramus"], 0.9),
    "medial_branch": ("gold", 0.9),
}
#: The needle hub as drawn (a grip the operator holds), mm.
HUB_LENGTH_MM, HUB_RADIUS_MM = 18.0, 4.0
#: Needle shafts are drawn thicker than they are (an 18 G shaft is 1.3 mm), to be seen.
SHAFT_RADIUS_MM = 1.2
_SKIN_OPACITY = {"trainee": 1.0, "instructor": 0.18}


def _tube(start, end, radius: float):
    import pyvista as pv

    start, end = np.asarray(start, float), np.asarray(end, float)
    length = float(np.linalg.norm(end - start))
    if length < 1e-6:
        return None
    return pv.Cylinder(center=0.5 * (start + end), direction=(end - start) / length, radius=radius, height=length,
                       resolution=16)


class PatientSceneActors:
    """The actors of one patient in ``plotter`` (a pyvista ``Plotter`` or ``QtInteractor``).

    Parameters
    ----------
    plotter : pyvista.Plotter
        Where to draw.
    scene : simulator.scene.Scene
        The patient.
    targets : sequence of str
        The scenario's target nerves (red in instructor mode).
    """

    def __init__(self, plotter, scene, targets=()) -> None:
        import pyvista as pv

        from simulator.fluoro import CArmGeometry

        self.plotter = plotter
        self.scene = scene
        self.targets = tuple(targets)
        self.geometry = CArmGeometry()
        self.mode = "trainee"
        body = scene.structure("body").mesh
        self.skin = plotter.add_mesh(body.to_pyvista(), color=KIND_COLORS["body"], smooth_shading=True, specular=0.2,
                                     name="skin", pickable=True)
        low, high = body.vertices.min(axis=0), body.vertices.max(axis=0)
        table = pv.Box(bounds=(low[0] - 120.0, high[0] + 120.0, low[1] - 40.0, low[1] - 2.0, low[2] - 250.0, high[2] + 250.0))
        plotter.add_mesh(table, color="#3d5a80", name="table", pickable=False)
        self._anatomy: list = []
        self._dynamic: list[str] = []
        plotter.set_background("#2b2f36", top="#5a6270")
        self.reset_camera()

    # -- camera ---------------------------------------------------------------------------
    def _focus_mm(self) -> np.ndarray:
        """The first target's bony landmark (where the needle goes), or the L4 body."""
        from simulator.approach import textbook_approach

        for target in self.targets:
            try:
                return self.scene.landmark(textbook_approach(target).landmark)
            except (ValueError, KeyError):
                continue
        return self.scene.landmark("body_center_L4")

    def reset_camera(self) -> None:
        """Look at the lower back from the patient's right side and above (where the operator
        stands), so that the C-arm's axis is seen across: the back and the hubs in trainee mode,
        closer on the target in instructor mode."""
        focus = self._focus_mm()
        if self.mode == "trainee":
            focus = np.array([0.0, focus[1] + 70.0, focus[2]])
        direction = np.array([-0.62, 0.62, -0.25])
        direction /= np.linalg.norm(direction)
        camera = self.plotter.camera
        camera.focal_point = tuple(focus)
        camera.position = tuple(focus + (1150.0 if self.mode == "trainee" else 520.0) * direction)
        camera.up = (0.0, 1.0, 0.0)
        camera.view_angle = 30.0
        self.plotter.reset_camera_clipping_range()

    # -- the anatomy (instructor) ---------------------------------------------------------
    def _build_anatomy(self) -> None:
        import pyvista as pv

        by_kind: dict[str, list] = {}
        for s in self.scene.anatomy.structures.values():
            if s.kind in ANATOMY_STYLE:
                key = "target" if s.id in self.targets else s.kind
                by_kind.setdefault(key, []).append(s.mesh.to_pyvista())
        for kind, meshes in by_kind.items():
            color, opacity = ("red", 1.0) if kind == "target" else ANATOMY_STYLE[kind]
            merged = pv.merge(meshes) if len(meshes) > 1 else meshes[0]
            actor = self.plotter.add_mesh(merged, color=color, opacity=opacity, smooth_shading=True, name=f"anatomy_{kind}",
                                          pickable=False, render=False)
            self._anatomy.append(actor)

    def set_mode(self, mode: str) -> None:
        """``"trainee"``: skin opaque, anatomy hidden; ``"instructor"``: skin transparent, anatomy shown."""
        if mode == "instructor" and not self._anatomy:
            self._build_anatomy()
        changed, self.mode = mode != self.mode, mode
        if changed:
            self.reset_camera()
        self.skin.GetProperty().SetOpacity(_SKIN_OPACITY[mode])
        for actor in self._anatomy:
            actor.SetVisibility(mode == "instructor")

    @property
    def anatomy_visible(self) -> bool:
        return any(actor.GetVisibility() for actor in self._anatomy)

    # -- what changes ---------------------------------------------------------------------
    def _add(self, mesh, name: str, **style) -> None:
        if mesh is None:
            return
        self.plotter.add_mesh(mesh, name=name, pickable=False, render=False, **style)
        self._dynamic.append(name)

    def update(self, state, *, current_needle: str | None = None, entry_mm=None, lesion_meshes=()) -> None:
        """Redraw the needles, the C-arm, the picked entry point and (instructor) the lesions."""
        import pyvista as pv

        for name in self._dynamic:
            self.plotter.remove_actor(name, render=False)
        self._dynamic = []
        if state is not None:
            for label, needle in state.needles.items():
                self._add_needle(label, needle, label == current_needle)
            self._add_carm(state)
        if entry_mm is not None:
            self._add(pv.Sphere(radius=3.0, center=tuple(np.asarray(entry_mm, float))), "entry", color="lime")
        if self.mode == "instructor":
            for index, mesh in enumerate(lesion_meshes):
                self._add(mesh.to_pyvista(), f"lesion_{index}", color="mediumorchid", opacity=0.8, smooth_shading=True)
        self.plotter.render()

    def _add_needle(self, label: str, needle, current: bool) -> None:
        outside = max(float(needle.model.length_mm) - float(needle.depth_mm), 0.0)
        hub_end = needle.entry_mm - outside * needle.direction
        color = "yellow" if current else "deepskyblue"
        self._add(_tube(hub_end, needle.entry_mm, SHAFT_RADIUS_MM), f"shaft_out_{label}", color="silver")
        self._add(_tube(hub_end - HUB_LENGTH_MM * needle.direction, hub_end, HUB_RADIUS_MM), f"hub_{label}", color=color)
        if self.mode == "instructor":
            for index, (start, end) in enumerate(needle.segments_mm):
                self._add(_tube(start, end, SHAFT_RADIUS_MM), f"shaft_in_{label}_{index}", color="dimgray")

    def _add_carm(self, state) -> None:
        import pyvista as pv

        from simulator.procedure import current_pose

        pose = current_pose(state)
        beam = pose.beam_direction
        source, detector = self.geometry.source_mm(pose), self.geometry.detector_center_mm(pose)
        radius = 0.5 * self.geometry.detector_size_mm
        self._add(pv.Cylinder(center=tuple(detector + 40.0 * beam), direction=tuple(beam), radius=radius, height=80.0,
                              resolution=40), "carm_detector", color="#d8dde6", opacity=0.55)
        self._add(pv.Cone(center=tuple(source - 40.0 * beam), direction=tuple(-beam), height=80.0, radius=60.0,
                          resolution=30), "carm_source", color="#d8dde6", opacity=0.55)
        self._add(pv.Line(tuple(source), tuple(detector)), "carm_beam", color="cyan", line_width=2, opacity=0.6)

    # -- picking --------------------------------------------------------------------------
    def pick_skin(self, display_x: float, display_y: float):
        """The skin point under a display position (VTK pixels, origin bottom left), or ``None``."""
        import vtk

        picker = vtk.vtkCellPicker()
        picker.SetTolerance(0.0005)
        picker.PickFromListOn()
        picker.AddPickList(self.skin)
        renderer = self.plotter.renderer
        if not picker.Pick(float(display_x), float(display_y), 0.0, renderer) or picker.GetActor() is not self.skin:
            return None
        return np.array(picker.GetPickPosition(), dtype=float)

    def display_position(self, point_mm) -> tuple[float, float]:
        """Where ``point_mm`` is drawn: display pixels (VTK, origin bottom left)."""
        renderer = self.plotter.renderer
        renderer.SetWorldPoint(*[float(v) for v in point_mm], 1.0)
        renderer.WorldToDisplay()
        x, y, _ = renderer.GetDisplayPoint()
        return float(x), float(y)
