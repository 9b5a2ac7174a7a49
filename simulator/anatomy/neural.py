"""Nerves of the lumbar spine: dural sac, roots, ganglia, rami and medial branches.

Every nerve is a tube (:class:`~simulator.fields.TubeField`) whose centreline is built from
landmarks of the generated bones, in the patient frame:

- the root leaves the dural sac, runs down the lateral recess under the pedicle of its own
  level and reaches its dorsal root ganglion in the upper foramen (medial foraminal zone at
  L1-L4, lateral zone at L5: Silverstein et al. 2015);
- the ventral ramus continues anterolaterally and caudally into the psoas;
- the dorsal ramus runs back through the intertransverse space and divides about 3.5 mm above
  the transverse process of the level below (Zhang et al. 2015);
- the medial branch of Ln crosses the root of the transverse process of L(n+1), hugging the
  junction with its superior articular process, runs back along the lateral neck of that
  process, and turns medially under the mamillo-accessory ligament (Saito 2013; Tran 2022);
- the L5 dorsal ramus runs in the groove between the sacral ala and the S1 superior articular
  process; its medial branch hooks medially around the base of that process.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from simulator.anatomy.morphometry import MORPHOMETRY, SACRUM
from simulator.anatomy.spine import SIDES
from simulator.anatomy.paths import TubeSpec, arc_fraction, clear, hug, outward_normal, route, smooth_path, surface_point
from simulator.anatomy.sweep import Sweep
from simulator.anatomy.spine import SpineLayout

__all__ = ["build_dural_sac", "build_nerves", "junction_landmarks"]

#: Medial branch diameter (mm): a 1.0 mm tube, within the < 2 mm of Cohen et al. 2011.
MEDIAL_BRANCH_RADIUS_MM = 0.5
DORSAL_RAMUS_RADIUS_MM = 0.8
#: Distance kept between a nerve's axis and the bone it runs on (mm): its radius and a film of fat.
MEDIAL_BRANCH_CLEARANCE_MM = MEDIAL_BRANCH_RADIUS_MM + 0.45
DORSAL_RAMUS_CLEARANCE_MM = DORSAL_RAMUS_RADIUS_MM + 0.3


def build_dural_sac(layout: SpineLayout) -> Sweep:
    """The sac follows the canal from above L1 to its end at S2, tapering at the bottom."""
    controls, widths, depths = [], [], []
    ratio = {"L1": 0.70, "L2": 0.67, "L3": 0.64, "L4": 0.61, "L5": 0.58}  # Pierro 2017, 0.70 -> 0.56
    levels = layout.lumbar_levels
    for level in levels:
        shape = layout.shapes[level]
        center_y = shape.posterior_wall_y + 0.5 * shape.canal_depth
        for z in (0.5 * shape.mid_height + (8.0 if level == levels[0] else 0.0), 0.0, -0.5 * shape.mid_height):
            controls.append(layout.poses[level].patient_from_local(np.array([[0.0, center_y, z]]))[0])
            widths.append(0.5 * shape.canal_width * 0.72)
            depths.append(0.5 * shape.canal_depth * ratio[level])
    sacrum = layout.sacrum
    if sacrum is None:  # a fitted spine without its sacrum: the sac ends with the canal imported
        return Sweep.through(np.array(controls), widths, depths, spacing_mm=0.5, end_rounding_mm=2.0)
    # The sac ends at S2: from S1's endplate, down the canal.
    for below_endplate, taper in ((0.0, 1.0), (0.5 * sacrum.body_height, 0.8), (sacrum.body_height + 6.0, 0.45)):
        controls.append(layout.poses["sacrum"].patient_from_local(sacrum.canal_center(below_endplate)[None, :])[0])
        widths.append(0.5 * sacrum.canal_width * 0.65 * taper)
        depths.append(0.5 * sacrum.canal_depth * 0.56 * taper)
    return Sweep.through(np.array(controls), widths, depths, spacing_mm=0.5, end_rounding_mm=2.0)


def junction_landmarks(layout: SpineLayout) -> dict[str, np.ndarray]:
    """Bone landmarks the nerves are built on, found on the bone surfaces themselves.

    - ``sap_tp_junction_<L>_<side>`` for L2-L5: where the superior articular process meets the
      transverse process, on the back of the root of the transverse process just below its rounded
      upper border (where the bone faces at most 20° upwards), just lateral of the medial branch
      that runs down the neck groove
      (:func:`~simulator.anatomy.vertebra.neck_groove`).
    - ``ala_sap_groove_<side>``: likewise where the S1 superior articular process meets the
      sacral ala, on the back of the ala beside the groove the L5 dorsal ramus runs down
      (:func:`~simulator.anatomy.vertebra.sacral_groove`).

    A needle laid along the nerve from below and behind (the parallel technique) comes to rest on
    the bone at these points, beside the nerve.
    """
    landmarks: dict[str, np.ndarray] = {}
    for bone_id in _bones_below_a_lumbar_level(layout):
        pose = layout.poses[bone_id]

        def distance(points: np.ndarray, bone_id: str = bone_id) -> np.ndarray:
            return layout.bone_distance_local(bone_id, points)

        for side_name, side in SIDES.items():
            if not layout.has_groove(bone_id, side):
                continue
            groove = layout.groove(bone_id, side)
            k = layout.parameters.size_scale
            lateral = _landmark_beside_wall_mm(bone_id)
            name = f"ala_sap_groove_{side_name}" if bone_id == "sacrum" else f"sap_tp_junction_{bone_id}_{side_name}"
            try:
                on_bone = _back_below_border(distance, groove.wall_x + side * lateral * k, groove.apex, k)
            except ValueError:  # no bone in front of the search ray: an imported bone's odd shape
                continue  # left out (the importer reports it); the generated bones always have it
            landmarks[name] = pose.patient_from_local(on_bone[None])[0]
    return landmarks


def _landmark_beside_wall_mm(bone_id: str) -> float:
    """How far lateral of the groove's wall a junction landmark lies (mm at size factor 1): just
    lateral of the nerve that runs beside the wall, room for an 18 G needle."""
    nerve = (DORSAL_RAMUS_CLEARANCE_MM + DORSAL_RAMUS_RADIUS_MM if bone_id == "sacrum"
             else MEDIAL_BRANCH_CLEARANCE_MM + MEDIAL_BRANCH_RADIUS_MM)
    return nerve + 0.75


#: A medial branch passes within this distance (mm) of the point beside its junction landmark
#: (:func:`_beside_junction`); the generated bones' courses do (0.2-0.45 mm), a real bone's
#: groove found by the generator's rule may not, and the nerve is then routed through that point.
JUNCTION_PASS_TOLERANCE_MM = 0.75


def _beside_junction(layout: SpineLayout, bone_id: str, side: int, junction: np.ndarray,
                     bone: Callable[[np.ndarray], np.ndarray], clearance: float) -> np.ndarray:
    """Where the nerve runs beside a junction landmark (patient frame): at the groove's wall (the
    landmark's offset from it medially), moved onto the level of ``clearance`` from the bone."""
    pose = layout.poses[bone_id]
    local = pose.local_from_patient(junction[None])[0]
    local[0] -= side * _landmark_beside_wall_mm(bone_id) * layout.parameters.size_scale
    return hug(pose.patient_from_local(local[None]), bone, clearance)[0]


