"""A shot in machine-readable form: pose, geometry, landmark pixels, exposure and dose."""

from __future__ import annotations

import numpy as np

from simulator.fluoro.dose import DoseRecord
from simulator.fluoro.fluoroscope import Shot
from simulator.fluoro.image import in_field
from simulator.fluoro.projection import project_points

__all__ = ["shot_summary"]


def shot_summary(shot: Shot, landmarks_mm: dict[str, np.ndarray], record: DoseRecord | None = None) -> dict:
    """A JSON-ready dict of ``shot``: its pose, geometry, marker, exposure and dose, and the
    ``(row, col)`` pixel of each named point (mm, patient frame) with whether it is in the field.

    Examples
    --------
    >>> summary = shot_summary(shot, scene.landmarks_mm)          # doctest: +SKIP
    >>> summary["landmarks_px"]["pedicle_L4_right"]               # doctest: +SKIP
    {'row': 231.4, 'col': 318.02, 'in_field': True}
    """
    geometry = shot.projection.geometry
    names = sorted(landmarks_mm)
    pixels = project_points(shot.projection, np.array([landmarks_mm[n] for n in names], dtype=float).reshape(-1, 3))
    inside = in_field(pixels[:, 0], pixels[:, 1], geometry.pixels, geometry.field_size_mm / geometry.detector_size_mm,
                      geometry.circular_field)
    technique = shot.exposure.technique
    return {
        "pose": shot.projection.pose.to_dict(),
        "geometry": {"pixels": geometry.pixels, "pixel_spacing_mm": geometry.pixel_spacing_mm,
                     "pixel_spacing_at_isocenter_mm": shot.pixel_spacing_at_isocenter_mm,
                     "source_to_image_mm": geometry.source_to_image_mm,
                     "source_to_isocenter_mm": geometry.source_to_isocenter_mm, "field_size_mm": geometry.field_size_mm,
                     "image_orientation": "(row, col) from the top left; in AP the head is up and the patient's left "
                                          "on the image's left (PA view)"},
        "marker": shot.marker,
        "exposure": {"mode": shot.exposure.mode, "duration_s": shot.exposure.duration_s, "kvp": technique.kvp,
                     "tube_current_ma": technique.tube_current_ma, "pulse_width_ms": technique.pulse_width_ms,
                     "pulse_rate_hz": technique.pulse_rate_hz, "effective_energy_kev": round(shot.energy_kev, 2),
                     "automatic_brightness_limited": shot.abc_limited},
        "dose": {"air_kerma_mgy": round(shot.dose.air_kerma_mgy, 5), "dap_gy_cm2": round(shot.dose.dap_gy_cm2, 6),
                 **({"session": record.to_dict()} if record is not None else {})},
        "landmarks_px": {name: {"row": round(float(r), 2), "col": round(float(c), 2), "in_field": bool(ok)}
                         for name, (r, c), ok in zip(names, pixels, inside)},
    }
