"""What a user's gesture means, as canonical commands (no Qt here).

The widgets say what the user did ("the oblique preset for the right L5", "a needle here, down
the beam", "80 °C for 90 s"); these functions turn that into the commands of
:mod:`simulator.commands` for :meth:`simulator.session.Session.run`, reusing the plan
shorthands of :mod:`simulator.plan` (a C-arm view squares an endplate the same way a plan
does). They decide nothing a command would not record: what the command does is the core's.

Angles are clinical and signed as in the core: ``oblique_left_deg`` > 0 turns the detector to
the patient's left, ``tilt_cranial_deg`` > 0 tilts it to the head; a needle's
``approach_caudal_deg`` > 0 means it enters below its target and its tip advances cranially
(:func:`simulator.needle.aim_direction`'s ``cranial_deg``), ``medial_deg`` > 0 that it advances
towards the midline.

Examples
--------
>>> next_needle_label([])
'needle 1'
>>> next_needle_label(["needle 1", "needle 3"])
'needle 4'
>>> lesion_settings("cryo", {"freeze_s": 90.0, "thaw_s": 30.0, "cycle_count": 2, "probe_temperature_c": -70.0})
{'cycles': [[90.0, 30.0], [90.0, 30.0]], 'probe_temperature_c': -70.0}
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from simulator.commands import Insert, MoveCArm
from simulator.errors import ParameterError

__all__ = ["carm_view", "carm_angles", "carm_pan", "needle_direction", "insert_at", "next_needle_label", "SettingField",
           "setting_fields", "lesion_settings", "VIEWS", "LEVELS", "AIMS"]

#: The C-arm presets (:mod:`simulator.plan`'s views).
VIEWS = ("ap", "oblique", "lateral", "trajectory")
#: Levels a view can centre and square.
LEVELS = ("L1", "L2", "L3", "L4", "L5")
#: How a new needle is aimed: along the current beam, or by angles.
AIMS = ("down_the_beam", "angles")


def carm_view(session, view: str, *, level: str = "L4", side: str = "right", oblique_deg: float = 20.0,
              needle: str | None = None) -> MoveCArm:
    """The C-arm move of a preset: ``"ap"`` (``level``'s superior endplate squared),
    ``"oblique"`` (then turned ``oblique_deg`` towards ``side``), ``"lateral"`` (detector on
    ``side``) or ``"trajectory"`` (down ``needle``)."""
    from simulator.plan import expand

    if view not in VIEWS:
        raise ParameterError("view", view, ", ".join(VIEWS))
    action = {"do": "carm", "view": view, "level": level, "side": side}
    if view == "oblique":
        action["oblique_deg"] = float(oblique_deg)
    if view == "trajectory":
        if not needle:
            raise ParameterError("needle", needle, "a needle in the patient to look down")
        action = {"do": "carm", "view": view, "needle": needle}
    return expand(session, action)[0]


def carm_angles(state, oblique_left_deg: float, tilt_cranial_deg: float) -> MoveCArm:
    """The C-arm turned to these angles (deg), the isocentre kept."""
    return MoveCArm(oblique_left_deg=float(oblique_left_deg), tilt_cranial_deg=float(tilt_cranial_deg),
                    isocenter_mm=tuple(float(v) for v in state.carm["isocenter_mm"]))


def carm_pan(state, *, left_mm: float = 0.0, cranial_mm: float = 0.0) -> MoveCArm:
    """The C-arm (or the table) moved so that the isocentre goes ``left_mm`` towards the
    patient's left (+x) and ``cranial_mm`` towards the head (+z); the angles kept."""
    iso = np.asarray(state.carm["isocenter_mm"], float) + np.array([float(left_mm), 0.0, float(cranial_mm)])
    return MoveCArm(oblique_left_deg=float(state.carm["oblique_left_deg"]),
                    tilt_cranial_deg=float(state.carm["tilt_cranial_deg"]), isocenter_mm=tuple(float(v) for v in iso))


def needle_direction(scene, state, entry_mm, *, aim: str = "down_the_beam", approach_caudal_deg: float = 0.0,
                     medial_deg: float = 0.0, frame_level: str | None = None) -> np.ndarray:
    """Unit direction of a needle entering at ``entry_mm``: along the current beam
    (``"down_the_beam"``), or by ``approach_caudal_deg`` and ``medial_deg`` measured in the
    patient frame or against ``frame_level``'s superior endplate (``"L1"``…``"L5"``, ``"sacrum"``)."""
    from simulator.needle import aim_direction, down_the_beam
    from simulator.procedure import current_pose

    if aim == "down_the_beam":
        return down_the_beam(current_pose(state).beam_direction)
    if aim != "angles":
        raise ParameterError("aim", aim, ", ".join(AIMS))
    frame = None
    if frame_level:
        if frame_level not in scene.layout.poses:
            raise ParameterError("frame_level", frame_level, ", ".join(scene.layout.poses))
        frame = scene.layout.poses[frame_level].rotation
    return aim_direction(entry_mm, float(approach_caudal_deg), float(medial_deg), frame=frame)


def insert_at(label: str, device_id: str, entry_mm, direction) -> Insert:
    """The Insert command of a needle put on the skin at ``entry_mm`` along ``direction``."""
    return Insert(needle=label, device=device_id, entry_mm=tuple(float(v) for v in np.asarray(entry_mm, float)),
                  direction=tuple(float(v) for v in np.asarray(direction, float)))


def next_needle_label(used) -> str:
    """``"needle N"`` with N one more than the highest number in use (or ever used)."""
    numbers = [int(m[1]) for label in used if (m := re.fullmatch(r"needle (\d+)", label))]
    return f"needle {max(numbers, default=0) + 1}"


@dataclass(frozen=True)
class SettingField:
    """One lesion setting the ablation panel offers: its name, label, unit, range and default
    (``choices`` for a text setting)."""

    name: str
    label: str
    unit: str
    minimum: float
    maximum: float
    default: float | str | bool
    kind: str = "float"  # float | int | bool | choice
    choices: tuple[str, ...] = ()


def _base_fields(scenario) -> list[SettingField]:
    from simulator.ablation.chemical import AGENTS, CHEMICAL_VOLUME_ML
    from simulator.ablation.cryo import PROBE_TEMPERATURE_C
    from simulator.ablation.rf import RF_DURATION_S, RF_TEMPERATURE_C

    modality = scenario.procedure.modality
    if modality == "rf":
        return [SettingField("set_temperature_c", "Set temperature", "°C", *RF_TEMPERATURE_C, 80.0),
                SettingField("duration_s", "Duration", "s", *RF_DURATION_S, 90.0),
                SettingField("repeats", "Repeats", "", 1, 3, 1, "int")]
    if modality == "cryo":
        return [SettingField("freeze_s", "Freeze", "s", 10.0, 300.0, 90.0),
                SettingField("thaw_s", "Thaw", "s", 0.0, 300.0, 30.0),
                SettingField("cycle_count", "Cycles", "", 1, 3, 2, "int"),
                SettingField("probe_temperature_c", "Probe temperature", "°C", *PROBE_TEMPERATURE_C, -70.0)]
    agents = tuple(scenario.procedure.agents) or tuple(AGENTS)
    low, high = min(AGENTS[a].concentration_pct[0] for a in agents), max(AGENTS[a].concentration_pct[1] for a in agents)
    return [SettingField("agent", "Agent", "", 0, 0, agents[0], "choice", agents),
            SettingField("volume_ml", "Volume", "mL", *CHEMICAL_VOLUME_ML, 0.5),
            SettingField("concentration_pct", "Concentration", "%", low, high, AGENTS[agents[0]].default_pct)]


def setting_fields(scenario) -> list[SettingField]:
    """The settings of the scenario's modality, each limited to what the scenario allows
    (``procedure.allowed``) and its default moved into that range."""
    from dataclasses import replace

    fields = []
    for f in _base_fields(scenario):
        allowed = scenario.procedure.allowed.get(f.name)
        if allowed is not None and f.kind in ("float", "int"):
            low, high = max(f.minimum, allowed.min), min(f.maximum, allowed.max)
            f = replace(f, minimum=low, maximum=high, default=min(max(f.default, low), high))
        fields.append(f)
    return fields


def lesion_settings(modality: str, values: dict) -> dict:
    """The ``settings`` of an Ablate command from the panel's values (a cryo protocol's freeze,
    thaw and cycle count become its ``cycles``)."""
    values = dict(values)
    if modality == "cryo":
        count = int(values.pop("cycle_count", 1))
        freeze, thaw = float(values.pop("freeze_s")), float(values.pop("thaw_s"))
        return {"cycles": [[freeze, thaw]] * count, **values}
    if "repeats" in values:
        values["repeats"] = int(values["repeats"])
    return values