def _past_junction(path: np.ndarray, controls: np.ndarray, moving: slice, at_junction: np.ndarray,
                   bone: Callable[[np.ndarray], np.ndarray], clearance: float) -> np.ndarray:
    """``path`` (routed through ``controls``), or where it misses ``at_junction`` (a real bone's
    groove), the path again with the ``moving`` controls shifted as one so that it passes there:
    the nerve keeps its course (the needle's angles) and lies where the needle lands."""
    miss = np.linalg.norm(path - at_junction, axis=1)
    if miss.min() <= JUNCTION_PASS_TOLERANCE_MM:
        return path
    shifted = np.array(controls, dtype=float)
    shifted[moving] += at_junction - path[np.argmin(miss)]
    return clear(smooth_path(shifted, 0.7), bone, clearance)


def _bones_below_a_lumbar_level(layout: SpineLayout) -> list[str]:
    """The bones (L2-L5, sacrum) whose neck groove carries a nerve of the lumbar level above:
    both bones present (a fitted spine may lack some)."""
    return [bone for level in layout.lumbar_levels if (bone := layout.lower_bone(level)) is not None]


#: The bone a needle rests on faces at most this far upwards (deg): a needle coming up at up to
#: 70° caudal still meets it head-on instead of sliding over the rounded border above.
_BACK_FACE_ELEVATION_DEG = 20.0


