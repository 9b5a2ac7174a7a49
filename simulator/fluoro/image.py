"""The image chain of a C-arm: quanta, noise, blur, log, window, round field, marker.

From line integrals (``Σ μ·L``, dimensionless) to what the monitor shows
(``shared/reference/fluoroscopy.md`` §2 "Noise" and "Look"):

1. primary transmission ``exp(-Σ μ·L)`` (Beer–Lambert at the beam's effective energy);
2. detected quanta per pixel: the free-in-air detector dose of the frame × 2.3·10⁴ photons per
   mm² per µGy (90 kV, 4 mm Al) × pixel area × efficiency, times the transmission;
3. quantum noise: Gaussian with the Poisson variance (each pixel has tens to thousands of
   quanta), so fewer quanta per frame give a noisier image (drawn by :mod:`~simulator.fluoro._chain`);
4. detector blur (MTF) of about 0.6 pixel, which also correlates the noise;
5. log (``-ln`` of the signal over the unattenuated signal), edge enhancement (unsharp mask,
   as C-arm image processing applies), and a window: automatic (up to the 99th percentile in the
   central third of the field, where automatic brightness control measures, to the 2nd of the
   whole field) or given;
6. radiopaque = dark (clinical monitors), with an ``invert`` switch; the round field of an
   image intensifier (or the square panel) with vignetting, black outside the field and
   outside the collimation; an L/R marker burned in.

Examples
--------
>>> display = Display(invert=True)
>>> display.invert
True
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from simulator._validation import check_range
from simulator.errors import ParameterError
from simulator.fluoro import _chain

__all__ = ["Display", "DetectorModel", "Workspace", "form_image", "field_mask", "in_field", "marker_letter", "burn_marker",
           "PHOTONS_PER_MM2_PER_NGY"]

#: Percentiles of the central field's log image mapped to white and black by the automatic window.
#: The automatic window: black at this percentile of the central third of the field (where
#: automatic brightness control measures), white at this percentile of the whole field (so
#: soft tissue at the field's edge stays grey rather than burning out).
AUTO_BLACK_PERCENTILE, AUTO_WHITE_PERCENTILE = 99.0, 2.0
#: Radius of the automatic window's measuring field, as a fraction of the field's radius.
AUTO_WINDOW_RADIUS = 0.35
#: Photon fluence per air kerma of the 90 kV / 4 mm Al spectrum (reference sheet §2 [D]), 1/(mm²·nGy).
PHOTONS_PER_MM2_PER_NGY = 23.0


@dataclass(frozen=True)
class DetectorModel:
    """The detector's response.

    Parameters
    ----------
    efficiency : float, default: 1.0
        Fraction of incident quanta detected (0.05 to 1; 1 is an ideal detector, the least noise).
    blur_px : float, default: 0.6
        Gaussian sigma of the detector blur, 0 to 3 pixels (reference sheet: MTF ≈ 0.6 px).
    """

    efficiency: float = 1.0
    blur_px: float = 0.6

    def __post_init__(self) -> None:
        check_range(self.efficiency, "efficiency", 0.05, 1.0)
        check_range(self.blur_px, "blur_px", 0.0, 3.0, "px")


@dataclass(frozen=True)
class Display:
    """How the monitor shows the image.

    Parameters
    ----------
    invert : bool, default: False
        False: radiopaque is dark (clinical default); True: radiopaque is bright.
    window : tuple of float or None, default: None
        ``(low, high)`` line-integral range mapped to white..black; ``None`` chooses it from the
        central field (automatic brightness).
    edge_enhancement : float, default: 1.0
        Unsharp-mask gain (9-pixel box), 0 to 3 (0 is off).
    vignetting : float, default: 0.25
        Brightness lost at the rim of the field, 0 to 0.9 (image intensifiers darken outwards).
    noise : bool, default: True
        Quantum noise on (False: the noiseless expected image, for tests and figures).
    marker : bool, default: True
        Burn in the L/R marker.
    frame_averaging : int, default: 1
        The last-image hold of a run shows the mean of its last ``frame_averaging`` frames (a
        temporal filter; 1 to 16): its noise falls as 1/√frames. A single shot has one frame.
    """

    invert: bool = False
    window: tuple[float, float] | None = None
    edge_enhancement: float = 1.0
    vignetting: float = 0.25
    noise: bool = True
    marker: bool = True
    frame_averaging: int = 1

    def __post_init__(self) -> None:
        check_range(self.edge_enhancement, "edge_enhancement", 0.0, 3.0)
        check_range(self.vignetting, "vignetting", 0.0, 0.9)
        if isinstance(self.frame_averaging, bool) or not isinstance(self.frame_averaging, (int, np.integer)) \
                or not 1 <= self.frame_averaging <= 16:
            raise ParameterError("frame_averaging", self.frame_averaging, "a whole number of frames, 1 to 16")
        if self.window is not None:
            try:
                low, high = (float(v) for v in self.window)
            except (TypeError, ValueError):
                raise ParameterError("window", self.window, "None or (low, high) line integrals with low < high") from None
            if not (np.isfinite(low) and np.isfinite(high) and low < high):
                raise ParameterError("window", self.window, "None or (low, high) line integrals with low < high")


class Workspace:
    """Scratch images reused from frame to frame (one set per image size).

    Examples
    --------
    >>> workspace = Workspace()
    >>> workspace.buffer("signal", (4, 4)) is workspace.buffer("signal", (4, 4))
    True
    """

    def __init__(self) -> None:
        self._buffers: dict[tuple[str, tuple[int, ...]], np.ndarray] = {}

    def buffer(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """The float32 buffer ``name`` of ``shape`` (contents undefined)."""
        key = (name, tuple(shape))
        if key not in self._buffers:
            if len(self._buffers) > 16:
                self._buffers.clear()
            self._buffers[key] = np.empty(shape, np.float32)
        return self._buffers[key]


def in_field(rows: np.ndarray, cols: np.ndarray, pixels: int, field_fraction: float, circular: bool) -> np.ndarray:
    """Whether pixel coordinates ``(rows, cols)`` lie in the exposed field of a ``pixels²`` image.

    ``field_fraction`` is the field's diameter (round) or side (square) over the detector side.

    Examples
    --------
    >>> in_field(np.array([255.5, 0.0]), np.array([255.5, 0.0]), 512, 1.0, True).tolist()
    [True, False]
    """
    half = 0.5 * pixels
    dr, dc = (np.asarray(rows, float) - 0.5 * (pixels - 1)) / half, (np.asarray(cols, float) - 0.5 * (pixels - 1)) / half
    if circular:
        return np.hypot(dr, dc) <= field_fraction
    return (np.abs(dr) <= field_fraction) & (np.abs(dc) <= field_fraction)


@lru_cache(maxsize=8)
def field_mask(pixels: int, field_fraction: float, circular: bool) -> tuple[np.ndarray, np.ndarray]:
    """The exposed field (bool, :func:`in_field` on every pixel) and the normalised radius ``ρ/R``
    (float32) of a ``pixels²`` image; both read-only."""
    rows, cols = np.mgrid[0:pixels, 0:pixels]
    inside = in_field(rows, cols, pixels, field_fraction, circular)
    offsets = (np.arange(pixels) - 0.5 * (pixels - 1)) / (0.5 * pixels)
    radius = np.sqrt(offsets[:, None] ** 2 + offsets[None, :] ** 2).astype(np.float32)
    inside.setflags(write=False)
    radius.setflags(write=False)
    return inside, radius


def form_image(line_integrals: np.ndarray, quanta_per_pixel: float, *, field_fraction: float = 1.0,
               circular: bool = True, display: Display = Display(), detector: DetectorModel = DetectorModel(),
               rng: np.random.Generator | int | None = None, workspace: Workspace | None = None,
               frames_averaged: int = 1) -> tuple[np.ndarray, tuple[float, float]]:
    """Turn line integrals into the displayed image.

    Parameters
    ----------
    line_integrals : numpy.ndarray, shape (n, n)
        ``Σ μ·L`` per pixel (dimensionless).
    quanta_per_pixel : float
        Quanta reaching a pixel without attenuation (this frame's dose × fluence × area).
    field_fraction : float, default: 1
        Exposed field (collimation) over the detector size.
    circular : bool, default: True
        Round image-intensifier field (False: square flat panel).
    display, detector : Display, DetectorModel
        Monitor and detector settings.
    rng : numpy.random.Generator or int or None
        Source of the noise (an int seeds a new generator); one 63-bit seed is drawn from it.
    workspace : Workspace, optional
        Scratch buffers to reuse between frames (the returned image is always a new array).
    frames_averaged : int, default: 1
        Frames of the same anatomy averaged into the image (noise / √frames).

    Returns
    -------
    image : numpy.ndarray, shape (n, n), float32
        Grey levels in [0, 1]; 0 is black.
    window : tuple of float
        The line-integral window used (low shows white, high black, unless inverted).
    """
    if not quanta_per_pixel > 0.0:
        raise ParameterError("quanta_per_pixel", quanta_per_pixel, "a positive number of quanta")
    attenuation = np.ascontiguousarray(line_integrals, dtype=np.float32)
    if attenuation.ndim != 2 or attenuation.shape[0] != attenuation.shape[1]:
        raise ParameterError("line_integrals", f"array of shape {attenuation.shape}", "a square 2-D image")
    quanta = float(quanta_per_pixel * detector.efficiency)
    seed = int(np.random.default_rng(rng).integers(0, 2**63 - 1)) if display.noise else 0
    workspace = workspace or Workspace()
    shape = attenuation.shape
    signal, scratch, other = (workspace.buffer(name, shape) for name in ("signal", "scratch", "other"))
    if not 1 <= int(frames_averaged) <= 10_000:
        raise ParameterError("frames_averaged", frames_averaged, "1 to 10,000 frames")
    noise_scale = 1.0 / np.sqrt(int(frames_averaged)) if display.noise else 0.0
    _chain.detected_signal(attenuation, quanta, seed, noise_scale, signal)
    if detector.blur_px > 0.0:
        _chain.separable_blur(signal, _gaussian_weights(detector.blur_px), scratch, other)
        signal, other = other, signal
    # The log image: the line integrals as the detector estimates them (at least half a quantum).
    estimate = other
    _chain.log_estimate(signal, quanta, 0.5, estimate)
    if display.edge_enhancement > 0.0:
        _chain.box_sharpen(estimate, 9, float(display.edge_enhancement), scratch, signal)
        estimate = signal
    inside, radius = field_mask(attenuation.shape[0], float(field_fraction), bool(circular))
    if display.window is None:
        low, high = _chain.histogram_percentiles(estimate, inside, radius, AUTO_WINDOW_RADIUS * field_fraction,
                                                 AUTO_BLACK_PERCENTILE, AUTO_WHITE_PERCENTILE, -1.0, 31.0, 16384)
        high = max(high, low + 1e-3)
    else:
        low, high = (float(v) for v in display.window)
    grey = np.empty(shape, np.float32)
    _chain.display_map(estimate, low, high, display.invert, float(display.vignetting), max(float(field_fraction), 1e-6),
                       inside, radius, grey)
    return grey, (float(low), float(high))


@lru_cache(maxsize=8)
def _gaussian_weights(sigma_px: float) -> np.ndarray:
    half = max(1, int(np.ceil(2.5 * sigma_px)))
    x = np.arange(-half, half + 1, dtype=float)
    weights = np.exp(-0.5 * (x / sigma_px) ** 2)
    return weights / weights.sum()


# -- the L/R marker ------------------------------------------------------------------------------
_GLYPHS = {
    "L": ("10000", "10000", "10000", "10000", "10000", "10000", "11111"),
    "R": ("11110", "10001", "10001", "11110", "10100", "10010", "10001"),
}


def marker_letter(col_axis: np.ndarray, beam_direction: np.ndarray) -> str:
    """Which patient side the marker names: the side towards the image's left edge, or, when the
    image's left-right runs front-to-back (a lateral), the side nearest the detector."""
    towards_left_edge = -np.asarray(col_axis, dtype=float)
    if abs(towards_left_edge[0]) >= 0.5:
        return "L" if towards_left_edge[0] > 0 else "R"
    return "L" if beam_direction[0] > 0 else "R"


def burn_marker(image: np.ndarray, letter: str) -> None:
    """Write ``letter`` (L or R) in white near the top-left of the field, in place."""
    glyph = np.array([[c == "1" for c in row] for row in _GLYPHS[letter]])
    n = image.shape[0]
    scale = max(1, n // 128)
    big = np.kron(glyph, np.ones((scale, scale), bool))
    # Inside the round field: at 0.62 of its radius along the upper-left diagonal.
    top = left = int(0.5 * n - 0.62 * 0.5 * n / np.sqrt(2.0))
    region = image[top:top + big.shape[0], left:left + big.shape[1]]
    region[big[:region.shape[0], :region.shape[1]]] = 1.0
