"""Muscles, subcutaneous fat, skin and the body envelope, built around the spine.

- Psoas: a fusiform sweep along the side of the bodies, anterior to the transverse processes,
  growing from L1 to L5, then running down over the sacral ala; bone is cut out of it.
- Paraspinal muscles (erector spinae and multifidus): one sweep per side filling the gutter
  between spinous and transverse processes behind the laminae; bone is cut out of them.
- Body envelope: a torso ellipse (flattened where the prone patient lies on the table) joined
  smoothly to the paraspinal muscles and spinous processes, then offset outwards by the
  subcutaneous fat thickness and 2 mm of skin. Skin and fat are shells of this envelope.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.spatial import cKDTree

from simulator.anatomy import sdf
from simulator.anatomy.paths import smooth_path
from simulator.anatomy.spine import SpineLayout
from simulator.anatomy.sweep import Sweep

__all__ = ["Sweep", "SKIN_THICKNESS_MM", "psoas", "paraspinal", "body_envelope_function", "body_z_range"]

SKIN_THICKNESS_MM = 2.0


def psoas(layout: SpineLayout, side: int) -> Sweep:
    """Psoas major of one side (``side`` = +1 left, -1 right)."""
    scale = layout.parameters.size_scale
    controls, widths, depths = [], [], []
    growth = {"L1": 0.35, "L2": 0.55, "L3": 0.75, "L4": 0.92, "L5": 1.0}
    for level in layout.lumbar_levels:
        shape, pose = layout.shapes[level], layout.poses[level]
        g = growth[level]
        half_width, half_depth = (7.0 + 13.0 * g) * scale, (8.0 + 12.0 * g) * scale
        x = side * (0.5 * shape.body_width + half_width - 6.0 * g)
        controls.append(pose.patient_from_local(np.array([[x, -4.0 * g, 0.0]]))[0])
        widths.append(half_width)
        depths.append(half_depth)
    if layout.sacrum is not None:
        sacrum, pose = layout.sacrum, layout.poses["sacrum"]
        controls.append(pose.patient_from_local(np.array([[side * (0.5 * sacrum.ala_span + 2.0), -0.5 * sacrum.body_depth - 14.0, -25.0]]))[0])
        widths.append(20.0 * scale)
        depths.append(18.0 * scale)
    first = layout.lumbar_levels[0]
    top = layout.poses[first].patient_from_local(np.array([[side * 0.5 * layout.shapes[first].body_width, 0.0,
                                                            0.5 * layout.shapes[first].mid_height + 4.0]]))[0]
    return Sweep.through(np.vstack([top, controls]), [4.0 * scale] + widths, [5.0 * scale] + depths)


def paraspinal(layout: SpineLayout, side: int) -> Sweep:
    """Erector spinae and multifidus of one side, as one muscle mass."""
    scale = layout.parameters.size_scale
    controls, widths, depths = [], [], []
    for level in layout.lumbar_levels:
        shape, pose = layout.shapes[level], layout.poses[level]
        center = np.array([[side * 0.36 * shape.transverse_span, shape.posterior_wall_y + 18.0 * scale, 0.0]])
        controls.append(pose.patient_from_local(center)[0])
        widths.append(0.36 * shape.transverse_span + 4.0 * scale)
        depths.append(19.0 * scale)
    if layout.sacrum is not None:
        sacrum, pose = layout.sacrum, layout.poses["sacrum"]
        for z, shrink in ((0.0, 0.9), (-45.0, 0.6)):
            controls.append(pose.patient_from_local(np.array([[side * 26.0 * scale, sacrum.posterior_wall_y + 34.0 * scale, z]]))[0])
            widths.append(28.0 * scale * shrink)
            depths.append(17.0 * scale * shrink)
    first = layout.shapes[layout.lumbar_levels[0]]
    top = layout.poses[layout.lumbar_levels[0]].patient_from_local(np.array([[side * 0.36 * first.transverse_span,
                                                                              first.posterior_wall_y + 18.0 * scale, 40.0]]))[0]
    return Sweep.through(np.vstack([top, controls]), [widths[0]] + widths, [depths[0]] + depths)


def body_z_range(layout: SpineLayout) -> tuple[float, float]:
    """The modelled body segment: 45 mm above L1's top to 35 mm below the sacrum (mm).

    On a fitted spine without L1 or the sacrum: 45 mm above its highest lumbar vertebra, and
    80 mm below its lowest (as far as the sacrum would reach below L5).
    """
    first, last = layout.lumbar_levels[0], layout.lumbar_levels[-1]
    top = layout.poses[first].patient_from_local(np.array([[0.0, 0.0, 0.5 * layout.shapes[first].mid_height]]))[0][2] + 45.0
    if layout.sacrum is not None:
        bottom = layout.poses["sacrum"].patient_from_local(np.array([[0.0, 0.0, -0.5 * layout.sacrum.body_height - 62.0]]))[0][2] - 35.0
    else:
        bottom = layout.poses[last].patient_from_local(np.array([[0.0, 0.0, -0.5 * layout.shapes[last].mid_height]]))[0][2] - 80.0
    return bottom, top


def reference_level(layout: SpineLayout) -> str:
    """The lumbar level the torso is placed from: L3, or the middle one of a fitted spine without it."""
    levels = layout.lumbar_levels
    return "L3" if "L3" in levels else levels[len(levels) // 2]


def core_function(layout: SpineLayout, muscles: list[Sweep], grow_mm: float = 0.0) -> Callable[[np.ndarray], np.ndarray]:
    """The body's core (torso, back muscles, spinous ridge, smoothly joined), grown by ``grow_mm``.

    Each piece is grown before the smooth union (ellipses by their semi-axes, the ridge by its
    radius), which keeps the grown surface at ``grow_mm`` from the core's surface also where
    pieces blend; growing a smooth union's level set instead would not.
    """
    scale = layout.parameters.size_scale
    l3 = layout.shapes[reference_level(layout)]
    # Torso core: flank-to-flank 280 mm, abdomen 130 mm in front of the L3 body centre
    # (fat added on top); its back is shaped by the paraspinal muscles and spinous processes.
    core_center_y = -130.0 * scale + 100.0 * scale
    spinous_tips = [layout.poses[level].patient_from_local(np.array([[0.0, s.posterior_wall_y + s.spinous_length - 4.0, -0.2 * s.mid_height]]))[0]
                    for level, s in layout.shapes.items()]
    ridge = smooth_path(np.array(spinous_tips), 2.0)
    ridge_tree = cKDTree(ridge)
    grown = [muscle.grown(grow_mm) for muscle in muscles]

    def core(points: np.ndarray) -> np.ndarray:
        x, y, _ = points.T
        torso = sdf.ellipse_2d(x, y - core_center_y, 140.0 * scale + grow_mm, 112.0 * scale + grow_mm)
        torso = sdf.smooth_intersection(torso, y - (l3.posterior_wall_y + 28.0 * scale + grow_mm), 30.0)
        result = torso
        for muscle in grown:
            result = sdf.smooth_union(result, muscle.distance(points), 30.0)
        _, nearest = ridge_tree.query(points)
        return sdf.smooth_union(result, np.linalg.norm(points - ridge[nearest], axis=1) - 6.0 - grow_mm, 12.0)

    return core


def trunk_limits(layout: SpineLayout, grow_mm: float) -> Callable[[np.ndarray], np.ndarray]:
    """The modelled segment of the trunk: cut above and below, flattened on the table (prone)."""
    scale = layout.parameters.size_scale
    bottom, top = body_z_range(layout)
    table_y = -130.0 * scale - 12.0 * scale + 15.0 - grow_mm  # belly flattened by 15 mm

    def limits(points: np.ndarray) -> np.ndarray:
        caps = np.maximum(points[:, 2] - (top + grow_mm), (bottom - grow_mm) - points[:, 2])
        # The belly's edge on the table and the cut ends are rounded (20 and 10 mm).
        return sdf.smooth_intersection(table_y - points[:, 1], caps, 10.0)

    return limits


def body_envelope_function(layout: SpineLayout, muscles: list[Sweep]) -> Callable[[np.ndarray], np.ndarray]:
    """Signed distance to the body's outer (skin) surface, in mm: the core grown by fat and skin."""
    offset = layout.parameters.fat_thickness_mm + SKIN_THICKNESS_MM
    core = core_function(layout, muscles, offset)
    limits = trunk_limits(layout, 0.0)

    return lambda points: sdf.smooth_intersection(core(points), limits(points), 20.0)


def fat_inner_function(layout: SpineLayout, muscles: list[Sweep]) -> Callable[[np.ndarray], np.ndarray]:
    """Signed distance to the surface under the subcutaneous fat (the core), within the trunk.

    Its cuts lie 3 mm inside the body's, so the fat layer is closed at the table and the ends.
    """
    core = core_function(layout, muscles, 0.0)
    limits = trunk_limits(layout, -3.0)
    return lambda points: sdf.smooth_intersection(core(points), limits(points), 20.0)