def _back_below_border(distance: Callable[[np.ndarray], np.ndarray], x: float, apex: np.ndarray, k: float) -> np.ndarray:
    """The highest point of the back of a shelf (transverse process, ala) at ``x`` whose surface
    faces backwards within :data:`_BACK_FACE_ELEVATION_DEG` of horizontal (bone frame, mm)."""
    def outside(points: np.ndarray) -> np.ndarray:
        return -distance(points)

    forwards = np.array([0.0, -1.0, 0.0])
    for drop in np.arange(0.5, 8.0, 0.25) * k:
        point = surface_point(outside, np.array([x, apex[1] + 12.0 * k, apex[2] - drop]), forwards, 30.0 * k)
        normal = outward_normal(distance, point[None], step=0.1)[0]
        if np.degrees(np.arcsin(np.clip(normal[2], -1.0, 1.0))) <= _BACK_FACE_ELEVATION_DEG:
            return point
    raise RuntimeError(f"generator: no back face below the border at x = {x:.1f} mm")  # a generator bug


def _beside_process(layout: SpineLayout, bone: str, side: int, y: float, z: float, wall_x: float) -> np.ndarray:
    """The lateral face of the superior articular process above its shelf at height ``z`` and
    depth ``y`` (``bone``'s frame, mm): the first bone met coming medially from a little lateral of
    the groove's wall at ``wall_x`` (a real sacrum may have a lip of ala farther out), or from
    far out when that start is in bone."""
    outside = lambda p: -layout.bone_distance_local(bone, p)  # noqa: E731
    medially = np.array([-side, 0.0, 0.0])
    try:
        return surface_point(outside, np.array([wall_x + side * 6.0 * layout.parameters.size_scale, y, z]), medially, 80.0)
    except ValueError:
        return surface_point(outside, np.array([side * 80.0, y, z]), medially, 80.0)


