"""Benchmark of what the GUI does at every key press: one needle step, a targeting report, a test.

Run from the repository root::

    .venv/bin/python benchmarks/bench_needle.py [--repeat 200]

The needle is the textbook approach to the right L4 medial branch (:mod:`simulator.approach`:
18 G 150 mm cannula, 55° caudal, 10° abduction against L5's endplate), 50 mm deep, in muscle,
with some 40 mm to go, and the same needle resting on the right L5 SAP-TP junction; the curved
rows use the curved version of that cannula. Prints the machine and, for each operation, the
median and minimum over ``--repeat`` calls after one warm-up call. Nothing is asserted; the aim
is under 2 ms for the step and for the report.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from typing import Callable

from simulator.approach import place_needle, textbook_approach
from simulator.needle import advance, insert, rotate, withdraw
from simulator.scene import Scene
from simulator.stimulation import motor_test, sensory_test
from simulator.targeting import assess


def _time(function: Callable[[], object], repeat: int) -> tuple[float, float]:
    function()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples), min(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")

    scene = Scene.load()
    approach = textbook_approach("medial_branch_L4_right")
    needle, _ = insert(scene, "rf_18g_150mm_10mm", approach.entry_mm(scene), approach.direction(scene))
    needle, _ = advance(scene, needle, 50.0)
    curved, _ = insert(scene, "rf_18g_150mm_10mm_curved", approach.entry_mm(scene), approach.direction(scene))
    curved, _ = advance(scene, curved, 50.0)
    at_bone, _ = place_needle(scene, approach)
    at_bone, _ = withdraw(scene, at_bone, 0.5)

    rows = [
        ("advance 1 mm (collision + events)", lambda: advance(scene, needle, 1.0)),
        ("advance 1 mm, curved cannula", lambda: advance(scene, curved, 1.0)),
        ("turn the hub 30°, curved cannula", lambda: rotate(scene, curved, 30.0)),
        ("withdraw 1 mm", lambda: withdraw(scene, needle, 1.0)),
        ("tissues crossed, skin to tip (50 mm)", lambda: needle.crossings(scene)),
        ("tissues crossed, curved cannula (50 mm)", lambda: curved.crossings(scene)),
        ("targeting report, needle 50 mm deep", lambda: assess(scene, needle, "medial_branch_L4_right")),
        ("targeting report, tip at the junction", lambda: assess(scene, at_bone, "medial_branch_L4_right")),
        ("sensory test at the junction", lambda: sensory_test(scene, at_bone, "medial_branch_L4_right")),
        ("motor test at the junction, 2 V", lambda: motor_test(scene, at_bone, 2.0)),
    ]
    print(f"{'operation':40s} {'median ms':>10s} {'min ms':>8s}")
    for name, function in rows:
        median, fastest = _time(function, args.repeat)
        print(f"{name:40s} {median:10.2f} {fastest:8.2f}")


if __name__ == "__main__":
    main()
