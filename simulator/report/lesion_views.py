"""Pictures of a lesion (off-screen): the mid-plane map with its outline, and the lesion in the patient.

:func:`render_lesion_plane` draws the plane through the needle's axis (the grid's ``i``-``k``
plane): the peak temperature (RF), the lowest temperature (cryo) or the peak concentration
(chemical), the lesion's outline (solid) and its secondary zone (dashed), the probe, and the
target nerve where it runs within 3 mm of the plane; beside it, the time course at the tip.
:func:`render_lesion_in_scene` shows the lesion's surface round the needle among the bones and
nerves, the target in magenta.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simulator.ablation.result import LesionResult
from simulator.needle import Needle
from simulator.scene import Scene

__all__ = ["render_lesion_plane", "render_lesion_in_scene", "NERVE_SLAB_MM"]

#: A nerve is drawn on the plane where it runs within this distance of it (mm).
NERVE_SLAB_MM = 3.0

#: What each modality maps: (field, label with unit, colour map, zone drawn dashed, lesion colour, zone colour).
_MAPS = {
    "rf": ("peak_temperature_c", "peak temperature (°C)", "inferno", "isotherm_50c", "white", "deepskyblue"),
    "cryo": ("min_temperature_c", "lowest temperature (°C)", "Blues_r", "ice_ball_0c", "black", "darkorange"),
    "chemical": ("peak_concentration_pct", "peak concentration (%)", "viridis", "bolus", "white", "orangered"),
}
_BONE = ("cortical_bone", "cancellous_bone")
_PROBE_LABEL = {"rf": "electrode_c", "cryo": "probe_c", "chemical": "tip_pct"}


def _plane_coordinates(result: LesionResult) -> tuple[np.ndarray, np.ndarray]:
    """Along (mm, 0 at the tip, negative towards the hub) and across (mm from the axis) of the plane's nodes."""
    grid = result.grid
    along = (np.arange(grid.shape[2]) - grid.tip_index) * grid.spacing_mm
    across = (np.arange(grid.shape[0]) - grid.axis_index[0]) * grid.spacing_mm
    return along, across


def render_lesion_plane(result: LesionResult, path: str | Path, *, scene: Scene | None = None, title: str | None = None,
                        dpi: int = 110) -> Path:
    """Save the mid-plane map and the tip's time course of ``result`` as a PNG and return its path.

    Parameters
    ----------
    result : LesionResult
        Any modality's lesion.
    path : str or Path
        Where to write the PNG.
    scene : Scene, optional
        The scene the lesion was made in, to draw its target nerve.
    title : str, optional
        Defaults to the settings and the lesion's sizes.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    field_name, label, cmap, zone_name, lesion_color, zone_color = _MAPS[result.modality]
    grid = result.grid
    j = grid.axis_index[1]
    along, across = _plane_coordinates(result)
    values = result.fields[field_name][:, j, :]
    figure = Figure(figsize=(12.5, 5.6), layout="constrained")
    FigureCanvasAgg(figure)
    axes, course_axes = figure.subplots(1, 2, width_ratios=[1.7, 1.0])

    image = axes.pcolormesh(along, across, values, cmap=cmap, shading="gouraud")
    figure.colorbar(image, ax=axes, label=label, shrink=0.85)
    lesion = result.lesion_field[:, j, :]
    if np.any(lesion >= result.lesion_threshold):
        axes.contour(along, across, lesion, levels=[result.lesion_threshold], colors=lesion_color, linewidths=2.2)
    zone = result.zones.get(zone_name)
    if zone is not None:
        zone_values = result.fields[zone.field][:, j, :]
        if (zone_values <= zone.threshold).any() if zone.below else (zone_values >= zone.threshold).any():
            axes.contour(along, across, zone_values, levels=[zone.threshold], colors=zone_color, linewidths=1.5,
                         linestyles="--")
    handles = []
    if scene is not None:
        nodes = np.stack(np.meshgrid(np.arange(grid.shape[0]), [j], np.arange(grid.shape[2]), indexing="ij"), axis=-1)
        tissue = scene.tissue_at(grid.patient_from_index(nodes.reshape(-1, 3))).reshape(grid.shape[0], grid.shape[2])
        bone = np.isin(tissue, _BONE).astype(float)
        if bone.any():
            from matplotlib.patches import Patch

            hatched = axes.contourf(along, across, bone, levels=[0.5, 1.5], colors="none", hatches=["//"])
            hatched.set_edgecolor("lightgray")
            hatched.set_linewidth(0.0)
            axes.contour(along, across, bone, levels=[0.5], colors="lightgray", linewidths=1.0)
            handles.append(Patch(facecolor="none", edgecolor="lightgray", hatch="//", label="bone"))
    radius, active = result.probe.radius_mm, result.probe.active_mm
    axes.add_patch(Rectangle((along[0], -radius), -active - along[0], 2 * radius, color="dimgray", zorder=3))
    if active > 0:
        axes.add_patch(Rectangle((-active, -radius), active, 2 * radius, color="silver", ec="black", lw=0.8, zorder=3))
    handles = [_line(lesion_color, "-", f"lesion: {result.lesion_definition}"),
               _line("dimgray", "-", "insulated shaft" if active > 0 else "needle", width=6)] + handles
    if active > 0:
        handles.append(_line("silver", "-", "active tip", width=6))
    if zone is not None:
        handles.append(_line(zone_color, "--", zone.description))
    if scene is not None and result.target_id is not None:
        nerve = _nerve_on_plane(result, scene)
        if nerve is not None:
            axes.plot(nerve[:, 0], nerve[:, 1], color="magenta", lw=2.5, zorder=4)
            handles.append(_line("magenta", "-", f"{result.target_id} (within {NERVE_SLAB_MM:g} mm of the plane)"))
    axes.set_xlim(along[0], along[-1])
    axes.set_ylim(across[0], across[-1])
    axes.set_aspect("equal")
    axes.set_xlabel("along the needle (mm; 0 = tip, hub to the left)")
    axes.set_ylabel("across the needle (mm)")
    axes.set_facecolor("black")
    legend = axes.legend(handles=handles, loc="lower left", fontsize=8, framealpha=0.6, facecolor="lightgray")
    legend.set_zorder(5)
    size = result.size
    axes.set_title(title or f"{result.settings.summary()}\nlesion {size.volume_mm3:.0f} mm³, {size.length_mm:.1f} mm long, "
                   f"{size.width_mm:.1f} mm wide ({result.site})", fontsize=10)
    _draw_course(course_axes, result)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi)
    return path


def _line(color: str, style: str, label: str, width: float = 2.0):
    from matplotlib.lines import Line2D

    return Line2D([], [], color=color, linestyle=style, lw=width, label=label)


def _nerve_on_plane(result: LesionResult, scene: Scene) -> np.ndarray | None:
    """The target's centreline in plane coordinates (along, across) where it is near the plane."""
    grid = result.grid
    points = np.asarray(scene.structure(result.target_id).field.points_mm, dtype=float)
    fine = np.vstack([np.linspace(a, b, 10, endpoint=False) for a, b in zip(points[:-1], points[1:])] + [points[-1:]])
    local = grid.local_from_patient(fine)
    ax, ay = grid.axis_local_mm
    plane = np.column_stack([local[:, 2] - grid.tip_local_mm, local[:, 0] - ax])
    near = np.abs(local[:, 1] - ay) <= NERVE_SLAB_MM
    if not near.any():
        return None
    plane[~near] = np.nan  # breaks the line where the nerve leaves the slab
    return plane