def build_nerves(layout: SpineLayout, landmarks: dict[str, np.ndarray],
                 bone: Callable[[np.ndarray], np.ndarray]) -> list[TubeSpec]:
    """Roots, ganglia, rami and medial branches of L1-L5 and S1 on both sides.

    ``bone`` is the signed distance (mm) to the nearest bone, as the scene will answer it. On
    a spine fitted to imported bones only the levels present get nerves: a level's root and
    ventral ramus need its vertebra, its dorsal ramus and medial branch also the bone below
    (they run over it), the S1 nerves a sacrum with its S1 foramina (``sacral_channels_by_side``;
    not found on imported sacra).
    """
    scale = layout.parameters.size_scale
    nerves: list[TubeSpec] = []
    for level in layout.lumbar_levels:
        shape, pose = layout.shapes[level], layout.poses[level]
        m = MORPHOMETRY[level]
        root_r = 0.5 * m.root_diameter_mm * scale
        ganglion_r = 0.5 * m.ganglion_width_mm * scale
        lower = layout.lower_bone(level)
        pedicle_x_extent = shape.pedicle_width / np.cos(np.radians(shape.pedicle_angle_deg))
        # Medial foraminal zone at L1-L4 (Silverstein 2015). At L5 the ganglion is found in the
        # lateral zone; ours sits just medial to the pedicle's mid-line, where the generated L5
        # body (elliptic, 49 mm wide) is still in front of it (a known simplification).
        zone = 0.35 if level != "L5" else 0.4
        for side_name, side in SIDES.items():
            y0 = shape.posterior_wall_y
            pedicle_bottom = shape.pedicle_center_z - 0.5 * shape.pedicle_height
            # Against the back of the body (L5: closer, its foramen is the tightest).
            behind = 1.5 if level != "L5" else 0.5
            ganglion_center = np.array([side * (0.5 * shape.canal_width + zone * pedicle_x_extent),
                                        y0 + ganglion_r + behind, pedicle_bottom - ganglion_r - 1.5])
            # Lower roots leave more steeply (Hasegawa 1996).
            direction = np.array([side * 0.75, 0.0, -0.66]) if level != "L5" else np.array([side * 0.6, 0.0, -0.8])
            direction /= np.linalg.norm(direction)
            ganglion_start = ganglion_center - direction * 1.2 * ganglion_r
            ganglion_end = ganglion_center + direction * 1.2 * ganglion_r
            # Root and ganglion are routed as one nerve, from the sac down the lateral recess under
            # the pedicle into the foramen, clear of bone along its whole length.
            local = np.array([
                [side * 0.45 * 0.5 * shape.canal_width, y0 + 0.5 * shape.canal_depth, shape.pedicle_center_z + 0.5 * shape.pedicle_height + 4.0],
                [side * (0.5 * shape.canal_width - root_r - 1.5), y0 + root_r + 1.5, shape.pedicle_center_z],
                ganglion_start, ganglion_center, ganglion_end,
            ])
            controls = pose.patient_from_local(local)
            lengths = np.linalg.norm(np.diff(controls, axis=0), axis=1)
            g_begin, g_end = lengths[:2].sum() / lengths.sum(), 1.0

            def radius_at(u: np.ndarray, root_r=root_r, ganglion_r=ganglion_r, g_begin=g_begin) -> np.ndarray:
                inside = np.clip((u - g_begin) / (g_end - g_begin), 0.0, 1.0)
                return root_r + (ganglion_r - root_r) * np.sin(np.pi * inside) ** 0.7

            path, radii = route(controls, bone, radius_at)
            split = int(np.searchsorted(arc_fraction(path), g_begin))
            nerves.append(TubeSpec(f"root_{level}_{side_name}", "root", level, side_name, path[: split + 1],
                                    np.full(split + 1, root_r)))
            nerves.append(TubeSpec(f"ganglion_{level}_{side_name}", "ganglion", level, side_name, path[split:], radii[split:]))
            ganglion_end = pose.local_from_patient(path[-1:])[0]

            # Spinal nerve just outside the foramen, where the rami part.
            exit_local = ganglion_end + np.array([side * 4.0, -1.0, -3.0])
            exit_point = pose.patient_from_local(exit_local[None])[0]
            if level != "L5":  # laterally and down into the psoas
                course = [(10.0, -10.0, -10.0), (20.0, -24.0, -24.0), (28.0, -34.0, -42.0)]
            else:  # forwards over the sacral ala into the pelvis (the lumbosacral trunk)
                course = [(6.0, -14.0, -6.0), (10.0, -28.0, -18.0), (10.0, -38.0, -40.0)]
            ventral_local = np.array([ganglion_end, exit_local] + [exit_local + np.array([side * dx, dy, dz])
                                                                   for dx, dy, dz in course])
            ventral = clear(smooth_path(pose.patient_from_local(ventral_local), 1.0), bone, root_r + 0.4)
            nerves.append(TubeSpec(f"ventral_ramus_{level}_{side_name}", "ventral_ramus", level, side_name,
                                    ventral, np.full(len(ventral), root_r * 0.9)))

            if lower is None or not layout.has_groove(lower, side):
                continue  # the bone its dorsal ramus runs over is not there (or its groove was not found)
            if lower != "sacrum":
                nerves.extend(_lumbar_dorsal_ramus(layout, level, lower, side_name, side, exit_point, landmarks, bone))
            else:
                nerves.extend(_l5_dorsal_ramus(layout, side_name, side, exit_point, landmarks, bone))
    if layout.sacrum is not None and layout.sacral_channels_by_side is not None:
        nerves.extend(_s1_nerves(layout))
    return nerves


def _faired(points: np.ndarray, bone: Callable[[np.ndarray], np.ndarray], clearance: float) -> np.ndarray:
    """Re-smooth a path that was pushed out of bone, so it has no kinks, and clear it again.

    A kink tighter than the nerve's radius would make its tube fold on itself.
    """
    controls = np.vstack([points[::4], points[-1:]])
    return clear(smooth_path(controls, 1.0), bone, clearance)


