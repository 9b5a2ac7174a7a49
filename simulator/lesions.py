"""A lesion made during a procedure, as facts a session records and scoring reads.

:func:`lesion_facts` runs the scenario's modality (:mod:`simulator.ablation`) through one
needle of the procedure and keeps what the judge needs: which target the lesion was for (the
scenario's target nearest the active tip), how the needle lay against every target (the
targeting verdict, distance and angle), the stretches of each target nerve inside the lesion
(arc lengths along its centreline, so repeated lesions add up without counting twice), the
critical structures it reached, and whether the nerve had been tested and anaesthetised at the
needle's current position.

Settings are checked twice: against what the device and generator allow (the settings classes
of :mod:`simulator.ablation`) and against what the scenario allows (``procedure.allowed``).
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np
from scipy.ndimage import map_coordinates

from simulator.errors import ParameterError
from simulator.needle import Needle

__all__ = ["lesion_facts", "make_lesion", "settings_for", "ALLOWED_KEYS", "covered_arcs_mm"]

#: The settings a scenario may restrict, per modality (``procedure.allowed``).
ALLOWED_KEYS: dict[str, tuple[str, ...]] = {
    "rf": ("set_temperature_c", "duration_s", "repeats"),
    "cryo": ("freeze_s", "thaw_s", "cycle_count", "probe_temperature_c"),
    "chemical": ("volume_ml", "concentration_pct"),
}
#: Spacing of the samples along a target nerve when its covered stretches are measured (mm).
NERVE_SAMPLE_MM = 0.1
#: Points of the tip's time course kept in a session (the curve of a report).
TIME_COURSE_POINTS = 120


def _settings_class(modality: str):
    from simulator.ablation import ChemicalSettings, CryoSettings, RFSettings

    return {"rf": RFSettings, "cryo": CryoSettings, "chemical": ChemicalSettings}[modality]


def settings_for(scenario, settings: dict):
    """The modality's settings object from a command's ``settings``, within the scenario's limits."""
    modality = scenario.procedure.modality
    cls = _settings_class(modality)
    names = [f.name for f in fields(cls)]
    for key in settings:
        if key not in names:
            raise ParameterError(key, settings[key], f"a {modality} setting: " + ", ".join(names))
    values = dict(settings)
    if "cycles" in values:
        values["cycles"] = tuple(tuple(pair) for pair in values["cycles"])
    chosen = cls(**values)
    if modality == "chemical" and scenario.procedure.agents and chosen.agent not in scenario.procedure.agents:
        raise ParameterError("agent", chosen.agent, "the scenario's agents: " + ", ".join(scenario.procedure.agents))
    for key, allowed in scenario.procedure.allowed.items():
        for value in _values_of(chosen, key):
            if not allowed.contains(value):
                raise ParameterError(key, value, f"{allowed.min:g} to {allowed.max:g} in this scenario")
    return chosen


def _values_of(settings, key: str) -> list[float]:
    """The values a scenario's limit ``key`` applies to (several for a cryo protocol's cycles)."""
    if key == "freeze_s":
        return [f for f, _ in settings.cycles]
    if key == "thaw_s":
        return [t for _, t in settings.cycles]
    if key == "cycle_count":
        return [float(len(settings.cycles))]
    value = getattr(settings, key)
    return [] if value is None else [float(value)]


def covered_arcs_mm(scene, target_id: str, result) -> list[list[float]]:
    """The stretches ``[start, end]`` (mm of arc length along the target's centreline) inside the lesion."""
    tube = scene.structure(target_id).field
    points = np.asarray(tube.points_mm, dtype=float)
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])
    samples_arc = np.linspace(0.0, arc[-1], max(int(np.ceil(arc[-1] / NERVE_SAMPLE_MM)), 1) + 1)
    samples = np.column_stack([np.interp(samples_arc, arc, points[:, a]) for a in range(3)])
    field = np.asarray(result.lesion_field, dtype=float)
    index = result.grid.index_from_patient(samples)
    values = map_coordinates(field, index.T, order=1, mode="constant", cval=float(field.min()) - 1.0)
    inside = values >= result.lesion_threshold
    arcs, start = [], None
    for a, flag in zip(samples_arc, inside):
        if flag and start is None:
            start = a
        elif not flag and start is not None:
            arcs.append([float(start), float(a)])
            start = None
    if start is not None:
        arcs.append([float(start), float(samples_arc[-1])])
    return arcs


