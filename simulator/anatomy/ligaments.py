"""Mamillo-accessory ligaments: the roof of the notch the medial branch passes through.

On each lumbar vertebra a short ligament bridges the mamillary process (on the posterior border
of the superior articular process) and the accessory process (on the back of the transverse
process's root). The medial branch of the level above runs in the notch beneath it (Bogduk,
Spine 1981;6:162; Saito et al., Anesthesiology 2013;118:88); the ligament covers the nerve only
there (Tran et al., Reg Anesth Pain Med 2022). Here each ligament is a tube from the tip of one
process to the tip of the other, arching just over the medial branch, so the branch always lies
between bone and ligament.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from simulator.anatomy.morphometry import LUMBAR_LEVELS
from simulator.anatomy.paths import TubeSpec, outward_normal, route
from simulator.anatomy.spine import SIDES, SpineLayout
from simulator.anatomy.vertebra import mamillary_and_accessory
from simulator.fields import TubeField

__all__ = ["build_mamillo_accessory_ligaments", "LIGAMENT_RADIUS_MM"]

#: Half the thickness of the ligament (mm). Assumption: a band about 1.5 mm thick; the space
#: under it is mostly fat, the nerve filling about 3 % of it (Lynton & Giles 1991).
LIGAMENT_RADIUS_MM = 0.75
#: Gap kept between the ligament and the medial branch under it, and between it and bone (mm).
GAP_MM = 0.3


def build_mamillo_accessory_ligaments(layout: SpineLayout, medial_branches: dict[str, TubeSpec],
                                      bone: Callable[[np.ndarray], np.ndarray]) -> list[TubeSpec]:
    """One ligament per lumbar vertebra and side, over the medial branch that crosses it.

    Parameters
    ----------
    layout : SpineLayout
        Bone shapes and poses.
    medial_branches : dict of str to TubeSpec
        Medial branches by id (``medial_branch_L3_left`` crosses L4 on the left).
    bone : callable
        Signed distance (mm) to the nearest bone, at points in the patient frame.
    """
    ligaments = []
    for level in layout.lumbar_levels:
        pose = layout.poses[level]
        above = LUMBAR_LEVELS[LUMBAR_LEVELS.index(level) - 1] if level != "L1" else None
        for side_name, side in SIDES.items():
            if not layout.has_groove(level, side):
                continue
            groove = layout.groove(level, side)
            (mamillary, mamillary_radii), (accessory, accessory_radii) = mamillary_and_accessory(layout.shapes[level], groove)
            # Attached to the tip (most posterior point) of each process.
            tips = pose.patient_from_local(np.array([mamillary + [0.0, mamillary_radii[1], 0.0],
                                                     accessory + [0.0, accessory_radii[1], 0.0]]))
            ends = tips + (LIGAMENT_RADIUS_MM + GAP_MM) * outward_normal(bone, tips)
            nerve = medial_branches.get(f"medial_branch_{above}_{side_name}") if above else None
            if nerve is None:
                obstacle, over = bone, ends.mean(axis=0)
            else:
                nerve_field = TubeField(nerve.points_mm, nerve.radii_mm)
                obstacle = lambda p, f=nerve_field: np.minimum(bone(p), f.signed_distance(p))  # noqa: E731
                over = _over_the_nerve(ends, nerve, bone)
            path, radii = route(np.array([ends[0], over, ends[1]]), obstacle, lambda f: np.full(len(f), LIGAMENT_RADIUS_MM),
                                margin_mm=0.0, spacing_mm=0.5)
            ligaments.append(TubeSpec(f"mamillo_accessory_ligament_{level}_{side_name}", "ligament", level, side_name,
                                      path, radii))
    return ligaments


def _over_the_nerve(ends: np.ndarray, nerve: TubeSpec, bone: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """The point the ligament passes through: just outside the nerve where it crosses the notch."""
    a, b = ends
    ab = b - a
    along = np.clip((nerve.points_mm - a) @ ab / (ab @ ab), 0.0, 1.0)
    distance_to_line = np.linalg.norm(nerve.points_mm - (a + along[:, None] * ab), axis=1)
    closest = int(np.argmin(distance_to_line))
    point = nerve.points_mm[closest]
    offset = nerve.radii_mm[closest] + LIGAMENT_RADIUS_MM + GAP_MM
    return point + offset * outward_normal(bone, point[None])[0]