def _lumbar_dorsal_ramus(layout, level, lower, side_name, side, exit_point, landmarks, bone) -> list[TubeSpec]:
    lower_pose = layout.poses[lower]
    lower_shape = layout.shapes[lower]
    groove = layout.groove(lower, side)
    bifurcation_above = MORPHOMETRY[level].dorsal_ramus_bifurcation_mm * layout.parameters.size_scale
    r_mb, r_dr = MEDIAL_BRANCH_RADIUS_MM, DORSAL_RAMUS_RADIUS_MM
    clearance = MEDIAL_BRANCH_CLEARANCE_MM
    top, middle_y = groove.apex[2], lower_shape.transverse_y
    # Bifurcation: above the transverse process, just lateral to the neck of the articular process.
    bifurcation = np.array([groove.wall_x + side * 3.0, middle_y - 1.0, top + bifurcation_above + 1.0])
    exit_local = lower_pose.local_from_patient(exit_point[None])[0]
    dorsal_local = np.array([exit_local, 0.5 * (exit_local + bifurcation) + np.array([side * 3.0, 2.0, 0.0]), bifurcation])
    dorsal = clear(smooth_path(lower_pose.patient_from_local(dorsal_local), 1.0), bone, DORSAL_RAMUS_CLEARANCE_MM)
    # Medial branch: across the upper border of the transverse process in the corner against the
    # superior articular process, down the groove beside the neck of the process, and out of the
    # notch medially round its back onto the lamina.
    slope = np.radians(groove.slope_deg)
    # Off the groove's line by the clearance: laterally from the neck, and up off its floor.
    beside = np.array([side * clearance, clearance * np.sin(slope), clearance * np.cos(slope)])
    crossing = np.array([[groove.wall_x + side * clearance, middle_y, top + clearance]])
    down = groove.point(np.array([0.0, 0.35, 0.7, 1.0]) * groove.length_mm) + beside
    notch = groove.notch
    around = np.array([notch + np.array([-side * 2.0, 4.0, -2.5]), notch + np.array([-side * 8.0, 6.0, -5.0])])
    controls = np.vstack([lower_pose.patient_from_local(np.vstack([bifurcation, crossing, down])),
                          hug(lower_pose.patient_from_local(around), bone, clearance)])
    medial = clear(smooth_path(controls, 0.7), bone, clearance)
    junction = landmarks.get(f"sap_tp_junction_{lower}_{side_name}")
    if junction is not None:  # the crossing and the run down the groove
        medial = _past_junction(medial, controls, slice(1, 2 + len(down)),
                                _beside_junction(layout, lower, side, junction, bone, clearance), bone, clearance)
    return [
        TubeSpec(f"dorsal_ramus_{level}_{side_name}", "dorsal_ramus", level, side_name, dorsal, np.full(len(dorsal), r_dr)),
        TubeSpec(f"medial_branch_{level}_{side_name}", "medial_branch", level, side_name, medial, np.full(len(medial), r_mb)),
    ]


