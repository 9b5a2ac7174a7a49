"""A rigid needle in the scene: entry on the skin, aim, advance, withdraw, re-aim.

Every action is a plain function that takes a :class:`Needle` (an immutable value) and returns
the new needle and the events the action raised, so the GUI, headless plans and replays can all
apply the same commands and get the same result. Several needles are several values.

Mechanics (design defaults, stated here):

- The needle is rigid and its shaft straight; its hub stays outside the skin, so the tip can go
  no deeper than the device's length. A curved cannula's active tip is bent off the shaft
  (:data:`simulator.devices.CURVE_DEG`) towards the side set by turning the hub
  (:func:`rotate`), which steers the tip without a new pass; the needle still advances along
  its shaft.
- Its direction can be changed freely only while the tip is within :data:`REAIM_DEPTH_MM` of
  the skin (the shaft still pivots in skin and fat). Deeper, it must be withdrawn first; a
  re-aim after the tip had gone deeper counts as a redirection (a new pass).
- Advancing into bone stops at the bone surface with a bone-contact event naming the part
  ("L4 transverse process"). Crossing the dural sac, a nerve, a vessel or a disc is allowed,
  as in life, and raises an event (CSF, paraesthesia, blood, disc puncture).

Examples
--------
>>> from simulator.scene import Scene                                             # doctest: +SKIP
>>> scene = Scene.load()                                                          # doctest: +SKIP
>>> entry = scene.landmark("pedicle_L4_right") + [0.0, 80.0, -30.0]              # doctest: +SKIP
>>> needle, events = insert(scene, "rf_18g_100mm_10mm", entry, aim_direction(entry, 30.0, 10.0))  # doctest: +SKIP
>>> needle, events = advance(scene, needle, 40.0)                                 # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from simulator._validation import check_points, check_range
from simulator.anatomy.bone_parts import bone_part_name
from simulator.anatomy.paths import outward_normal
from simulator.devices import NeedleModel, device
from simulator.errors import ParameterError
from simulator.scene import Crossing, Scene

__all__ = ["Needle", "NeedleEvent", "insert", "advance", "advance_until_bone", "withdraw", "reaim", "rotate",
           "aim_direction", "down_the_beam", "entry_towards", "REAIM_DEPTH_MM", "MAX_ENTRY_OFFSET_MM"]

#: Tip depth (mm from the skin) up to which the needle can be re-aimed without withdrawing.
REAIM_DEPTH_MM = 10.0
#: How far from the skin surface an entry point may be given; it is moved onto the skin (mm).
MAX_ENTRY_OFFSET_MM = 15.0
#: Largest single advance or withdrawal (mm): more is a typing error, not a needle movement.
MAX_STEP_MM = 200.0

#: What crossing a structure of each kind feels like to the operator and the patient.
_CROSSING_EVENTS = {
    "dural_sac": ("csf", "CSF flows back: the needle is in the dural sac"),
    "root": ("paraesthesia", "sharp radiating pain: the needle touched a nerve root"),
    "ganglion": ("paraesthesia", "sharp radiating pain: the needle touched a dorsal root ganglion"),
    "ventral_ramus": ("paraesthesia", "sharp pain down the leg: the needle touched a ventral ramus"),
    "dorsal_ramus": ("paraesthesia", "the patient feels a jolt in the back: the needle touched a dorsal ramus"),
    "medial_branch": ("paraesthesia", "the patient feels a jolt in the back: the needle touched a medial branch"),
    "artery": ("blood", "bright blood in the hub: the needle is in an artery"),
    "vein": ("blood", "dark blood in the hub: the needle is in a vein"),
    "disc": ("disc_puncture", "the needle entered an intervertebral disc"),
}


@dataclass(frozen=True)
class NeedleEvent:
    """Something the operator feels or sees: ``kind`` (e.g. ``"bone_contact"``), a sentence,
    the structure involved and the tip depth (mm from the skin) where it happened."""

    kind: str
    message: str
    structure_id: str | None = None
    depth_mm: float | None = None


@dataclass(frozen=True, eq=False)
class Needle:
    """One needle in the patient (all positions in mm, patient frame LPS).

    Parameters
    ----------
    label : str
        The operator's name for it ("needle 1").
    model : NeedleModel
        The device.
    entry_mm : numpy.ndarray, shape (3,)
        Where it crosses the skin.
    direction : numpy.ndarray, shape (3,)
        Unit vector of the shaft, from the entry towards the tip.
    depth_mm : float
        Tip depth along the shaft's axis from the skin entry.
    redirections : int
        Re-aims made after withdrawing from deeper than :data:`REAIM_DEPTH_MM`.
    path_mm : float
        Total distance the tip has travelled in tissue (advances, withdrawals, pivots).
    bone_contact : str or None
        The bone part the tip rests on ("L4 transverse process"), if any.
    deepest_since_aim_mm : float
        Deepest tip position since the last aim (decides whether a re-aim is a redirection).
    bone_contact_structure : str or None
        The id of that bone ("L4").
    roll_deg : float
        Turn of the hub, degrees: where a curved tip points. At 0 the tip bends towards the head
        (the patient's +z, seen across the shaft); positive turns it clockwise as seen from the
        hub (right-handed about :attr:`direction`). No effect on a straight needle.
    """

    label: str
    model: NeedleModel
    entry_mm: np.ndarray
    direction: np.ndarray
    depth_mm: float = 0.0
    redirections: int = 0
    path_mm: float = 0.0
    bone_contact: str | None = None
    deepest_since_aim_mm: float = 0.0
    bone_contact_structure: str | None = None
    roll_deg: float = 0.0

    @property
    def curve_direction(self) -> np.ndarray:
        """Unit vector across the shaft towards which a curved tip bends (see :attr:`roll_deg`)."""
        u = self.direction
        reference = np.array([0.0, 0.0, 1.0]) if abs(u[2]) < 0.95 else np.array([0.0, -1.0, 0.0])
        across = reference - (reference @ u) * u
        across /= np.linalg.norm(across)
        roll = np.radians(self.roll_deg)
        return np.cos(roll) * across + np.sin(roll) * np.cross(u, across)

    @property
    def tip_direction(self) -> np.ndarray:
        """Unit vector of the active tip: the shaft's direction, or bent off it by the curve."""
        bend = np.radians(self.model.curve_deg)
        return np.cos(bend) * self.direction + np.sin(bend) * self.curve_direction if bend else self.direction

    @property
    def _bent_length_mm(self) -> float:
        """Length of the bent part (the active tip of a curved cannula) in tissue, mm."""
        if not self.model.curved:
            return 0.0
        return min(self.model.active_tip_mm, self.depth_mm / np.cos(np.radians(self.model.curve_deg)))

    @property
    def bend_mm(self) -> np.ndarray:
        """Where the shaft ends and the bent tip starts (the tip itself on a straight needle), mm."""
        return self.entry_mm + (self.depth_mm - self._bent_length_mm * np.cos(np.radians(self.model.curve_deg))) * self.direction

    @property
    def tip_mm(self) -> np.ndarray:
        """Tip position (mm)."""
        return self.bend_mm + self._bent_length_mm * self.tip_direction

    @property
    def segments_mm(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The needle in tissue as straight pieces (start, end), skin to tip: the shaft, and a
        curved cannula's bent tip."""
        pieces = [(self.entry_mm, self.bend_mm), (self.bend_mm, self.tip_mm)]
        return [(a, b) for a, b in pieces if float(np.linalg.norm(b - a)) > 1e-9] or [(self.entry_mm, self.tip_mm)]

    @property
    def active_segment_mm(self) -> tuple[np.ndarray, np.ndarray]:
        """Start and end (the tip) of the uninsulated part, in tissue; both the tip for a plain needle."""
        tip = self.tip_mm
        if self.model.curved:
            return self.bend_mm, tip
        start_depth = max(self.depth_mm - self.model.active_tip_mm, 0.0)
        return self.entry_mm + start_depth * self.direction, tip

    def shaft_points_mm(self, step_mm: float = 1.0) -> np.ndarray:
        """Points about every ``step_mm`` along the needle in tissue, skin to tip, through the bend."""
        points = [self.entry_mm[None]]
        for start, end in self.segments_mm:
            count = max(int(np.ceil(float(np.linalg.norm(end - start)) / step_mm)), 1)
            points.append(np.linspace(start, end, count + 1)[1:])
        return np.vstack(points)

    def active_points_mm(self, step_mm: float = 0.25) -> np.ndarray:
        """Points every ``step_mm`` along the active tip, the tip last (just the tip for a plain needle)."""
        start, tip = self.active_segment_mm
        count = int(np.ceil(float(np.linalg.norm(tip - start)) / step_mm)) + 1
        return np.linspace(start, tip, count) if count > 1 else tip[None]

    def crossings(self, scene: Scene) -> list[Crossing]:
        """The structures the needle crosses from the skin to the tip, in order, with their entry
        and exit depths (mm along the needle from the skin entry)."""
        if self.depth_mm <= 0.0:
            return []
        found: list[Crossing] = []
        offset = 0.0
        for start, end in self.segments_mm:
            for c in scene.segment_crossings(start, end):
                shifted = replace(c, entry_mm=c.entry_mm + offset, exit_mm=c.exit_mm + offset)
                # A structure spanning the bend is one crossing, not two.
                joined = next((f for f in found if f.structure_id == c.structure_id and f.ends_inside and c.starts_inside), None)
                if joined is not None:
                    found[found.index(joined)] = replace(joined, exit_mm=shifted.exit_mm, ends_inside=c.ends_inside)
                else:
                    found.append(shifted)
            offset += float(np.linalg.norm(end - start))
        # A surface the tip only rests on (bone it stopped at) is touched, not crossed.
        return [c for c in found if c.entry_mm < offset - 1e-3]


def aim_direction(entry_mm: object, cranial_deg: float, medial_deg: float, frame: np.ndarray | None = None) -> np.ndarray:
    """A needle direction from the angles a clinician names, for a prone patient.

    The needle goes anteriorly (-y); ``cranial_deg`` tilts its tip towards the head (negative:
    caudal) as seen on a lateral view; ``medial_deg`` tilts it towards the midline (negative:
    lateral) as seen on an axial view. The midline is x = 0, so "medial" depends on the side of
    ``entry_mm``.

    Parameters
    ----------
    frame : numpy.ndarray, shape (3, 3), optional
        Measure the angles in a vertebra's own frame (columns: its x, y, z axes in the patient
        frame, e.g. ``scene.layout.poses["L5"].rotation``), as against a squared endplate on
        fluoroscopy; default the patient frame.
    """
    entry = check_points(entry_mm, "entry_mm")[0]
    cranial = np.radians(check_range(cranial_deg, "cranial_deg", -80.0, 80.0, "deg"))
    medial = np.radians(check_range(medial_deg, "medial_deg", -80.0, 80.0, "deg"))
    towards_midline = -np.sign(entry[0]) if entry[0] != 0 else 0.0
    direction = np.array([towards_midline * np.tan(medial), -1.0, np.tan(cranial)])
    if frame is not None:
        rotation = np.asarray(frame, dtype=float)
        if rotation.shape != (3, 3) or not np.allclose(rotation.T @ rotation, np.eye(3), atol=1e-6):
            raise ParameterError("frame", frame, "a 3x3 rotation matrix (a pose's rotation, e.g. "
                                 "scene.layout.poses['L5'].rotation)")
        direction = rotation @ direction
    return direction / np.linalg.norm(direction)


def down_the_beam(beam_direction: object) -> np.ndarray:
    """The needle direction that lies along the fluoroscopy beam, seen end-on ("tunnel view").

    ``beam_direction`` runs from the X-ray source to the detector (the C-arm pose's
    ``beam_direction``). The detector is on the patient's back, so a needle entering from the
    back advances towards the source: against the beam. With the C-arm tilted caudally the
    needle so enters caudal to its target and advances cranially (procedure.md step 7d).

    Examples
    --------
    >>> down_the_beam([0.0, 0.766, -0.643]).round(3).tolist()   # beam of a 40° caudal tilt
    [-0.0, -0.766, 0.643]
    """
    beam = check_points(beam_direction, "beam_direction")[0]
    length = float(np.linalg.norm(beam))
    if length == 0.0:
        raise ParameterError("beam_direction", beam_direction, "a non-zero vector from the source to the detector")
    return -beam / length


def entry_towards(scene: Scene, target_mm: object, direction: object) -> np.ndarray:
    """The skin point from which a needle along ``direction`` would reach ``target_mm`` (mm).

    Raises an error when that line does not leave the body within 300 mm.
    """
    target = check_points(target_mm, "target_mm")[0]
    unit = check_points(direction, "direction")[0]
    unit = unit / max(float(np.linalg.norm(unit)), 1e-12)
    body = [c for c in scene.segment_crossings(target, target - 300.0 * unit, include_body=True) if c.kind == "body"]
    if not body or not body[0].starts_inside or body[0].ends_inside:
        raise ParameterError("target_mm", target.round(1).tolist(), "a point inside the body, with the skin within 300 mm "
                             "against the needle's direction")
    return target - body[0].exit_mm * unit


def insert(scene: Scene, device_id: str, entry_mm: object, direction: object, label: str = "needle 1"
           ) -> tuple[Needle, list[NeedleEvent]]:
    """Put the tip of a new needle on the skin near ``entry_mm``, aimed along ``direction`` (it
    must point into the body).

    The entry moves along the needle's line onto the skin, so the needle still points where it
    was aimed (onto the nearest skin point instead if the line runs along the skin).
    """
    model = device(device_id)
    point = check_points(entry_mm, "entry_mm")[0]
    skin = _snap_to_skin(scene, point, _unit(direction))
    unit = _inward_direction(scene, skin, direction)
    needle = Needle(label, model, skin, unit)
    return needle, [NeedleEvent("skin_entry", f"{label} ({model.description}) on the skin", "skin", 0.0)]


def advance(scene: Scene, needle: Needle, distance_mm: float) -> tuple[Needle, list[NeedleEvent]]:
    """Push the needle ``distance_mm`` deeper; it stops on bone."""
    distance = check_range(distance_mm, "distance_mm", 0.0, MAX_STEP_MM, "mm")
    if distance == 0.0:
        raise ParameterError("distance_mm", distance_mm, f"more than 0 and up to {MAX_STEP_MM:g} mm")
    if needle.depth_mm + distance > needle.model.length_mm:
        raise ParameterError("distance_mm", distance_mm,
                             f"at most {needle.model.length_mm - needle.depth_mm:.1f} mm: the {needle.model.description} "
                             f"is {needle.model.length_mm:g} mm long and its tip is {needle.depth_mm:.1f} mm deep")
    if needle.bone_contact is not None:
        return needle, [NeedleEvent("bone_contact", f"{needle.label} is on bone ({needle.bone_contact}): it does not "
                                    "advance", needle.bone_contact_structure, needle.depth_mm)]
    start = needle.tip_mm
    crossings = scene.segment_crossings(start, start + distance * needle.direction)
    bone = next((c for c in crossings if c.role == "bone"), None)
    travel = distance if bone is None else max(bone.entry_mm, 0.0)
    # Structures entered on the way (not those the tip was already in).
    events = [_crossing_event(c, needle.depth_mm) for c in crossings
              if c.kind in _CROSSING_EVENTS and 0.0 < c.entry_mm <= travel]
    moved = replace(needle, depth_mm=needle.depth_mm + travel, path_mm=needle.path_mm + travel,
                    deepest_since_aim_mm=max(needle.deepest_since_aim_mm, needle.depth_mm + travel))
    if bone is not None:
        part = bone_part_name(scene.layout, bone.structure_id, moved.tip_mm)
        moved = replace(moved, bone_contact=part, bone_contact_structure=bone.structure_id)
        events.append(NeedleEvent("bone_contact", f"{needle.label} touches bone: {part}", bone.structure_id,
                                  moved.depth_mm))
    return moved, events


def advance_until_bone(scene: Scene, needle: Needle, step_mm: float = 2.0, limit_mm: float | None = None
                       ) -> tuple[Needle, list[NeedleEvent]]:
    """Advance in steps of ``step_mm`` until bone stops the tip, or until one more step would
    pass ``limit_mm`` of depth (default: the device's length). Returns every step's events."""
    limit = needle.model.length_mm if limit_mm is None else min(limit_mm, needle.model.length_mm)
    events: list[NeedleEvent] = []
    while needle.bone_contact is None and needle.depth_mm + step_mm <= limit:
        needle, new = advance(scene, needle, step_mm)
        events += new
    return needle, events


def withdraw(scene: Scene, needle: Needle, distance_mm: float) -> tuple[Needle, list[NeedleEvent]]:
    """Pull the needle back ``distance_mm`` (at most to the skin)."""
    distance = check_range(distance_mm, "distance_mm", 0.0, MAX_STEP_MM, "mm")
    if distance == 0.0 or distance > needle.depth_mm + 1e-9:
        raise ParameterError("distance_mm", distance_mm, f"more than 0 and up to the tip depth, {needle.depth_mm:.1f} mm")
    moved = replace(needle, depth_mm=max(needle.depth_mm - distance, 0.0), path_mm=needle.path_mm + distance,
                    bone_contact=None, bone_contact_structure=None)
    return moved, [NeedleEvent("withdrawal", f"{needle.label} withdrawn {distance:g} mm to {moved.depth_mm:.1f} mm",
                               None, moved.depth_mm)]


def reaim(scene: Scene, needle: Needle, direction: object) -> tuple[Needle, list[NeedleEvent]]:
    """Point the needle along ``direction``, pivoting at the skin entry.

    Only while the tip is within :data:`REAIM_DEPTH_MM` of the skin; a re-aim after having
    been deeper counts as a redirection.
    """
    if needle.depth_mm > REAIM_DEPTH_MM:
        raise ParameterError("direction", direction, f"a new aim only with the tip within {REAIM_DEPTH_MM:g} mm of the "
                             f"skin: withdraw first (the tip is {needle.depth_mm:.1f} mm deep)")
    unit = _inward_direction(scene, needle.entry_mm, direction)
    redirected = needle.deepest_since_aim_mm > REAIM_DEPTH_MM
    pivot = needle.depth_mm * float(np.linalg.norm(unit - needle.direction))
    moved = replace(needle, direction=unit, redirections=needle.redirections + int(redirected),
                    path_mm=needle.path_mm + pivot, deepest_since_aim_mm=needle.depth_mm,
                    bone_contact=None, bone_contact_structure=None)
    if redirected:
        return moved, [NeedleEvent("redirection", f"{needle.label} redirected (pass {moved.redirections + 1})",
                                   None, needle.depth_mm)]
    return moved, [NeedleEvent("aim", f"{needle.label} re-aimed near the skin", None, needle.depth_mm)]


def rotate(scene: Scene, needle: Needle, by_deg: float) -> tuple[Needle, list[NeedleEvent]]:
    """Turn the hub ``by_deg`` degrees (clockwise as seen from the hub; see :attr:`Needle.roll_deg`).

    A curved tip swings round the shaft; if its new position is inside bone the turn is blocked
    and the needle is returned unchanged, with an event saying so. A straight needle just turns.
    """
    turn = check_range(by_deg, "by_deg", -360.0, 360.0, "deg")
    turned = replace(needle, roll_deg=(needle.roll_deg + turn) % 360.0)
    if needle.model.curved and needle.depth_mm > 0.0:
        blocked = [b for b in scene.ids(role="bone") if scene.signed_distance(b, turned.tip_mm[None])[0] < 0.0]
        if blocked:
            part = bone_part_name(scene.layout, blocked[0], turned.tip_mm)
            return needle, [NeedleEvent("rotation_blocked", f"{needle.label}: the curved tip cannot turn into bone ({part})",
                                        blocked[0], needle.depth_mm)]
        sweep = float(np.linalg.norm(turned.tip_mm - needle.tip_mm))
        turned = replace(turned, path_mm=needle.path_mm + sweep, bone_contact=None, bone_contact_structure=None)
    return turned, [NeedleEvent("rotation", f"{needle.label} turned {turn:+g}° (hub at {turned.roll_deg:g}°)", None,
                                needle.depth_mm)]


# -- helpers -----------------------------------------------------------------------------------
def _snap_to_skin(scene: Scene, point: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Where the line through ``point`` along ``direction`` enters the skin (body envelope,
    level 0) near ``point``; the skin point nearest ``point`` if the line does not meet it there."""
    offset = float(scene.signed_distance("body", point[None])[0])
    if abs(offset) > MAX_ENTRY_OFFSET_MM:
        raise ParameterError("entry_mm", point.round(1).tolist(),
                             f"a point within {MAX_ENTRY_OFFSET_MM:g} mm of the skin surface (this one is {offset:+.1f} mm "
                             "from it; negative is inside)")
    reach = 3.0 * MAX_ENTRY_OFFSET_MM
    start = point - reach * direction
    entries = [c.entry_mm for c in scene.segment_crossings(start, point + reach * direction, include_body=True)
               if c.kind == "body" and not c.starts_inside]
    if entries:
        nearest = min(entries, key=lambda depth: abs(depth - reach))
        if abs(nearest - reach) <= reach:
            return start + nearest * direction
    p = point.copy()
    for _ in range(5):
        d = float(scene.signed_distance("body", p[None])[0])
        p = p - d * _outward(scene, p)
    return p


def _outward(scene: Scene, point: np.ndarray) -> np.ndarray:
    """Unit normal of the skin at ``point``, pointing out of the body."""
    return outward_normal(lambda p: scene.signed_distance("body", p), point[None], step=0.25)[0]


def _unit(direction: object) -> np.ndarray:
    vector = check_points(direction, "direction")[0]
    length = float(np.linalg.norm(vector))
    if length == 0.0:
        raise ParameterError("direction", direction, "a non-zero vector")
    return vector / length


def _inward_direction(scene: Scene, skin_point: np.ndarray, direction: object) -> np.ndarray:
    unit = _unit(direction)
    if unit @ _outward(scene, skin_point) > -0.1:
        raise ParameterError("direction", direction, "a direction into the body (this one runs along or out of the skin)")
    return unit


def _crossing_event(crossing: Crossing, depth_before_mm: float) -> NeedleEvent:
    event_kind, sentence = _CROSSING_EVENTS[crossing.kind]
    return NeedleEvent(event_kind, f"{sentence} ({crossing.structure_id})", crossing.structure_id,
                       depth_before_mm + crossing.entry_mm)
