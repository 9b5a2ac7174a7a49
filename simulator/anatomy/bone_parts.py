"""Which part of a generated vertebra or of the sacrum a point lies on: "L4 transverse process".

A needle that meets bone is told what it hit the way a clinician names it. The part is read
from the point's position in the bone's own frame (x left, y posterior, z cranial; see
:mod:`simulator.anatomy.vertebra`) against the bone's dimensions: lateral to the pedicles at
their height is the transverse process, above them the superior articular process, and so on.
Boundaries between parts are a few millimetres wide, as on a real bone.
"""

from __future__ import annotations

import numpy as np

from simulator.anatomy.spine import SpineLayout

__all__ = ["bone_part", "bone_part_name"]


def bone_part(layout: SpineLayout, bone: str, point_mm: np.ndarray) -> str:
    """The part of ``bone`` at ``point_mm`` (patient frame, mm), e.g. ``"transverse process"``.

    Lumbar parts: vertebral body, pedicle, transverse process, superior articular process,
    inferior articular process, lamina, spinous process. Sacral parts: sacral body, sacral ala,
    S1 superior articular process, dorsal sacrum.
    """
    x, y, z = layout.poses[bone].local_from_patient(np.asarray(point_mm, dtype=float)[None])[0]
    lateral = abs(x)
    if bone == "sacrum":
        return _sacral_part(layout, lateral, y, z)
    s = layout.shapes[bone]
    pedicle_outer = s.pedicle_center_x + 0.5 * s.pedicle_width
    pedicle_top = s.pedicle_center_z + 0.5 * s.pedicle_height
    lamina_y = s.posterior_wall_y + s.canal_depth
    if y < s.posterior_wall_y + 1.0 * s.scale:
        return "vertebral body"
    if lateral < 6.0 * s.scale and y > lamina_y + 2.0 * s.scale:
        return "spinous process"
    # The transverse process begins beside the pedicle or, where it lies farther in (a real
    # bone's), lateral of the superior articular process's neck (the groove's wall); there its
    # root is thicker than the process (the needle's target, the junction, lies on it).
    wall = _groove_wall_mm(layout, bone, 1 if x > 0 else -1)
    at_height = abs(z - s.transverse_center_z) < 0.5 * s.transverse_height + 2.0 * s.scale
    if at_height and lateral > min(pedicle_outer + 2.0 * s.scale, wall) and (
            y < s.transverse_y + s.transverse_thickness
            or (lateral > wall and y < s.transverse_y + s.transverse_thickness + 6.0 * s.scale)):
        return "transverse process"
    if z > pedicle_top - 1.0 * s.scale and lateral > 0.5 * s.canal_width - 2.0 * s.scale:
        return "superior articular process"
    if y < s.isthmus_y + 4.0 * s.scale and lateral > 0.5 * s.canal_width - 1.0 * s.scale:
        return "pedicle"
    if z < -0.5 * s.mid_height + 2.0 * s.scale and lateral > 0.5 * s.canal_width - 4.0 * s.scale:
        return "inferior articular process"
    return "lamina"


def _groove_wall_mm(layout: SpineLayout, bone: str, side: int) -> float:
    """How far from the midline the neck of ``bone``'s superior articular process is on ``side``
    (its frame, mm; infinity where the bone has no groove there)."""
    if not layout.has_groove(bone, side):
        return float("inf")
    return abs(float(layout.groove(bone, side).wall_x))


def _sacral_part(layout: SpineLayout, lateral: float, y: float, z: float) -> str:
    s = layout.sacrum
    k = s.scale
    if y < s.posterior_wall_y + 1.0 * k and z > -0.5 * s.body_height - 4.0 * k and lateral < 0.5 * s.body_width:
        return "sacral body"
    if z > s.ala_top_z - 3.0 * k and abs(lateral - s.pedicle_center_x) < 9.0 * k and y > s.posterior_wall_y + 4.0 * k:
        return "S1 superior articular process"
    if z > -0.5 * s.body_height - 10.0 * k and lateral > 0.5 * s.body_width - 6.0 * k:
        return "sacral ala"
    if y < s.posterior_wall_y + 1.0 * k:
        return "sacral body"
    return "dorsal sacrum"


def bone_part_name(layout: SpineLayout, bone: str, point_mm: np.ndarray) -> str:
    """``"L4 transverse process"``, ``"sacral ala"`` (the sacral parts already name the bone);
    a bone without a frame in the layout (unlabelled bone of a CT) is named by its id."""
    if bone not in layout.poses:
        return bone.replace("_", " ")
    part = bone_part(layout, bone, point_mm)
    return part if bone == "sacrum" else f"{bone} {part}"
