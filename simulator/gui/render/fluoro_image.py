"""Fluoroscopy images for the monitor: a core shot as a :class:`~simulator.gui.model.ShotView`
and a Qt image, and the live (unlogged) frames shown while the pedal is held."""

from __future__ import annotations

import numpy as np
from PyQt6.QtGui import QImage

__all__ = ["shot_view", "live_frame", "to_qimage"]


def shot_view(shot, t_s: float, *, mode: str = "single", live: bool = False):
    """The monitor's view of a :class:`simulator.fluoro.Shot` taken at session time ``t_s`` (s)."""
    from simulator.gui.model import ShotView

    return ShotView(shot.to_uint8(), shot.projection.pose.describe(), float(t_s), live=live, mode=mode)


def live_frame(context, state, frame: int, *, mode: str = "pulsed"):
    """One frame of a run in progress at ``state``: the image a logged Shot of this run would
    show, with the noise of frame number ``frame`` (not logged, no dose added here: the run is
    logged, with its whole dose, when the pedal is released)."""
    from simulator.fluoro import Exposure
    from simulator.procedure import current_pose

    exposure = Exposure(mode, 1.0 / 8.0)
    seed = np.random.SeedSequence([context.seed, len(state.shots), 1_000_000 + frame])
    return context.fluoroscope.shot(current_pose(state), needles=list(state.needles.values()), exposure=exposure,
                                    rng=np.random.default_rng(seed), automatic_brightness=True)


def to_qimage(image: np.ndarray) -> QImage:
    """An 8-bit grey image ``(row, col)`` as a :class:`QImage` (its own copy of the pixels)."""
    pixels = np.ascontiguousarray(image, dtype=np.uint8)
    rows, cols = pixels.shape
    return QImage(pixels.data, cols, rows, cols, QImage.Format.Format_Grayscale8).copy()
