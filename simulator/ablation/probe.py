"""The active part of a needle on a lesion grid: an RF electrode or a cryoprobe's freezing tip.

The active tip is a cylinder of the device's outer radius along the grid's ``k`` axis, from the
end of the insulation to the tip, closed distally by a hemisphere (a blunt electrode tip) and
flat proximally where the insulated shaft begins. The insulated shaft itself is modelled as the
surrounding tissue (its steel core would carry some heat along it: a simplification stated in
docs/ablation.md).

Examples
--------
>>> from simulator.ablation.grid import needle_grid
>>> grid = needle_grid([0, 0, -10.0], [0, 0, 0.0], margin_mm=3.0, spacing_mm=0.25)
>>> shape = ProbeShape(radius_mm=0.635, active_mm=10.0)
>>> body = probe_body(grid, shape)
>>> body.node_count > 0
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator._validation import check_range
from simulator.ablation.grid import LesionGrid
from simulator.ablation.solver import Body, body_from_sdf
from simulator.errors import ParameterError
from simulator.needle import Needle

__all__ = ["ProbeShape", "probe_shape", "probe_body", "probe_sdf", "block_needle"]


@dataclass(frozen=True)
class ProbeShape:
    """Radius (mm) and active length (mm, from the insulation's end to the tip) of a probe."""

    radius_mm: float
    active_mm: float

    def __post_init__(self) -> None:
        check_range(self.radius_mm, "radius_mm", 0.1, 2.0, "mm")
        check_range(self.active_mm, "active_mm", 0.0, 30.0, "mm")


def probe_shape(needle: Needle, kind: str) -> ProbeShape:
    """The active tip of ``needle``, which must be a device of ``kind`` ("rf_cannula" or "cryoprobe")."""
    if needle.model.kind != kind:
        raise ParameterError("needle", needle.model.id, f"a device of kind {kind} (this one is {needle.model.kind})")
    start, tip = needle.active_segment_mm
    length = float(np.linalg.norm(tip - start))
    if length < needle.model.radius_mm:
        raise ParameterError("needle", needle.model.id, f"a needle whose active tip is in tissue (only {length:.1f} mm "
                             "of it is past the skin)")
    return ProbeShape(needle.model.radius_mm, length)


def probe_sdf(grid: LesionGrid, shape: ProbeShape):
    """Signed distance (mm, negative inside) of the probe, for points in the grid's local mm."""
    ax, ay = grid.axis_local_mm
    tip = grid.tip_local_mm
    start = tip - shape.active_mm
    cap_centre = max(tip - shape.radius_mm, start)

    def sdf(local: np.ndarray) -> np.ndarray:
        radial = np.hypot(local[:, 0] - ax, local[:, 1] - ay)
        along = np.clip(local[:, 2], start, cap_centre)
        capsule = np.hypot(radial, local[:, 2] - along) - shape.radius_mm
        return np.maximum(capsule, start - local[:, 2])

    return sdf


def probe_body(grid: LesionGrid, shape: ProbeShape) -> Body:
    """The probe's nodes and surface distances on ``grid`` (see :func:`body_from_sdf`)."""
    return body_from_sdf(grid, probe_sdf(grid, shape))


def block_needle(device_id: str, *, depth_mm: float = 50.0) -> Needle:
    """A needle of the catalogue in a tissue block: straight, along the patient's +z, with its
    tip at the origin (``depth_mm`` of shaft behind it), for bench-style models."""
    from simulator.devices import device

    model = device(device_id)
    depth = check_range(depth_mm, "depth_mm", model.active_tip_mm + 1.0, model.length_mm, "mm")
    return Needle("block needle", model, np.array([0.0, 0.0, -depth]), np.array([0.0, 0.0, 1.0]), depth_mm=depth)
