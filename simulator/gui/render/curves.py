"""A lesion's time course (the ``time_course`` of its logged facts) as series to draw."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Series", "lesion_series", "SERIES_LABELS"]

#: How the curves of the ablation models are named on the screen.
SERIES_LABELS = {"electrode_c": "electrode", "beyond_tip_1mm_c": "1 mm beyond the tip", "lateral_2mm_c": "2 mm to the side",
                 "power_w": "power"}


@dataclass(frozen=True)
class Series:
    """One curve: its name, unit and points (``time_s``, ``values``; ``None`` where undefined)."""

    name: str
    label: str
    unit: str
    time_s: tuple[float, ...]
    values: tuple[float | None, ...]


def lesion_series(facts: dict) -> list[Series]:
    """The curves of a lesion's facts that share the first curve's unit (°C for heat and cold,
    % for an agent): the electrode or tip first."""
    course = facts.get("time_course") or {}
    units = course.get("units", {})
    names = list(course.get("series", {}))
    if not names:
        return []
    unit = units.get(names[0], "")
    return [Series(n, SERIES_LABELS.get(n, n.replace("_", " ")), unit, tuple(course["time_s"]), tuple(course["series"][n]))
            for n in names if units.get(n, "") == unit]
