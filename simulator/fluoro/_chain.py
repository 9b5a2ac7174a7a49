"""Compiled per-pixel kernels of the image chain (:mod:`simulator.fluoro.image` calls them).

numpy needed about 8 ms for the chain at 512² (2 ms of them drawing normal deviates), more than
the 5 ms a needle-only frame may take; these fused, threaded loops take about 2.5 ms
(``benchmarks/bench_fluoro.py``, ``docs/benchmarks.md``). They write into buffers the caller
keeps (:class:`~simulator.fluoro.image.Workspace`): on this VM a fresh 4 MB array costs several
milliseconds of page faults when first written.

Noise comes from a counter-based generator: each pixel hashes (seed, index) with splitmix64
and sums its four 16-bit parts (Irwin–Hall, rescaled to unit variance: Gaussian within ±3.5σ),
so a frame is reproducible from one seed drawn from the caller's ``numpy.random.Generator``
whatever the number of threads.
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["weighted_channel_sum", "detected_signal", "separable_blur", "log_estimate", "box_sharpen", "histogram_percentiles", "display_map"]

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


@numba.njit(cache=True, inline="always")
def _splitmix64(x):  # pragma: no cover
    x = (x + np.uint64(0x9E3779B97F4A7C15)) & _MASK64
    x = ((x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK64
    x = ((x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK64
    return x ^ (x >> np.uint64(31))


@numba.njit(cache=True, parallel=True)
def weighted_channel_sum(weights, channels, base_weight, base, out):  # pragma: no cover
    """``out = base_weight · base + Σ_k weights[k] · channels[k]`` (line integrals from path lengths)."""
    rows, cols = out.shape
    for r in numba.prange(rows):
        for c in range(cols):
            total = base_weight * base[r, c]
            for k in range(weights.shape[0]):
                total += weights[k] * channels[k, r, c]
            out[r, c] = total


@numba.njit(cache=True, parallel=True)
def detected_signal(line_integrals, quanta, seed, noise_scale, out):  # pragma: no cover
    """``out = q·exp(-A)`` plus Gaussian noise of standard deviation ``noise_scale·√(q·exp(-A))``
    (1: one frame's quantum noise; 1/√k: the mean of k frames; 0: none)."""
    rows, cols = line_integrals.shape
    # Sum of four uniforms on [0, 65535]: mean 131070, variance 4 · (65536² - 1) / 12.
    mean = 2.0 * 65535.0
    scale = 1.0 / math.sqrt(4.0 * (65536.0 * 65536.0 - 1.0) / 12.0)
    for r in numba.prange(rows):
        for c in range(cols):
            expected = quanta * math.exp(-line_integrals[r, c])
            if noise_scale > 0.0:
                bits = _splitmix64(np.uint64(seed) + np.uint64(r * cols + c) * np.uint64(0xD1B54A32D192ED03))
                total = float(bits & np.uint64(0xFFFF)) + float((bits >> np.uint64(16)) & np.uint64(0xFFFF)) \
                    + float((bits >> np.uint64(32)) & np.uint64(0xFFFF)) + float(bits >> np.uint64(48))
                expected += noise_scale * math.sqrt(expected) * (total - mean) * scale
            out[r, c] = expected


@numba.njit(cache=True, inline="always")
def _convolve_row(source, weights, out_row):  # pragma: no cover
    """``out_row = source ⊛ weights`` along one row, edges clamped; the inner loops run over
    contiguous pixels so they vectorise."""
    cols = source.shape[0]
    half = weights.shape[0] // 2
    out_row[:] = 0.0
    for k in range(-half, half + 1):
        w = weights[k + half]
        lo, hi = max(0, -k), min(cols, cols - k)
        for c in range(lo, hi):
            out_row[c] += w * source[c + k]
        for c in range(0, lo):
            out_row[c] += w * source[0]
        for c in range(hi, cols):
            out_row[c] += w * source[cols - 1]


@numba.njit(cache=True, parallel=True)
def _convolve_columns(source, weights, out):  # pragma: no cover
    """``out = source ⊛ weights`` down the columns, edges clamped, one output row at a time."""
    rows, cols = source.shape
    half = weights.shape[0] // 2
    for r in numba.prange(rows):
        for c in range(cols):
            out[r, c] = 0.0
        for k in range(-half, half + 1):
            w = weights[k + half]
            rr = min(max(r + k, 0), rows - 1)
            for c in range(cols):
                out[r, c] += w * source[rr, c]


@numba.njit(cache=True, parallel=True)
def _convolve_rows(source, weights, out):  # pragma: no cover
    for r in numba.prange(source.shape[0]):
        _convolve_row(source[r], weights, out[r])


@numba.njit(cache=True)
def separable_blur(image, weights, scratch, out):  # pragma: no cover
    """Convolve with ``weights`` (odd length) along rows then columns, edges clamped."""
    _convolve_rows(image, weights, scratch)
    _convolve_columns(scratch, weights, out)


@numba.njit(cache=True, parallel=True)
def log_estimate(signal, quanta, floor, out):  # pragma: no cover
    """``out = ln(q) - ln(max(signal, floor))``: the line integrals the detector measured."""
    rows, cols = signal.shape
    log_q = math.log(quanta)
    for r in numba.prange(rows):
        for c in range(cols):
            out[r, c] = log_q - math.log(max(signal[r, c], floor))


@numba.njit(cache=True, parallel=True)
def _unsharp(image, mean, gain, out):  # pragma: no cover
    rows, cols = image.shape
    for r in numba.prange(rows):
        for c in range(cols):
            out[r, c] = image[r, c] + gain * (image[r, c] - mean[r, c])


@numba.njit(cache=True)
def box_sharpen(image, size, gain, scratch, out):  # pragma: no cover
    """Unsharp mask: ``out = image + gain · (image - box_mean(image))``, a ``size``-pixel box, edges clamped."""
    box = np.full(size, 1.0 / size)
    _convolve_rows(image, box, scratch)
    _convolve_columns(scratch, box, out)
    _unsharp(image, out, gain, out)


@numba.njit(cache=True)
def histogram_percentiles(image, inside, radius, central_radius, black_percentile, white_percentile, low, high, bins):  # pragma: no cover
    """(white level, black level): ``white_percentile`` of the pixels ``inside`` and
    ``black_percentile`` of those also within ``central_radius``, from histograms of every
    second pixel over [low, high] with ``bins`` bins."""
    rows, cols = image.shape
    whole = np.zeros(bins, np.int64)
    central = np.zeros(bins, np.int64)
    width = (high - low) / bins
    for r in range(0, rows, 2):
        for c in range(0, cols, 2):
            if inside[r, c]:
                b = int((image[r, c] - low) / width)
                b = min(max(b, 0), bins - 1)
                whole[b] += 1
                if radius[r, c] <= central_radius:
                    central[b] += 1
    result = np.empty(2)
    for k, (histogram, percentile) in enumerate(((whole, white_percentile), (central, black_percentile))):
        target = histogram.sum() * percentile / 100.0
        running = 0
        level = high
        for b in range(bins):
            running += histogram[b]
            if running >= target:
                level = low + (b + 0.5) * width
                break
        result[k] = level
    return result[0], result[1]


@numba.njit(cache=True, parallel=True)
def display_map(estimate, low, high, invert, vignetting, field_fraction, inside, radius, out):  # pragma: no cover
    """Window to [0, 1] (radiopaque dark unless ``invert``), vignetting, black outside the field."""
    rows, cols = estimate.shape
    scale = 1.0 / (high - low)
    for r in numba.prange(rows):
        for c in range(cols):
            if not inside[r, c]:
                out[r, c] = 0.0
                continue
            grey = min(max((estimate[r, c] - low) * scale, 0.0), 1.0)
            if not invert:
                grey = 1.0 - grey
            rho = min(radius[r, c] / field_fraction, 1.0)
            out[r, c] = grey * (1.0 - vignetting * rho * rho)
