"""Where is the needle? Distances, parallelism and a verdict against a target nerve.

:func:`assess` answers what an expert looking over the trainee's shoulder would say: how far
the tip and the active (uninsulated) part are from the target nerve, how parallel the electrode
lies to it, which nerve the tip is really at (naming a wrong level or a wrong side), how close
the needle comes to every critical structure, and a verdict with its reason.

Distances are surface to surface in mm: the nerve's surface (its tube) to the needle's surface
(its axis minus the shaft radius); a negative distance means the needle touches or pierces it.

Thresholds (design values, stated with their reasons):

- :data:`ON_TARGET_MM` = 2 mm: a conventional RF lesion extends about 2 mm beyond the electrode
  radially (Cohen et al., Anesth Analg 2011; procedure.md step 9), so a nerve farther than that
  from the active tip may survive the lesion.
- :data:`PARALLEL_DEG` = 20°: the electrode must lie along the nerve (Lau et al., Pain Med
  2004); 20° is the scoring tolerance of procedure.md (checklist item 5).
- :data:`DANGER_MM` = 1 mm: a critical structure pierced by the shaft, or within 1 mm of the
  active tip (where a lesion or an injection would reach it).
- :data:`NEAR_MM` = 10 mm: within a centimetre the operator is working in the right place and
  adjusts; farther the needle is somewhere else.

Examples
--------
>>> report = assess(scene, needle, "medial_branch_L4_right")        # doctest: +SKIP
>>> report.verdict, report.reason                                   # doctest: +SKIP
('on target', 'the active tip lies 0.4 mm from medial_branch_L4_right, 12° from parallel')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.errors import ParameterError
from simulator.fields import TubeField
from simulator.needle import Needle
from simulator.scene import Scene

__all__ = ["assess", "nerve_distances", "same_nerve", "TargetingReport", "StructureDistance", "NERVE_KINDS", "VERDICTS",
           "ON_TARGET_MM", "PARALLEL_DEG", "DANGER_MM", "NEAR_MM"]

ON_TARGET_MM = 2.0
PARALLEL_DEG = 20.0
DANGER_MM = 1.0
NEAR_MM = 10.0
#: Critical structures farther than this from the whole needle are left out of the report (mm):
#: beyond it nothing the needle does can reach them, and skipping them keeps a report fast.
CRITICAL_RANGE_MM = 20.0
#: Nerves farther than this from the tip are not candidates for "the nerve the tip is at" (mm).
NERVE_SEARCH_MM = 30.0
#: Sampling step along the shaft and the active tip (mm).
_SHAFT_STEP_MM = 1.0
_ACTIVE_STEP_MM = 0.25

#: Every kind of nerve in the scene; any of them may be a procedure's target.
NERVE_KINDS: tuple[str, ...] = ("medial_branch", "dorsal_ramus", "root", "ganglion", "ventral_ramus")
#: Nerves of one family stand for each other at another level: a dorsal ramus and its medial
#: branch (the facet nerves), or a root, its ganglion and its ventral ramus (the spinal nerve).
_FAMILY = {"medial_branch": "facet", "dorsal_ramus": "facet", "root": "spinal", "ganglion": "spinal",
           "ventral_ramus": "spinal"}
#: The verdicts, from worst to best.
VERDICTS: tuple[str, ...] = ("in danger", "wrong side", "wrong level", "off target", "near", "on target")


@dataclass(frozen=True)
class StructureDistance:
    """How close the needle comes to one structure (mm, surface to surface; negative: pierced)."""

    structure_id: str
    kind: str
    shaft_mm: float
    active_tip_mm: float


@dataclass(frozen=True)
class TargetingReport:
    """Where a needle is with respect to its target nerve.

    Parameters
    ----------
    target_id : str
        The nerve aimed at.
    tip_to_target_mm : float
        Tip (needle surface) to target (nerve surface), mm.
    active_to_target_mm : float
        Closest approach of the active tip to the target, mm (the tip for a plain needle).
    angle_deg : float
        Angle between the needle axis and the nerve's course along the active tip (the stretch
        within :data:`ON_TARGET_MM` of it around the closest point), 0-90°.
    closest_nerve_id : str or None
        The nerve nearest the active tip (within :data:`NERVE_SEARCH_MM`).
    closest_nerve_mm : float or None
        Its distance from the active tip, mm.
    critical : tuple of StructureDistance
        Critical structures within :data:`CRITICAL_RANGE_MM` of the needle, nearest first.
    verdict : str
        One of :data:`VERDICTS`.
    reason : str
        One sentence a trainee can act on.
    """

    target_id: str
    tip_to_target_mm: float
    active_to_target_mm: float
    angle_deg: float
    closest_nerve_id: str | None
    closest_nerve_mm: float | None
    critical: tuple[StructureDistance, ...]
    verdict: str
    reason: str

    @property
    def parallel(self) -> bool:
        """Whether the electrode lies within :data:`PARALLEL_DEG` of the nerve."""
        return self.angle_deg <= PARALLEL_DEG


def assess(scene: Scene, needle: Needle, target_id: str) -> TargetingReport:
    """Judge ``needle`` against the nerve ``target_id`` (see the module notes for thresholds)."""
    target = _target(scene, target_id)
    radius = needle.model.radius_mm
    active = needle.active_points_mm(_ACTIVE_STEP_MM)
    shaft = needle.shaft_points_mm(_SHAFT_STEP_MM)

    field: TubeField = target.field  # type: ignore[assignment]
    _, arc, distances = field.closest_centerline_points(active)
    best = int(np.argmin(distances))
    active_to_target = float(distances[best]) - radius
    tip_to_target = float(distances[-1]) - radius
    angle = _angle_deg(field, needle, float(arc[best]))

    nearby = nerve_distances(scene, active, radius, NERVE_SEARCH_MM)
    closest_id, closest_mm = nearby[0] if nearby else (None, None)
    critical = _critical_distances(scene, shaft, active, radius)
    verdict, reason = _verdict(scene, needle, target.id, active_to_target, angle, closest_id, closest_mm, critical)
    return TargetingReport(target.id, tip_to_target, active_to_target, angle, closest_id, closest_mm, critical,
                           verdict, reason)


# -- the parts of a report -----------------------------------------------------------------------
def _target(scene: Scene, target_id: str):
    structure = scene.structure(target_id)  # unknown ids: an error naming the closest ones
    if structure.kind not in NERVE_KINDS:
        raise ParameterError("target_id", target_id, "a nerve: " + ", ".join(f"{kind}_<level>_<side>" for kind in NERVE_KINDS))
    return structure


def _angle_deg(field: TubeField, needle: Needle, closest_arc_mm: float) -> float:
    """Angle (0-90°) between the needle and the course of the nerve along its active tip.

    The course is the principal direction of the stretch of nerve within :data:`ON_TARGET_MM`
    (a lesion's reach) of the active tip around the closest point, so a bend of the nerve just
    beyond the lesion does not count; at least 2 mm either side of the closest point, so one short
    segment's wiggle does not count either.
    """
    points = field.points_mm
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    start, tip = needle.active_segment_mm
    axis = tip - start
    length = float(np.linalg.norm(axis))
    along = np.clip((points - start) @ axis / max(length**2, 1e-12), 0.0, 1.0) if length > 0 else np.zeros(len(points))
    gap = np.linalg.norm(points - (start + along[:, None] * axis), axis=1) - field.radii_mm - needle.model.radius_mm
    within = (gap <= max(float(gap.min()), 0.0) + ON_TARGET_MM) | (np.abs(arc - closest_arc_mm) <= 2.0)
    # The contiguous run of such points around the closest one.
    center = int(np.argmin(np.abs(arc - closest_arc_mm)))
    outside = np.nonzero(~within)[0]
    first = int(outside[outside < center].max()) + 1 if np.any(outside < center) else 0
    last = int(outside[outside > center].min()) - 1 if np.any(outside > center) else len(points) - 1
    stretch = points[first: last + 1]
    course = np.linalg.svd(stretch - stretch.mean(axis=0), full_matrices=False)[2][0]
    return float(np.degrees(np.arccos(np.clip(abs(course @ needle.tip_direction), 0.0, 1.0))))


def nerve_distances(scene: Scene, active_mm: np.ndarray, radius_mm: float, reach_mm: float) -> list[tuple[str, float]]:
    """(nerve id, distance in mm) of every nerve within ``reach_mm`` of the active tip, nearest first.

    ``active_mm`` are points along the active tip (:meth:`Needle.active_points_mm`) and
    ``radius_mm`` the needle's radius: distances are surface to surface.
    """
    found = []
    for nerve_id in scene.ids_near(active_mm, reach_mm, kinds=NERVE_KINDS):
        distance = float(scene.structure(nerve_id).field.signed_distance(active_mm).min()) - radius_mm
        if distance <= reach_mm:
            found.append((nerve_id, distance))
    return sorted(found, key=lambda item: item[1])


def same_nerve(scene: Scene, nerve_id: str, other_id: str) -> bool:
    """Whether two ids are one nerve for the patient: the same, or of one family (:data:`_FAMILY`)
    at the same level and side (the L4 dorsal ramus and the L4 medial branch)."""
    a, b = scene.structure(nerve_id), scene.structure(other_id)
    return nerve_id == other_id or (_FAMILY[a.kind] == _FAMILY[b.kind] and (a.level, a.side) == (b.level, b.side))


def _critical_distances(scene: Scene, shaft: np.ndarray, active: np.ndarray, radius: float) -> tuple[StructureDistance, ...]:
    found = []
    for structure_id in scene.ids_near(shaft, CRITICAL_RANGE_MM, role="critical"):
        structure = scene.structure(structure_id)
        # One query for both point sets: each field call has a fixed cost.
        distances = structure.field.signed_distance(np.vstack([shaft, active])) - radius
        shaft_mm = float(distances[: len(shaft)].min())
        if shaft_mm > CRITICAL_RANGE_MM:
            continue
        found.append(StructureDistance(structure_id, structure.kind, shaft_mm, float(distances[len(shaft):].min())))
    return tuple(sorted(found, key=lambda d: d.shaft_mm))


def _verdict(scene: Scene, needle: Needle, target_id: str, active_mm: float, angle: float,
             closest_id: str | None, closest_mm: float | None, critical: tuple[StructureDistance, ...]) -> tuple[str, str]:
    critical = tuple(c for c in critical if c.structure_id != target_id)  # a root may be the target
    pierced = [c for c in critical if c.shaft_mm < 0.0]
    if pierced:
        names = ", ".join(c.structure_id for c in pierced)
        return "in danger", f"the needle has pierced {names}"
    threatened = [c for c in critical if c.active_tip_mm < DANGER_MM]
    if threatened:
        worst = min(threatened, key=lambda c: c.active_tip_mm)
        return "in danger", (f"the active tip is {worst.active_tip_mm:.1f} mm from {worst.structure_id} "
                             f"(at least {DANGER_MM:g} mm needed)")
    target = scene.structure(target_id)
    if closest_id is not None and closest_mm is not None and closest_mm < active_mm and closest_mm <= NEAR_MM:
        other = scene.structure(closest_id)
        # Another nerve of the target's family (not its own ramus or branch) is a wrong level or side.
        if _FAMILY[other.kind] == _FAMILY[target.kind] and not same_nerve(scene, closest_id, target_id):
            which = "wrong side" if other.side != target.side else "wrong level"
            return which, (f"the tip is at {closest_id} ({closest_mm:.1f} mm), not {target_id} ({active_mm:.1f} mm): "
                           f"{which}")
    needs_parallel = needle.model.kind == "rf_cannula"
    if active_mm <= ON_TARGET_MM and (angle <= PARALLEL_DEG or not needs_parallel):
        parallel = f", {angle:.0f}° from parallel" if needs_parallel else ""
        return "on target", f"the active tip lies {max(active_mm, 0.0):.1f} mm from {target_id}{parallel}"
    if active_mm <= ON_TARGET_MM:
        return "near", (f"the active tip is {max(active_mm, 0.0):.1f} mm from {target_id} but {angle:.0f}° from parallel "
                        f"(at most {PARALLEL_DEG:g}° for an RF lesion along the nerve)")
    if active_mm <= NEAR_MM:
        return "near", f"the active tip is {active_mm:.1f} mm from {target_id} (on target within {ON_TARGET_MM:g} mm)"
    return "off target", f"the active tip is {active_mm:.1f} mm from {target_id}"