def _l5_dorsal_ramus(layout, side_name, side, exit_point, landmarks, bone) -> list[TubeSpec]:
    pose = layout.poses["sacrum"]
    groove = layout.groove("sacrum", side)
    r = DORSAL_RAMUS_RADIUS_MM
    clearance = DORSAL_RAMUS_CLEARANCE_MM
    # Over the ala into the corner against the S1 articular process, back along the process's
    # lateral face (parallel to its joint line) to the back of the ala, down the groove behind it,
    # and there the medial branch hooks medially round the process's caudal end onto the sacrum.
    slope = np.radians(groove.slope_deg)
    beside = np.array([side * clearance, clearance * np.sin(slope), clearance * np.cos(slope)])
    on_ala = _beside_process(layout, "sacrum", side, groove.apex[1] - 7.0, groove.apex[2] + 1.0, groove.wall_x) \
        + np.array([side * clearance, 0.0, 0.0])
    down = groove.point(np.array([0.0, 0.35, 0.7, 1.0]) * groove.length_mm) + beside
    controls = np.vstack([exit_point, hug(pose.patient_from_local(on_ala[None]), bone, clearance), pose.patient_from_local(down)])
    dorsal = clear(smooth_path(controls, 0.7), bone, clearance)
    junction = landmarks.get(f"ala_sap_groove_{side_name}")
    if junction is not None:  # the corner on the ala and the run down the groove
        dorsal = _past_junction(dorsal, controls, slice(1, 2 + len(down)),
                                _beside_junction(layout, "sacrum", side, junction, bone, clearance), bone, clearance)
    notch = groove.notch
    hook_local = np.array([notch + np.array([-side * 3.0, 2.0, -3.0]), notch + np.array([-side * 9.0, 3.0, -6.0]),
                           notch + np.array([-side * 15.0, 3.0, -9.0])])
    hook = hug(pose.patient_from_local(hook_local), bone, MEDIAL_BRANCH_CLEARANCE_MM)
    medial = clear(smooth_path(np.vstack([dorsal[-1], hook]), 0.7), bone, MEDIAL_BRANCH_CLEARANCE_MM)
    return [
        TubeSpec(f"dorsal_ramus_L5_{side_name}", "dorsal_ramus", "L5", side_name, dorsal, np.full(len(dorsal), r)),
        TubeSpec(f"medial_branch_L5_{side_name}", "medial_branch", "L5", side_name, medial,
                  np.full(len(medial), MEDIAL_BRANCH_RADIUS_MM)),
    ]


def _s1_nerves(layout: SpineLayout) -> list[TubeSpec]:
    sacrum, pose = layout.sacrum, layout.poses["sacrum"]
    scale = layout.parameters.size_scale
    root_r = 0.5 * SACRUM.root_diameter_mm * scale
    ganglion_r = 0.5 * SACRUM.ganglion_width_mm * scale
    channels = layout.sacral_channels_by_side
    nerves = []
    for side_name, side in SIDES.items():
        (inner, anterior, channel_r), (_, posterior, _) = channels[side_name]
        start = sacrum.canal_center(-6.0 * scale) + np.array([side * 3.0 * scale, 0.0, 0.0])  # 6 mm above S1's endplate
        # The S1 ganglion lies in the foramen: a third of the way along the anterior channel.
        axis = (anterior - inner) / np.linalg.norm(anterior - inner)
        ganglion_center = inner + axis * min(0.35 * np.linalg.norm(anterior - inner), 1.2 * ganglion_r + 2.0)
        g_local = np.linspace(ganglion_center - axis * 1.2 * ganglion_r, ganglion_center + axis * 1.2 * ganglion_r, 9)
        root_local = np.array([start, start + np.array([side * 2.0, 0.0, -0.5 * (start[2] - inner[2])]), inner, g_local[0]])
        root = smooth_path(pose.patient_from_local(root_local), 1.0)
        nerves.append(TubeSpec(f"root_S1_{side_name}", "root", "S1", side_name, root, np.full(len(root), root_r)))
        g_radii = root_r + (ganglion_r - root_r) * np.sin(np.linspace(0, np.pi, 9)) ** 0.7
        nerves.append(TubeSpec(f"ganglion_S1_{side_name}", "ganglion", "S1", side_name, pose.patient_from_local(g_local), g_radii))
        ventral = smooth_path(pose.patient_from_local(np.array([g_local[-1], anterior, anterior + np.array([side * 6.0, -8.0, -14.0])])), 1.0)
        nerves.append(TubeSpec(f"ventral_ramus_S1_{side_name}", "ventral_ramus", "S1", side_name, ventral,
                                np.full(len(ventral), root_r * 0.9)))
        dorsal = smooth_path(pose.patient_from_local(np.array([g_local[0], 0.5 * (g_local[0] + posterior), posterior])), 1.0)
        nerves.append(TubeSpec(f"dorsal_ramus_S1_{side_name}", "dorsal_ramus", "S1", side_name, dorsal,
                                np.full(len(dorsal), DORSAL_RAMUS_RADIUS_MM)))
    return nerves
