"""Measurements on a scene used by the inventory and the tests (mm, patient frame)."""

from __future__ import annotations

import numpy as np

__all__ = ["skin_depth_mm"]


def skin_depth_mm(scene, landmark: str, direction: tuple[float, float, float] = (0.0, 1.0, 0.0)) -> float:
    """Distance from a landmark to the skin surface along ``direction`` (default: straight back).

    Prone, straight back is straight up: the depth a vertical needle would travel.
    """
    target = scene.landmark(landmark)
    unit = np.asarray(direction, dtype=float) / np.linalg.norm(direction)
    far = target + unit * 400.0
    crossings = [c for c in scene.segment_crossings(far, target, include_body=True) if c.structure_id == "body"]
    if not crossings:
        raise ValueError(f"no skin found along {direction} from {landmark}")
    return float(np.linalg.norm(far - target) - crossings[0].entry_mm)