def _nearest_target(scene, targets: list[str], needle: Needle) -> str:
    points = needle.active_points_mm()
    return min(targets, key=lambda t: float(scene.signed_distance(t, points).min()))


def _time_course(result) -> dict:
    """The lesion's temperature or concentration curves, at most :data:`TIME_COURSE_POINTS`
    samples (``None`` where a curve is undefined, e.g. the electrode once the generator is off)."""
    course = result.time_course
    t = np.asarray(course.time_s, float)
    keep = np.unique(np.linspace(0, len(t) - 1, min(len(t), TIME_COURSE_POINTS)).round().astype(int))
    series = {name: [None if not np.isfinite(v) else float(v) for v in np.asarray(values, float)[keep]]
              for name, values in course.series.items()}
    return {"time_s": [float(v) for v in t[keep]], "series": series, "units": dict(course.units)}


def make_lesion(context, needle: Needle, settings: dict, progress=None):
    """The lesion the scenario's modality makes through ``needle``: (settings, intended target,
    :class:`~simulator.ablation.LesionResult`). Deterministic, so a report can draw it again."""
    from simulator.ablation import chemical_lesion, cryo_lesion, rf_lesion
    from simulator.scenario import MODALITY_DEVICES

    scenario, scene = context.scenario, context.scene
    modality = scenario.procedure.modality
    chosen = settings_for(scenario, settings)
    kinds = MODALITY_DEVICES[modality]
    if needle.model.kind not in kinds:
        raise ParameterError("needle", needle.label, f"a {' or '.join(kinds)} for a {modality} lesion (this is a "
                             f"{needle.model.description})")
    intended = _nearest_target(scene, list(scenario.procedure.targets), needle)
    model = {"rf": rf_lesion, "cryo": cryo_lesion, "chemical": chemical_lesion}[modality]
    return chosen, intended, model(scene, needle, chosen, target_id=intended, progress=progress)


def lesion_facts(context, state, needle: Needle, settings: dict, t_s: float, *, progress=None) -> tuple[dict, object]:
    """Make the lesion: its facts (plain JSON values) and the :class:`~simulator.ablation.LesionResult`."""
    from simulator.targeting import assess

    scenario, scene = context.scenario, context.scene
    modality = scenario.procedure.modality
    targets = list(scenario.procedure.targets)
    chosen, intended, result = make_lesion(context, needle, settings, progress=progress)
    position = state.positions[needle.label]
    here = [s for s in state.stimulations if s["needle"] == needle.label and s["position"] == position]
    sensory_ok = any(s["test"] == "sensory" and s["concordant"] and s["threshold_v"] is not None
                     and s["threshold_v"] <= 0.5 for s in here)
    motor_ok = any(s["test"] == "motor" and s["voltage_v"] >= 2.0 and not s["leg_fasciculation"]
                   and not s.get("after_anaesthetic", False) for s in here)
    anaesthetic = sum(i["volume_ml"] for i in state.injections if i["needle"] == needle.label and i["position"] == position)
    judged = {}
    for target in targets:
        report = assess(scene, needle, target)
        arcs = covered_arcs_mm(scene, target, result)
        judged[target] = {"verdict": report.verdict, "active_to_target_mm": float(report.active_to_target_mm),
                          "angle_deg": float(report.angle_deg), "closest_nerve": report.closest_nerve_id,
                          "covered_arcs_mm": arcs, "length_mm": float(sum(b - a for a, b in arcs))}
    size = result.size
    return ({
        "t_s": float(t_s), "needle": needle.label, "position": position, "modality": modality,
        "settings": {f.name: _plain(getattr(chosen, f.name)) for f in fields(chosen)},
        "pulsed": bool(getattr(chosen, "pulsed", False)), "intended_target": intended,
        "volume_mm3": float(size.volume_mm3), "length_mm": float(size.length_mm), "width_mm": float(size.width_mm),
        "targets": judged,
        "critical_damage_mm3": {sid: float(result.damaged_mm3[sid]) for sid in result.critical_ids},
        "sensory_ok": sensory_ok, "motor_ok": motor_ok, "anaesthetic_ml": float(anaesthetic),
        "time_course": _time_course(result), "report": result.report,
    }, result)


def _plain(value):
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value
