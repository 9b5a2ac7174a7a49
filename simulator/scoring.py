"""Scoring: a pure, deterministic function of a scenario and a procedure's state.

:func:`score` measures every criterion of the scenario's rubric (:mod:`simulator.rubric`) on
the state's facts — the needles, the tests, the shots, the lesions — and turns each into points
with a sentence of feedback. It needs no patient and no randomness, so the same session scores
the same, bit for bit, live, from its log, or after a replay.

Criteria that do not apply to a case (the local anaesthetic before a heat lesion, in a cryo
case) are left out of the total; the pass mark is a percentage of the points of those that
apply. A criterion that applies but cannot be measured because the trainee did not do the thing
(no lesion made, no needle placed) earns nothing. A session fails whatever its total when a
required criterion fails (by default the level and side, and the critical structures).

Examples
--------
>>> report = score(scenario, load_session("s1.jsonl").state)            # doctest: +SKIP
>>> report.percent, report.passed                                       # doctest: +SKIP
(94.2, True)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from simulator.procedure import ProcedureState
from simulator.rubric import CRITERIA, PRE_PROCEDURE_STEPS, CriterionSpec
from simulator.scenario import Scenario

__all__ = ["CriterionScore", "ScoreReport", "score", "covered_length_mm"]

#: Verdicts that put a lesion at another nerve than its target.
_WRONG = ("wrong level", "wrong side")
#: A lesion reaching less than this much of a critical structure is not counted as damage (mm³):
#: below one voxel of the lesion grid.
DAMAGE_FLOOR_MM3 = 0.5
#: Local anaesthetic through the cannula before a heat lesion, mL (procedure.md step 13: 0.5-1 mL).
ANAESTHETIC_MIN_ML = 0.5
#: The sensory test counts when concordant at most this voltage (procedure.md step 11).
SENSORY_MAX_V = 0.5
#: The motor test counts when made at least at this voltage without leg movement (step 12b).
MOTOR_MIN_V = 2.0


@dataclass(frozen=True)
class CriterionScore:
    """One criterion's outcome: the measured ``value`` (``None`` when it does not apply), the
    threshold it is judged against, the points earned of ``weight``, and the feedback."""

    id: str
    title: str
    unit: str
    value: float | None
    threshold: float | None
    weight: float
    points: float
    applicable: bool
    passed: bool
    feedback: str


@dataclass(frozen=True)
class ScoreReport:
    """The score of a session."""

    scenario_id: str
    criteria: tuple[CriterionScore, ...]
    points: float
    max_points: float
    percent: float
    pass_mark: float
    failed_required: tuple[str, ...]
    passed: bool
    strengths: tuple[str, ...]
    weaknesses: tuple[str, ...]

    def to_dict(self) -> dict:
        return asdict(self)

    def criterion(self, criterion_id: str) -> CriterionScore:
        return next(c for c in self.criteria if c.id == criterion_id)


def covered_length_mm(intervals: list[list[float]]) -> float:
    """Length (mm) of the union of arc-length intervals ``[start, end]`` along a nerve."""
    total, reach = 0.0, -math.inf
    for start, end in sorted((float(a), float(b)) for a, b in intervals):
        if end <= reach:
            continue
        total += end - max(start, reach)
        reach = end
    return total


# -- the measurements ----------------------------------------------------------------------------------------------
def _lesions_for(state: ProcedureState, target: str) -> list[dict]:
    return [lesion for lesion in state.lesions if lesion["intended_target"] == target]


def _best(lesions: list[dict], target: str) -> dict | None:
    return max(lesions, key=lambda lesion: lesion["targets"][target]["length_mm"], default=None)


def _level_and_side(scenario: Scenario, state: ProcedureState) -> tuple[float | None, str]:
    targets = scenario.procedure.targets
    wrong = [(lesion, lesion["targets"][lesion["intended_target"]]) for lesion in state.lesions
             if lesion["targets"][lesion["intended_target"]]["verdict"] in _WRONG]
    if wrong:
        lesion, judged = wrong[0]
        return 0.0, (f"The lesion through {lesion['needle']} at {lesion['t_s']:.0f} s was made at "
                     f"{judged['closest_nerve']}, not {lesion['intended_target']}: {judged['verdict']}.")
    treated = [t for t in targets if any(l["targets"][t]["verdict"] not in _WRONG for l in _lesions_for(state, t))]
    missing = [t for t in targets if t not in treated]
    if missing:
        return len(treated) / len(targets), f"No lesion was made at {', '.join(missing)}."
    return 1.0, f"Every target ({', '.join(targets)}) was lesioned at its own level and side."


def _worst_at_lesion(scenario: Scenario, state: ProcedureState, key: str, unit: str, what: str) -> tuple[float | None, str]:
    values = []
    for target in scenario.procedure.targets:
        best = _best(_lesions_for(state, target), target)
        if best is None:
            return None, f"No lesion was made at {target}, so its {what} cannot be judged."
        values.append((best["targets"][target][key], target))
    value, target = max(values)
    return float(value), f"At the lesions, the worst {what} was {value:.1f}{'' if unit == '°' else ' '}{unit} ({target})."


def _coverage(scenario: Scenario, state: ProcedureState) -> tuple[float | None, str]:
    lengths = []
    for target in scenario.procedure.targets:
        arcs = [arc for lesion in state.lesions for arc in lesion["targets"][target]["covered_arcs_mm"]]
        lengths.append((covered_length_mm(arcs), target))
    if not state.lesions:
        return None, "No lesion was made."
    value, target = min(lengths)
    return value, f"The lesions covered at least {value:.1f} mm of every target nerve (least: {target})."


def _critical(state: ProcedureState) -> tuple[float, str]:
    touched = sorted({c["structure_id"] for c in state.contacts})
    damaged = sorted({s for lesion in state.lesions for s, v in lesion["critical_damage_mm3"].items() if v >= DAMAGE_FLOOR_MM3})
    hurt = sorted(set(touched) | set(damaged))
    if not hurt:
        return 0.0, "No root, ganglion, dural sac, vessel or disc was touched or damaged."
    parts = ([f"touched {', '.join(touched)}"] if touched else []) + ([f"damaged {', '.join(damaged)}"] if damaged else [])
    return float(len(hurt)), "The procedure " + " and ".join(parts) + "."


def _pre_procedure(state: ProcedureState) -> tuple[float, str]:
    deadline = state.first_needle_s if state.first_needle_s is not None else math.inf
    done = [step for step in PRE_PROCEDURE_STEPS if state.ticks.get(step, math.inf) <= deadline]
    missing = [step.replace("_", " ") for step in PRE_PROCEDURE_STEPS if step not in done]
    if missing:
        return len(done) / len(PRE_PROCEDURE_STEPS), f"Not done before the first needle: {', '.join(missing)}."
    return 1.0, "Patient and level verified, prone positioning, sterile preparation and skin anaesthetic before the first needle."


def _tested(state: ProcedureState) -> tuple[float | None, str]:
    lesions = [lesion for lesion in state.lesions if not lesion.get("pulsed", False)]
    if not lesions:
        return None, "No lesion was made."
    untested = [l for l in lesions if not (l["sensory_ok"] and l["motor_ok"])]
    if untested:
        l = untested[0]
        lacking = " and ".join(x for x, ok in (("a concordant 50 Hz test at ≤ 0.5 V", l["sensory_ok"]),
                                               ("a 2 Hz test at ≥ 2 V without leg movement", l["motor_ok"])) if not ok)
        return 1.0 - len(untested) / len(lesions), (f"{len(untested)} of {len(lesions)} lesions without {lacking} at the "
                                                    f"final position (first: {l['needle']} at {l['t_s']:.0f} s).")
    return 1.0, "Every lesion followed concordant sensory and safe motor testing at its final position."


def _anaesthetic(state: ProcedureState) -> tuple[float | None, str]:
    heat = [lesion for lesion in state.lesions if lesion["modality"] == "rf" and not lesion.get("pulsed", False)]
    if not heat:
        return None, "No heat lesion was made, so no local anaesthetic was needed before one."
    without = [l for l in heat if l["anaesthetic_ml"] < ANAESTHETIC_MIN_ML]
    if without:
        return 1.0 - len(without) / len(heat), (f"{len(without)} of {len(heat)} heat lesions without "
                                                f"{ANAESTHETIC_MIN_ML:g} mL of local anaesthetic through the cannula first.")
    return 1.0, "Local anaesthetic was given through the cannula before every heat lesion."


def _measure(spec: CriterionSpec, scenario: Scenario, state: ProcedureState) -> tuple[float | None, str]:
    limits, dose = scenario.limits, state.dose
    needles = state.snapshots()
    if spec.id == "level_and_side":
        return _level_and_side(scenario, state)
    if spec.id == "tip_to_target":
        return _worst_at_lesion(scenario, state, "active_to_target_mm", "mm", "active-tip distance to the nerve")
    if spec.id == "parallelism":
        return _worst_at_lesion(scenario, state, "angle_deg", "°", "angle between electrode and nerve")
    if spec.id == "lesion_coverage":
        return _coverage(scenario, state)
    if spec.id == "critical_structures":
        return _critical(state)
    if spec.id == "pre_procedure_steps":
        return _pre_procedure(state)
    if spec.id == "stimulation_before_lesion":
        return _tested(state)
    if spec.id == "anaesthetic_before_lesion":
        return _anaesthetic(state)
    if spec.id == "fluoroscopy_dose":
        return float(dose["air_kerma_mgy"]), (f"Air kerma {dose['air_kerma_mgy']:.1f} mGy of a {limits.dose_budget_mgy:g} mGy "
                                              f"budget ({dose['dap_gy_cm2']:.3f} Gy·cm²).")
    if spec.id == "fluoroscopy_shots":
        return float(dose["shots"]), f"{dose['shots']} fluoroscopy shots of a budget of {limits.shots_budget}."
    if spec.id == "fluoroscopy_time":
        return float(dose["fluoro_time_s"]), (f"{dose['fluoro_time_s']:.2f} s of fluoroscopy of a "
                                              f"{limits.fluoro_time_budget_s:g} s budget.")
    if spec.id == "redirections":
        if not needles:
            return None, "No needle was used."
        worst = max(needles, key=lambda n: n["redirections"])
        if worst["redirections"] == 0:
            return 0.0, f"No redirection: every needle ({len(needles)}) reached its target in one pass."
        return float(worst["redirections"]), f"Up to {worst['redirections']} redirections of one needle ({worst['label']})."
    if spec.id == "path_in_tissue":
        depth = sum(n["depth_mm"] for n in needles)
        if depth <= 0.0:
            return None, "No needle went into the patient."
        path = sum(n["path_mm"] for n in needles)
        return path / depth, f"The needles travelled {path:.0f} mm in tissue for {depth:.0f} mm of final depth."
    if spec.id == "tissue_damage":
        return float(state.swept_mm2), f"The shafts swept {state.swept_mm2:.0f} mm² of tissue when re-aimed or turned."
    if spec.id == "procedure_time":
        return float(state.time_s), f"The procedure took {state.time_s / 60:.1f} min of a {limits.time_limit_s / 60:g} min limit."
    raise KeyError(spec.id)  # a criterion in the catalogue without a measure is a bug


def _threshold(spec: CriterionSpec, scenario: Scenario, override: float | None) -> float:
    if override is not None:
        return override
    if spec.threshold is not None:
        return spec.threshold
    limits = scenario.limits
    return {"fluoroscopy_dose": limits.dose_budget_mgy, "fluoroscopy_shots": float(limits.shots_budget),
            "fluoroscopy_time": limits.fluoro_time_budget_s, "procedure_time": limits.time_limit_s}[spec.id]


def _points(spec: CriterionSpec, value: float, threshold: float, weight: float) -> tuple[float, bool]:
    if spec.kind == "fraction":
        return weight * min(max(value, 0.0), 1.0), value >= threshold
    if spec.kind == "at_most":
        zero = spec.zero_at * threshold
        if value <= threshold:
            return weight, True
        return (weight * (zero - value) / (zero - threshold) if value < zero else 0.0), False
    zero = spec.zero_at * threshold  # at least
    if value >= threshold:
        return weight, True
    return (weight * (value - zero) / (threshold - zero) if value > zero else 0.0), False


def score(scenario: Scenario, state: ProcedureState) -> ScoreReport:
    """Score ``state`` against ``scenario``'s rubric."""
    rubric = scenario.scoring
    results = []
    for criterion in rubric.criteria:
        spec = CRITERIA[criterion.id]
        threshold = _threshold(spec, scenario, criterion.threshold)
        value, feedback = _measure(spec, scenario, state)
        if value is None:
            applies = spec.id != "anaesthetic_before_lesion" or (scenario.procedure.modality == "rf" and not state.lesions)
            results.append(CriterionScore(spec.id, spec.title, spec.unit, None, threshold, criterion.weight, 0.0, applies,
                                          False, feedback))
            continue
        points, passed = _points(spec, value, threshold, criterion.weight)
        results.append(CriterionScore(spec.id, spec.title, spec.unit, value, threshold, criterion.weight, points, True,
                                      passed, feedback))
    applicable = [r for r in results if r.applicable]
    points = sum(r.points for r in applicable)
    max_points = sum(r.weight for r in applicable)
    percent = 100.0 * points / max_points if max_points > 0 else 0.0
    # A required criterion that cannot be judged (no lesion made) has failed too.
    failed_required = tuple(r.id for r in results if r.id in rubric.required and not r.passed)
    passed = percent >= rubric.pass_mark and not failed_required
    strengths = tuple(r.feedback for r in sorted(applicable, key=lambda r: -r.weight) if r.passed and r.weight > 0)[:4]
    weaknesses = tuple(r.feedback for r in sorted(applicable, key=lambda r: -(r.weight - r.points)) if not r.passed)
    return ScoreReport(scenario.meta.id, tuple(results), points, max_points, percent, rubric.pass_mark, failed_required,
                       passed, strengths, weaknesses)