def _draw_course(axes, result: LesionResult) -> None:
    course = result.time_course
    unit = "%" if result.modality == "chemical" else "°C"
    names = {_PROBE_LABEL[result.modality]: ("probe" if result.modality != "chemical" else "at the tip", "black", "-"),
             "beyond_tip_1mm_" + ("pct" if unit == "%" else "c"): ("1 mm beyond the tip", "tab:red", "-"),
             "lateral_2mm_" + ("pct" if unit == "%" else "c"): ("2 mm beside the active tip", "tab:blue", "-")}
    for name, (label, color, style) in names.items():
        if name in course.series:
            axes.plot(course.time_s, course.series[name], color=color, linestyle=style, label=label)
    if result.modality == "rf":
        axes.axhline(50.0, color="deepskyblue", lw=0.8, linestyle="--", label="50 °C")
    if result.modality == "cryo":
        axes.axhline(result.settings.lethal_c, color="gray", lw=0.8, linestyle="--", label=f"{result.settings.lethal_c:g} °C")
        axes.axhline(0.0, color="deepskyblue", lw=0.8, linestyle="--", label="0 °C")
    axes.set_xlabel("time (s)")
    axes.set_ylabel(f"value ({unit})")
    axes.set_title("time course", fontsize=10)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)


def render_lesion_in_scene(scene: Scene, needle: Needle, result: LesionResult, path: str | Path, *,
                           view: str = "posterior_oblique_right", extent_mm: float = 20.0,
                           size: tuple[int, int] = (1100, 900), title: str | None = None) -> Path:
    """Render the lesion's surface (translucent red) round ``needle`` among the bones and nerves
    within ``extent_mm`` of the tip, the target in magenta, and save a PNG."""
    import pyvista as pv

    from simulator.report.anatomy_views import KIND_COLORS, _caption, _place_camera, _plotter, _save

    kinds = ("vertebra", "sacrum", "disc", "root", "ganglion", "ventral_ramus", "dorsal_ramus", "medial_branch", "ligament")
    plotter = _plotter(size)
    tip = needle.tip_mm
    for structure_id in scene.ids_near(tip[None], extent_mm, kinds=kinds):
        structure = scene.structure(structure_id)
        color = "magenta" if structure_id == result.target_id else KIND_COLORS[structure.kind]
        bone = structure.kind in ("vertebra", "sacrum")
        plotter.add_mesh(structure.mesh.to_pyvista(), color=color, smooth_shading=True, opacity=0.35 if bone else 1.0)
    active_start, _ = needle.active_segment_mm
    back = min(float(np.linalg.norm(active_start - needle.entry_mm)), extent_mm * 1.5)
    for start, end, color in ((active_start - back * needle.direction, active_start, "dimgray"), (active_start, tip, "black")):
        length = float(np.linalg.norm(end - start))
        if length > 1e-6:
            plotter.add_mesh(pv.Cylinder(center=0.5 * (start + end), direction=end - start, radius=needle.model.radius_mm,
                                         height=length, resolution=24), color=color, smooth_shading=True)
    mesh = result.mesh()
    if mesh.n_faces:
        plotter.add_mesh(mesh.to_pyvista(), color="orangered", opacity=0.45, smooth_shading=True)
    _place_camera(plotter, view, tip, extent_mm * 0.6)
    _caption(plotter, title or f"{result.settings.summary()}: lesion (orange-red) {result.volume_mm3:.0f} mm³; "
                      f"{result.target_length_mm or 0.0:.1f} mm of {result.target_id} (magenta) inside", font_size=11)
    return _save(plotter, path)
