"""The criteria a procedure is scored on: what each measures, its unit, default threshold and weight.

A scenario's rubric picks criteria from :data:`CRITERIA` and may change their weight and
threshold; :mod:`simulator.scoring` computes them. Defaults and their reasons
(``shared/reference/procedure.md``, §3 steps and §6 suggested checklist):

==========================  ======  =====================================================================
criterion                   unit    default threshold, reason
==========================  ======  =====================================================================
level_and_side              —       every target lesioned at its own level and side (checklist item 1)
tip_to_target               mm      active tip within 2 mm of the nerve at each lesion (item 6; Cohen 2011)
parallelism                 deg     electrode within 20° of the nerve at each lesion (item 5; Lau 2004)
lesion_coverage             mm      at least 4 mm of each target nerve inside the lesion (item 13)
critical_structures         count   no root, ganglion, dural sac, vessel or disc touched or damaged (item 14)
pre_procedure_steps         —       patient and level verified, prone, sterile, skin anaesthetic, before the
                                    first needle (steps 2-5)
stimulation_before_lesion   —       concordant 50 Hz at <= 0.5 V and a 2 Hz test at >= 2 V without leg
                                    movement at the final position, before each lesion (steps 11-12)
anaesthetic_before_lesion   —       0.5-1 mL of local anaesthetic through the cannula before each heat
                                    lesion (step 13)
fluoroscopy_dose            mGy     air kerma within the scenario's budget
fluoroscopy_shots           count   shots within the scenario's budget
fluoroscopy_time            s       beam-on time within the scenario's budget
redirections                count   at most 2 new passes per needle (design default)
path_in_tissue              mm      needle travel in tissue at most 2.5 times the final depths (design
                                    default after Perk Tutor's path inefficiency, §5.1)
tissue_damage               mm²     area swept by the shafts in tissue at most 300 mm² (design default;
                                    Perk Tutor tissue damage, §5.1)
procedure_time              s       within the scenario's time limit
==========================  ======  =====================================================================

Points: a criterion scored on a fraction (``kind == "fraction"``) earns ``weight × fraction``;
one with a limit earns its full weight at or below the threshold and nothing at
``zero_at × threshold``, linearly in between (``"at_most"``), or the mirror image for
``"at_least"``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CriterionSpec", "CRITERIA", "DEFAULT_WEIGHTS", "REQUIRED_BY_DEFAULT", "PRE_PROCEDURE_STEPS", "CHECKLIST_STEPS"]

#: Checklist steps a trainee ticks before the first needle (procedure.md steps 2-5).
PRE_PROCEDURE_STEPS: tuple[str, ...] = ("verify_patient_and_level", "prone_positioning", "sterile_preparation",
                                        "skin_local_anaesthetic")
#: Every step the checklist knows (the pre-procedure ones, then the closing ones).
CHECKLIST_STEPS: tuple[str, ...] = PRE_PROCEDURE_STEPS + ("confirm_position_two_views", "record_parameters")


@dataclass(frozen=True)
class CriterionSpec:
    """One criterion: ``kind`` is ``"fraction"``, ``"at_most"`` or ``"at_least"``; ``threshold``
    in ``unit`` (``None``: taken from the scenario's limits); ``zero_at`` the multiple of the
    threshold at which a limit criterion earns nothing."""

    id: str
    title: str
    unit: str
    kind: str
    threshold: float | None
    zero_at: float = 2.0


CRITERIA: dict[str, CriterionSpec] = {c.id: c for c in (
    CriterionSpec("level_and_side", "Correct level and side", "", "fraction", 1.0),
    CriterionSpec("tip_to_target", "Active tip to the nerve at each lesion", "mm", "at_most", 2.0, 2.5),
    CriterionSpec("parallelism", "Electrode parallel to the nerve", "deg", "at_most", 20.0, 2.5),
    CriterionSpec("lesion_coverage", "Length of target nerve in the lesion", "mm", "at_least", 4.0, 0.0),
    CriterionSpec("critical_structures", "Critical structures touched or damaged", "", "at_most", 0.0),
    CriterionSpec("pre_procedure_steps", "Pre-procedure steps before the first needle", "", "fraction", 1.0),
    CriterionSpec("stimulation_before_lesion", "Sensory and motor testing before each lesion", "", "fraction", 1.0),
    CriterionSpec("anaesthetic_before_lesion", "Local anaesthetic through the cannula before each heat lesion", "",
                  "fraction", 1.0),
    CriterionSpec("fluoroscopy_dose", "Fluoroscopy dose (air kerma) within budget", "mGy", "at_most", None),
    CriterionSpec("fluoroscopy_shots", "Fluoroscopy shots within budget", "", "at_most", None),
    CriterionSpec("fluoroscopy_time", "Fluoroscopy time within budget", "s", "at_most", None),
    CriterionSpec("redirections", "Redirections (new passes) per needle", "", "at_most", 2.0, 3.0),
    CriterionSpec("path_in_tissue", "Needle travel in tissue against the final depths", "×", "at_most", 2.5),
    CriterionSpec("tissue_damage", "Area swept by the shafts in tissue", "mm²", "at_most", 300.0, 3.0),
    CriterionSpec("procedure_time", "Procedure time within the limit", "s", "at_most", None, 1.5),
)}

#: Weights of a rubric that does not say otherwise (they sum to 100).
DEFAULT_WEIGHTS: dict[str, float] = {
    "level_and_side": 15, "tip_to_target": 10, "parallelism": 8, "lesion_coverage": 12, "critical_structures": 12,
    "pre_procedure_steps": 6, "stimulation_before_lesion": 8, "anaesthetic_before_lesion": 3, "fluoroscopy_dose": 5,
    "fluoroscopy_shots": 4, "fluoroscopy_time": 3, "redirections": 5, "path_in_tissue": 3, "tissue_damage": 3,
    "procedure_time": 3,
}
#: Criteria a session must pass whatever its total: treating the wrong nerve, or hurting a
#: critical structure, fails the procedure.
REQUIRED_BY_DEFAULT: tuple[str, ...] = ("level_and_side", "critical_structures")
