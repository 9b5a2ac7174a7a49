"""A lesion's time course as series to draw: from its logged facts once it is made, or from
the progress reports of the model while it runs (the live curve)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Series", "lesion_series", "progress_series", "SERIES_LABELS"]

#: How the curves of the ablation models are named on the screen.
SERIES_LABELS = {"electrode_c": "electrode", "probe_c": "probe", "tip_pct": "at the tip",
                 "beyond_tip_1mm_c": "1 mm beyond the tip", "beyond_tip_1mm_pct": "1 mm beyond the tip",
                 "lateral_2mm_c": "2 mm to the side", "lateral_2mm_pct": "2 mm to the side", "power_w": "power"}


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
    names = _in_screen_order(course.get("series", {}))
    if not names:
        return []
    unit = units.get(names[0], "")
    return [Series(n, SERIES_LABELS.get(n, n.replace("_", " ")), unit, tuple(course["time_s"]), tuple(course["series"][n]))
            for n in names if units.get(n, "") == unit]


def progress_series(reports: list) -> list[Series]:
    """The curves so far of a lesion being computed, from its
    :class:`~simulator.ablation.solver.LesionProgress` reports (in order): the same names,
    labels and unit as :func:`lesion_series` gives once the lesion is made."""
    if not reports:
        return []
    time_s = tuple(r.time_s for r in reports)
    unit = reports[-1].unit
    return [Series(n, SERIES_LABELS.get(n, n.replace("_", " ")), unit, time_s,
                   tuple(r.values.get(n) for r in reports)) for n in _in_screen_order(reports[-1].values)]


def _in_screen_order(names) -> list[str]:
    """The probe's curve first, then the watched points, the same order (and colours) whether
    the series come live or from a log (whose keys a JSON writer may have sorted)."""
    known = list(SERIES_LABELS)
    return sorted(names, key=lambda n: (known.index(n) if n in known else len(known), n))
