"""Patient parameters of the procedural anatomy generator, with their allowed ranges.

A :class:`PatientParameters` is a frozen value: change one field with :meth:`replace`.
Construction validates every field and raises :class:`~simulator.errors.ParameterError`
naming the field, the value received and the allowed range.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from simulator._validation import check_range
from simulator.errors import ParameterError

__all__ = ["PatientParameters", "PARAMETER_RANGES"]

#: Allowed range and unit of every parameter: name -> (low, high, unit, meaning).
PARAMETER_RANGES: dict[str, tuple[float, float, str, str]] = {
    "size_scale": (0.85, 1.2, "", "overall size: multiplies every length of the default adult"),
    "lordosis_deg": (10.0, 70.0, "deg", "prone lumbar lordosis L1-S1 (default 36.8, recumbent adults)"),
    "fat_thickness_mm": (5.0, 80.0, "mm", "subcutaneous fat thickness over the lumbar back"),
    "scoliosis_cobb_deg": (-45.0, 45.0, "deg", "lumbar Cobb angle L1-L5; positive = convex to the patient's left"),
    "scoliosis_rotation_deg": (0.0, 30.0, "deg", "axial rotation of the apical vertebra (L3) towards the convexity"),
}


@dataclass(frozen=True)
class PatientParameters:
    """Parameters of one generated patient.

    Parameters
    ----------
    size_scale : float, default: 1.0
        Multiplies every length of the default adult (0.85 to 1.2).
    lordosis_deg : float, default: 36.8
        Prone lumbar lordosis L1–S1 in degrees (10 to 70). The default is the recumbent mean
        of 627 adults (Asian Spine J 2019); it is split between segments in the standing
        proportions (Sci Rep 2022).
    fat_thickness_mm : float, default: 15.0
        Subcutaneous fat thickness over the lumbar back in mm (5 to 80).
    scoliosis_cobb_deg : float, default: 0.0
        Lumbar Cobb angle between the L1 superior and L5 inferior endplates in degrees
        (−45 to 45); positive means the curve is convex to the patient's left.
    scoliosis_rotation_deg : float, default: 0.0
        Axial rotation of the apical vertebra (L3) towards the convexity in degrees (0 to 30),
        tapering to zero at L1 and the sacrum.

    Examples
    --------
    >>> PatientParameters(fat_thickness_mm=40).fat_thickness_mm
    40.0
    """

    size_scale: float = 1.0
    lordosis_deg: float = 36.8
    fat_thickness_mm: float = 15.0
    scoliosis_cobb_deg: float = 0.0
    scoliosis_rotation_deg: float = 0.0

    def __post_init__(self) -> None:
        for field in fields(self):
            low, high, unit, _ = PARAMETER_RANGES[field.name]
            object.__setattr__(self, field.name, check_range(getattr(self, field.name), field.name, low, high, unit))

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str | None = None) -> "PatientParameters":
        """Build from a mapping (e.g. a scenario file's ``[patient]`` table).

        Unknown keys are rejected with the list of known ones; ``source`` names the file in
        error messages.
        """
        known = [field.name for field in fields(cls)]
        for key in values:
            if key not in known:
                raise ParameterError(key, values[key], f"one of the parameters {', '.join(known)}", source)
        try:
            return cls(**values)
        except ParameterError as error:
            raise ParameterError(error.name, error.value, error.allowed, source) from None

    def replace(self, **changes: float) -> "PatientParameters":
        """Return a copy with some fields changed (validated)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, float]:
        """Return the parameters as a plain dict (for manifests and scenario files)."""
        return asdict(self)
