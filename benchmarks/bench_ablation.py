"""Benchmark of the ablation models: one RF, one cryo and one chemical lesion at the default resolution.

Run from the repository root::

    .venv/bin/python benchmarks/bench_ablation.py [--repeat 5] [--accuracy]

Rows: an 80 °C, 90 s RF lesion with the 18 G / 10 mm cannula (ex-vivo muscle block, perfused
block, and at the textbook needle on the right L4 medial branch of the default patient, tissue
sampling included), a 2-cycle cryo lesion (14 G probe at −70 °C, 90 s freeze / 30 s thaw × 2,
perfused muscle) and a 1 mL, 95 % ethanol injection (perfused muscle, 30 min). Each is run once
untimed (numba loads its compiled kernel from the cache, or compiles it on a fresh checkout),
then ``--repeat`` times; the table gives the median and minimum wall time, the grid, the steps
and the load average. ``--accuracy`` also runs each block lesion at half the spacing and gives
the change in width (the convergence figure of docs/ablation.md).

``--numpy`` then runs the same lesions (once each) with ``tests/ablation/numpy_step.py``, the
vectorised numpy restatement of the compiled step that the tests check it against, and the last
rows time a bare numpy 7-point step (the linear stencil only: no phase change, no probe
surface, no damage) on the same grids: the numpy figures are the evidence for numba in
docs/benchmarks.md. Nothing is asserted; the aims are RF < 1 s, cryo < 2 s, chemical < 1 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from simulator.ablation import (ChemicalSettings, CryoSettings, RFSettings, TissueBlock, block_needle, chemical_lesion,
                                cryo_lesion, rf_lesion)


def _timed(function, repeat: int):
    result = function()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        samples.append(time.perf_counter() - start)
    return result, statistics.median(samples), min(samples)


def _numpy_step_ms(shape: tuple[int, int, int], repeat: int = 50) -> float:
    """One explicit step of the linear 7-point stencil in numpy (preallocated, in-place), ms."""
    rng = np.random.default_rng(0)
    t = 37.0 + rng.random(shape)
    faces = [np.full(tuple(n - (a == axis) for a, n in enumerate(shape)), 0.1) for axis in range(3)]
    flux = [np.empty(f.shape) for f in faces]
    change = np.empty(shape)
    start = time.perf_counter()
    for _ in range(repeat):
        change.fill(0.0)
        for axis in range(3):
            high = tuple(slice(1, None) if a == axis else slice(None) for a in range(3))
            low = tuple(slice(None, -1) if a == axis else slice(None) for a in range(3))
            np.subtract(t[high], t[low], out=flux[axis])
            flux[axis] *= faces[axis]
            change[low] += flux[axis]
            change[high] -= flux[axis]
        change *= 0.01
        t += change
    return (time.perf_counter() - start) / repeat * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--accuracy", action="store_true", help="also run the block lesions at half the spacing")
    parser.add_argument("--numpy", action="store_true", help="also time the lesions with the numpy restatement of the step")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy "
          f"{np.__version__}; load average at start {os.getloadavg()[0]:.2f}")

    from simulator.approach import place_needle, textbook_approach
    from simulator.scene import Scene

    scene = Scene.load()
    l4_needle, _ = place_needle(scene, textbook_approach("medial_branch_L4_right"))
    rf_needle = block_needle("rf_18g_100mm_10mm")
    cryo_needle = block_needle("cryo_14g_100mm")
    spinal = block_needle("spinal_22g_89mm")
    rf, cryo, chemical = RFSettings(80.0, 90.0), CryoSettings(), ChemicalSettings("ethanol", 1.0, 95.0)
    rows = [
        ("RF 80 °C 90 s, 18 G/10 mm, ex-vivo muscle", lambda **k: rf_lesion(TissueBlock("muscle", perfused=False), rf_needle, rf, **k)),
        ("RF 80 °C 90 s, 18 G/10 mm, perfused muscle", lambda **k: rf_lesion(TissueBlock("muscle"), rf_needle, rf, **k)),
        ("RF 80 °C 90 s, 18 G/10 mm, at the L4 medial branch", lambda **k: rf_lesion(scene, l4_needle, rf,
                                                                                   target_id="medial_branch_L4_right", **k)),
        ("cryo 2 × (90 s freeze, 30 s thaw), 14 G, −70 °C", lambda **k: cryo_lesion(TissueBlock("muscle"), cryo_needle, cryo, **k)),
        ("chemical 1 mL 95 % ethanol, 30 min", lambda **k: chemical_lesion(TissueBlock("muscle"), spinal, chemical, **k)),
    ]
    print(f"| lesion | grid (nodes) | spacing | steps | median s | min s | width mm | {'half-spacing width change |' if args.accuracy else ''}")
    print(f"|---|---|---:|---:|---:|---:|---:|{'---:|' if args.accuracy else ''}")
    grids = {}
    for name, run in rows:
        result, median, fastest = _timed(run, args.repeat)
        grid = result.grid
        grids[name.split()[0]] = grid.shape
        accuracy = ""
        if args.accuracy and "L4" not in name:
            fine = run(spacing_mm=grid.spacing_mm / 2)
            accuracy = f" {100 * abs(fine.width_mm / result.width_mm - 1):.2f} % ({fine.width_mm:.2f} mm) |"
        print(f"| {name} | {grid.shape[0]}×{grid.shape[1]}×{grid.shape[2]} ({grid.size:,}) | {grid.spacing_mm:g} mm | "
              f"{result.steps} | {median:.2f} | {fastest:.2f} | {result.width_mm:.2f} |{accuracy}")
    if args.numpy:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from simulator.ablation import kernel
        from tests.ablation.numpy_step import numpy_step

        compiled = kernel.step
        kernel.step = numpy_step
        print()
        print("| lesion, numpy step (tests/ablation/numpy_step.py) | s (1 run) | width mm |")
        print("|---|---:|---:|")
        for name, run in rows:
            start = time.perf_counter()
            result = run()
            print(f"| {name} | {time.perf_counter() - start:.2f} | {result.width_mm:.2f} |")
        kernel.step = compiled
    steps = {"RF": rows[0][1]().steps, "cryo": rows[3][1]().steps, "chemical": rows[4][1]().steps}
    print()
    print("| numpy 7-point step only (lower bound) | grid | ms per step | × steps of the lesion = s |")
    print("|---|---|---:|---:|")
    for key in ("RF", "cryo", "chemical"):
        shape = grids[key]
        per_step = _numpy_step_ms(shape)
        print(f"| {key} | {shape[0]}×{shape[1]}×{shape[2]} | {per_step:.2f} | {per_step * steps[key] / 1e3:.2f} |")
    print(f"load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
