"""Great vessels in front of the lumbar spine and the lumbar segmental arteries.

Placement (anatomy.md §3): the aorta runs left-anterior of the bodies and bifurcates over the
L4 body (67 % of 441 MRI); the inferior vena cava runs right-anterior and its confluence lies
at the L4-L5 disc; infrarenal aorta inner diameter 16.5 mm, common iliac arteries 8.5-9.8 mm
(Ann Vasc Surg 2019). Lumbar arteries leave the back of the aorta at each of L1-L4, wrap round
the waist of the body and reach the intervertebral foramen. Diameters of the IVC (about 20 mm)
and the lumbar arteries (about 2.5 mm) are assumptions pending a sourced value.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from simulator.anatomy.morphometry import LUMBAR_LEVELS
from simulator.anatomy.paths import TubeSpec, clear, smooth_path
from simulator.anatomy.spine import SIDES, SpineLayout

__all__ = ["build_vessels"]


def build_vessels(layout: SpineLayout, bone: Callable[[np.ndarray], np.ndarray]) -> list[TubeSpec]:
    """Vessel tubes; ``bone`` is the signed distance (mm) to the nearest bone."""
    scale = layout.parameters.size_scale
    aorta_r, iliac_artery_r = 9.0 * scale, 4.8 * scale
    cava_r, iliac_vein_r = 10.0 * scale, 6.5 * scale
    lumbar_r = 1.25 * scale


    def in_front(level: str, x_fraction: float, gap: float, radius: float, z: float) -> np.ndarray:
        shape, pose = layout.shapes[level], layout.poses[level]
        x = x_fraction * shape.body_width
        # Front of the elliptic body at this x, then the vessel's radius and a gap.
        front = -(0.5 * shape.body_depth + 3.0) * np.sqrt(max(1.0 - (2 * x / shape.body_width) ** 2, 0.0)) + 3.0
        return pose.patient_from_local(np.array([[x, front - gap - radius, z]]))[0]

    tubes: list[TubeSpec] = []
    # Aorta: L1 to the bifurcation in the lower third of L4.
    aorta_controls = [in_front("L1", 0.2, 2.0, aorta_r, 0.5 * layout.shapes["L1"].mid_height + 25.0)]
    aorta_controls += [in_front(level, 0.2, 2.0, aorta_r, 0.0) for level in ("L1", "L2", "L3")]
    bifurcation = in_front("L4", 0.15, 2.0, aorta_r, -0.25 * layout.shapes["L4"].mid_height)
    aorta = smooth_path(np.array(aorta_controls + [bifurcation]), 1.0)
    tubes.append(TubeSpec("aorta", "artery", "L1", "", aorta, np.full(len(aorta), aorta_r)))
    sacrum_pose = layout.poses["sacrum"]
    sacrum = layout.sacrum
    for side_name, side in SIDES.items():
        over_l5 = in_front("L5", 0.3 * side, 3.0, iliac_artery_r, 0.0) + np.array([0.0, -6.0, 0.0])
        pelvis = sacrum_pose.patient_from_local(np.array([[side * 0.42 * sacrum.ala_span, -0.5 * sacrum.body_depth - 25.0, -30.0]]))[0]
        points = smooth_path(np.array([bifurcation - np.array([0, 0, aorta_r * 0.6]), over_l5, pelvis]), 1.0)
        points = clear(points, bone, iliac_artery_r + 1.0)
        tubes.append(TubeSpec(f"common_iliac_artery_{side_name}", "artery", "L5", side_name, points,
                               np.full(len(points), iliac_artery_r)))
    # Inferior vena cava: right-anterior, confluence at the L4-L5 disc.
    cava_controls = [in_front("L1", -0.25, 4.0, cava_r, 0.5 * layout.shapes["L1"].mid_height + 25.0)]
    cava_controls += [in_front(level, -0.25, 4.0, cava_r, 0.0) for level in ("L1", "L2", "L3", "L4")]
    confluence = 0.5 * (in_front("L4", -0.1, 4.0, cava_r, -0.5 * layout.shapes["L4"].mid_height)
                        + in_front("L5", -0.1, 4.0, cava_r, 0.5 * layout.shapes["L5"].mid_height))
    cava = smooth_path(np.array(cava_controls + [confluence]), 1.0)
    tubes.append(TubeSpec("inferior_vena_cava", "vein", "L1", "", cava, np.full(len(cava), cava_r)))
    for side_name, side in SIDES.items():
        # Veins lie behind (posterior to) the arteries and more medially.
        over_l5 = in_front("L5", 0.22 * side, 1.5, iliac_vein_r, -5.0)
        pelvis = sacrum_pose.patient_from_local(np.array([[side * 0.36 * sacrum.ala_span, -0.5 * sacrum.body_depth - 12.0, -38.0]]))[0]
        points = smooth_path(np.array([confluence - np.array([0, 0, cava_r * 0.6]), over_l5, pelvis]), 1.0)
        points = clear(points, bone, iliac_vein_r + 1.0)
        tubes.append(TubeSpec(f"common_iliac_vein_{side_name}", "vein", "L5", side_name, points,
                               np.full(len(points), iliac_vein_r)))
    # Lumbar arteries: from the back of the aorta round the waist of L1-L4 towards the foramen.
    for level in LUMBAR_LEVELS[:4]:
        shape, pose = layout.shapes[level], layout.poses[level]
        origin = pose.local_from_patient(in_front(level, 0.2, 2.0, aorta_r, 0.0)[None])[0] + np.array([0, aorta_r * 0.5, 0])
        a, b = 0.5 * shape.body_width * 0.94 + lumbar_r + 1.0, 0.5 * shape.body_depth * 0.94 + lumbar_r + 1.0
        for side_name, side in SIDES.items():
            angles = np.radians([-70, -35, 0, 30])  # from front-lateral to back-lateral of the body
            ring = np.column_stack([side * a * np.cos(angles), b * np.sin(angles), np.zeros(4)])
            controls = np.vstack([origin, ring, [side * (0.5 * shape.canal_width + 10.0), shape.posterior_wall_y + 2.0,
                                                 -0.5 * shape.mid_height - 2.0]])
            points = clear(smooth_path(pose.patient_from_local(controls), 1.0), bone, lumbar_r + 0.5)
            tubes.append(TubeSpec(f"lumbar_artery_{level}_{side_name}", "artery", level, side_name, points,
                                   np.full(len(points), lumbar_r)))
    return tubes
