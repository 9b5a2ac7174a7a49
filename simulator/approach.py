"""Textbook needle approaches to the target nerves: where to aim, at which angles, and a needle
placed that way.

The parallel technique lays the electrode along the nerve where it runs down the neck of the
superior articular process (procedure.md steps 7-9): the needle enters below and slightly
lateral of its target, advances cranially and anteriorly, and comes to rest on bone beside the
nerve. The angles are measured, as on fluoroscopy, against the superior endplate of the bone
that carries the target (a squared endplate), with the same convention as
:func:`simulator.needle.aim_direction`:

- Ln medial branch (L1-L4), at the SAP-TP junction of L(n+1): caudal 45° for L1 and L2, 55° for
  L3 and L4 — the middle of the modal caudal angles of parallel placement on the posterior half
  of the SAP neck, 40-50° at L1-L2 and 50-60° at L3-L5 — and 10° of abduction, the middle of
  the 5.6-14.5° reported (Tran et al., Pain Med 2024;25:13; procedure.md step 7c).
- L5 dorsal ramus, in the groove between the sacral ala and the S1 superior articular process:
  no oblique (atlas, procedure.md step 7b) and caudal 60°, where Tran's 50-60° (L3-L5) and
  60-70° (sacrum) ranges meet.

Examples
--------
>>> approach = textbook_approach("medial_branch_L4_right")          # doctest: +SKIP
>>> approach.landmark, approach.caudal_deg, approach.medial_deg       # doctest: +SKIP
('sap_tp_junction_L5_right', 55.0, 10.0)
>>> needle, events = place_needle(scene, approach)                  # doctest: +SKIP
>>> events[-1].message                                              # doctest: +SKIP
'needle 1 touches bone: L5 transverse process'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from simulator._validation import check_range
from simulator.errors import ParameterError
from simulator.needle import Needle, NeedleEvent, advance_until_bone, aim_direction, entry_towards, insert
from simulator.scene import Scene

__all__ = ["Approach", "textbook_approach", "place_needle", "DEFAULT_DEVICE"]

#: The cannula of the textbook placements: 18 G, 150 mm (the parallel approach's oblique path is
#: 1.5-2 times the target's depth), 10 mm active tip (procedure.md §2: 10 or 15 cm by body size;
#: 5 or 10 mm tip).
DEFAULT_DEVICE = "rf_18g_150mm_10mm"

_NEXT = {"L1": "L2", "L2": "L3", "L3": "L4", "L4": "L5"}
_CAUDAL_DEG = {"L1": 45.0, "L2": 45.0, "L3": 55.0, "L4": 55.0}
_ABDUCTION_DEG = 10.0
_SOURCE_MB = "Tran et al., Pain Med 2024;25:13 (parasagittal parallel placement); procedure.md step 7c"
_SOURCE_DR = "procedure.md step 7b (no oblique for the L5 dorsal ramus); Tran et al. 2024 caudal ranges"


@dataclass(frozen=True)
class Approach:
    """A planned needle approach.

    Parameters
    ----------
    target_id : str
        The nerve aimed at (``"medial_branch_L4_right"``).
    landmark : str
        The bony target the needle is aimed at (``"sap_tp_junction_L5_right"``).
    frame_bone : str
        The bone against whose superior endplate the angles are measured (``"L5"``).
    caudal_deg : float
        Caudal tilt of the needle (it advances cranially), degrees.
    medial_deg : float
        Abduction: the needle advances medially by this angle, degrees.
    source : str
        Where the angles come from.
    """

    target_id: str
    landmark: str
    frame_bone: str
    caudal_deg: float
    medial_deg: float
    source: str

    def __post_init__(self) -> None:
        check_range(self.caudal_deg, "caudal_deg", 0.0, 80.0, "deg")
        check_range(self.medial_deg, "medial_deg", -45.0, 45.0, "deg")

    def direction(self, scene: Scene) -> np.ndarray:
        """Unit direction of the needle in the patient frame."""
        target = scene.landmark(self.landmark)
        return aim_direction(target, self.caudal_deg, self.medial_deg, frame=scene.layout.poses[self.frame_bone].rotation)

    def entry_mm(self, scene: Scene) -> np.ndarray:
        """The skin point from which the needle, along :meth:`direction`, reaches the landmark (mm)."""
        return entry_towards(scene, scene.landmark(self.landmark), self.direction(scene))


def textbook_approach(target_id: str) -> Approach:
    """The textbook parallel approach to a medial branch (L1-L4) or to the L5 dorsal ramus."""
    match = re.fullmatch(r"(medial_branch|dorsal_ramus)_(L[1-5])_(left|right)", target_id)
    if match and match[1] == "medial_branch" and match[2] in _NEXT:
        level, side = match[2], match[3]
        return Approach(target_id, f"sap_tp_junction_{_NEXT[level]}_{side}", _NEXT[level], _CAUDAL_DEG[level],
                        _ABDUCTION_DEG, _SOURCE_MB)
    if match and match[1] == "dorsal_ramus" and match[2] == "L5":
        return Approach(target_id, f"ala_sap_groove_{match[3]}", "sacrum", 60.0, 0.0, _SOURCE_DR)
    raise ParameterError("target_id", target_id, "a target of the parallel technique: medial_branch_L1..L4_<side> "
                         "or dorsal_ramus_L5_<side> (side left or right)")


def place_needle(scene: Scene, approach: Approach, device_id: str = DEFAULT_DEVICE, label: str = "needle 1",
                 step_mm: float = 2.0) -> tuple[Needle, list[NeedleEvent]]:
    """Insert a needle on the skin in line with the approach and advance it in ``step_mm`` steps
    until bone stops it (or its length runs out). Returns the needle and every event."""
    direction = approach.direction(scene)
    needle, events = insert(scene, device_id, approach.entry_mm(scene), direction, label)
    needle, steps = advance_until_bone(scene, needle, step_mm=step_mm)
    return needle, events + steps
