"""The report a trainee reads: what was done, how big the lesion is, what it reached.

Examples
--------
>>> print(result.report)                                            # doctest: +SKIP
Radiofrequency: 80 °C for 90 s (10 s ramp), 18 G cannula, 10 mm active tip (scene).
Lesion (Arrhenius Ω ≥ 1, liver set): 306 mm³, 12.8 mm long along the needle and 6.7 mm wide; ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from simulator.ablation.result import LesionResult

__all__ = ["describe", "MIN_NERVE_LENGTH_MM"]

#: Nerve length a lesion should contain (procedure.md §6, checklist item 13: "≥ 4 mm of MB length").
MIN_NERVE_LENGTH_MM = 4.0

_LESSON = {
    "rf": "Heat spreads sideways from the whole active tip but little beyond its end, so an electrode laid along "
          "the nerve destroys a long stretch of it and one pointing at the nerve only a short one; a thicker "
          "electrode, a longer time and a higher temperature make the lesion wider.",
    "cryo": "Only the part of the ice ball colder than the lethal temperature destroys the nerve; the ice ball "
            "itself, which is what you would see on ultrasound, is larger than the lesion.",
    "chemical": "An injected agent stays mostly where the injection put it: the lesion is about the size of the "
                "bolus, so the volume injected, not diffusion, decides how far it reaches.",
}


def describe(result: "LesionResult") -> str:
    """A few sentences explaining ``result`` in plain words."""
    size = result.size
    lines = [f"{result.settings.summary()} ({result.site})."]
    if size.volume_mm3 == 0.0:
        lines.append(f"No lesion: nowhere did the tissue meet the criterion ({result.lesion_definition}).")
    else:
        lines.append(f"Lesion ({result.lesion_definition}): {size.volume_mm3:.0f} mm³, {size.length_mm:.1f} mm long "
                     f"along the needle and {size.width_mm:.1f} mm wide; it reaches {size.radial_reach_mm:.1f} mm "
                     f"beyond the probe's surface and {size.distal_reach_mm:.1f} mm beyond its tip.")
    for zone in result.zones.values():
        if zone.size.volume_mm3 > 0.0:
            lines.append(f"{zone.description}: {zone.size.volume_mm3:.0f} mm³, {zone.size.width_mm:.1f} mm wide and "
                         f"{zone.size.length_mm:.1f} mm long.")
        else:
            lines.append(f"{zone.description}: none.")
    if result.target_id is not None and result.target_length_mm is not None:
        length, target = result.target_length_mm, result.target_id
        if length >= MIN_NERVE_LENGTH_MM:
            lines.append(f"It takes in {length:.1f} mm of {target} ({100 * result.target_fraction:.0f} % of the nerve): "
                         f"enough, since at least {MIN_NERVE_LENGTH_MM:g} mm of the nerve should lie in the lesion.")
        elif length > 0.0:
            lines.append(f"It takes in only {length:.1f} mm of {target}; at least {MIN_NERVE_LENGTH_MM:g} mm are needed: "
                         "lay the active tip closer to the nerve and along it.")
        else:
            lines.append(f"It misses {target}: the nerve survives and the pain will too.")
    if result.site.startswith("scene"):
        if result.critical_ids:
            reached = ", ".join(f"{s} ({result.damaged_mm3[s]:.1f} mm³)" for s in result.critical_ids)
            lines.append(f"It also reaches {reached}, which must be spared.")
        else:
            lines.append("No structure that must be spared (roots, ganglia, rami, dura, vessels) is reached.")
    lines.append(_LESSON[result.modality])
    return "\n".join(lines)
