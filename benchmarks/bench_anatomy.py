"""Benchmark of the anatomy pipeline: generating, loading and querying the default patient.

Run from the repository root::

    .venv/bin/python benchmarks/bench_anatomy.py                      # everything (several minutes)
    .venv/bin/python benchmarks/bench_anatomy.py --quick              # skip generation (~1 min)
    .venv/bin/python benchmarks/bench_anatomy.py --compare-workers    # also generate with 1 and 2 processes
    .venv/bin/python benchmarks/bench_anatomy.py --json out/bench.json

Prints the machine, then one table of timings (median and min over the repetitions, after one
untimed warm-up call unless the table says otherwise) and ratios taken from the same run.
Nothing is asserted: the figures are for reading, compared by hand with the targets
(generate < 20 s, load < 1 s, 100k distance queries < 50 ms).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

#: Structures whose distance queries are timed: one of each field type and kind.
QUERY_STRUCTURES = (
    ("L4", "bone"),
    ("disc_L4_L5", "disc"),
    ("medial_branch_L4_right", "nerve tube"),
    ("aorta", "vessel tube"),
    ("paraspinal_right", "muscle"),
    ("skin", "skin shell"),
)
TARGET_LANDMARK = "sap_tp_junction_L5_right"
LOCAL_CUBE_MM = 60.0
NEEDLE_BACKOFF_MM = 80.0  # start of the needle path, straight posterior (+y in LPS) of the landmark
POSTERIOR = np.array([0.0, 1.0, 0.0])


@dataclass
class Row:
    name: str
    times_s: list[float]
    note: str = ""
    warmup: bool = True
    target_s: float | None = None
    cpu_s: float | None = None  # process CPU time of the timed runs (in-process, single-threaded rows)

    @property
    def cpu_over_wall(self) -> float | None:
        return None if self.cpu_s is None else self.cpu_s / sum(self.times_s)

    @property
    def median_s(self) -> float:
        return statistics.median(self.times_s)

    @property
    def min_s(self) -> float:
        return min(self.times_s)


@dataclass
class Results:
    machine: dict[str, str]
    command: str
    rows: list[Row] = field(default_factory=list)
    ratios: list[tuple[str, float]] = field(default_factory=list)

    def row(self, name: str) -> Row | None:
        return next((r for r in self.rows if r.name == name), None)


def measure(function: Callable[[], object], repeat: int, warmup: bool = True) -> list[float]:
    """Wall-clock seconds of ``repeat`` calls, after one untimed call when ``warmup``.

    The process CPU time of the timed calls is kept in :data:`LAST_CPU_S`: for the
    single-threaded queries, CPU / wall well below 1 means another process took the CPUs.
    """
    global LAST_CPU_S
    if warmup:
        function()
    times, cpu = [], 0.0
    for _ in range(repeat):
        cpu_start = time.process_time()
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
        cpu += time.process_time() - cpu_start
    LAST_CPU_S = cpu
    return times


LAST_CPU_S = 0.0


def machine_info() -> dict[str, str]:
    import scipy

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": f"{os.cpu_count()} logical ({usable} usable)",
        "memory": memory,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "code": code_version(),
        "load avg": load_average(),
    }


def code_version() -> str:
    """Commit of the working tree, and whether it has uncommitted changes (figures move with them)."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + (" + uncommitted changes" if dirty else "")


def load_average() -> str:
    """1-minute load average: above ~0.5 on this 2-core machine, something else shares the CPUs."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "unknown"


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def format_seconds(seconds: float) -> str:
    if seconds >= 1.0:
        return f"{seconds:.2f} s"
    return f"{seconds * 1e3:.1f} ms"


def uniform_points(rng: np.random.Generator, lower: np.ndarray, upper: np.ndarray, count: int) -> np.ndarray:
    return lower + rng.uniform(size=(count, 3)) * (upper - lower)


# -- the benchmarks -----------------------------------------------------------------------
def bench_generate(results: Results, repeat: int, compare_workers: bool) -> None:
    from simulator.anatomy import generate_patient
    from simulator.anatomy.generator import build_layout  # noqa: F401  (imports out of the timing)

    default_workers = min(os.cpu_count() or 1, 4)
    progress(f"generating the default patient {repeat}x (workers={default_workers}, the default) ...")
    times = measure(lambda: generate_patient(), repeat, warmup=False)
    results.rows.append(Row("generate_patient() [default workers]", times,
                            f"{default_workers} processes", warmup=False, target_s=20.0))
    if compare_workers:
        for workers in (1, 2):
            progress(f"generating the default patient once with workers={workers} ...")
            times = measure(lambda: generate_patient(workers=workers), 1, warmup=False)
            results.rows.append(Row(f"generate_patient(workers={workers})", times, "single run",
                                    warmup=False, target_s=20.0, cpu_s=LAST_CPU_S if workers == 1 else None))


def bench_load(results: Results, repeat: int, fresh_repeat: int) -> "object":
    from simulator.scene import Scene

    progress("loading the default patient ...")
    times = measure(Scene.load, repeat)
    results.rows.append(Row("Scene.load()", times, "in-process, after a warm-up load", target_s=1.0, cpu_s=LAST_CPU_S))

    # A fresh interpreter: what the CLI and every new process pays (imports + cold load).
    code = ("import time; t0 = time.perf_counter(); from simulator.scene import Scene; t1 = time.perf_counter(); "
            "Scene.load(); t2 = time.perf_counter(); print(t1 - t0, t2 - t1)")
    imports, loads = [], []
    for _ in range(fresh_repeat):
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
        imports.append(float(out[0]))
        loads.append(float(out[1]))
    results.rows.append(Row("Scene.load() in a fresh process", loads, "first load, imports excluded",
                            warmup=False, target_s=1.0))
    results.rows.append(Row("import simulator.scene (fresh process)", imports, "", warmup=False))
    return Scene.load()


def bench_queries(results: Results, scene, repeat: int, count: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    centre = scene.landmark(TARGET_LANDMARK)
    half = 0.5 * LOCAL_CUBE_MM
    lower, upper = (np.asarray(b, dtype=float) for b in scene.bounds())
    regions = {
        "local": uniform_points(rng, centre - half, centre + half, count),
        "scene": uniform_points(rng, lower, upper, count),
    }
    kilo = f"{count // 1000}k"
    for region, points in regions.items():
        for structure_id, kind in QUERY_STRUCTURES:
            progress(f"signed_distance {structure_id} ({region}) ...")
            field_type = type(scene.structure(structure_id).field).__name__
            inside = int(np.count_nonzero(scene.signed_distance(structure_id, points) < 0))
            times = measure(lambda: scene.signed_distance(structure_id, points), repeat)
            results.rows.append(Row(f"signed_distance {structure_id}, {kilo} pts {region}", times,
                                    f"{kind}, {field_type}; {inside} pts inside ({100 * inside / count:.1f}%)", target_s=0.05,
                                    cpu_s=LAST_CPU_S))
    for region, points in regions.items():
        progress(f"tissue_at ({region}) ...")
        tissues = scene.tissue_at(points)
        distinct = len(set(tissues))
        times = measure(lambda: scene.tissue_at(points), max(3, repeat // 2))
        results.rows.append(Row(f"tissue_at, {kilo} pts {region}", times, f"{distinct} tissues hit", cpu_s=LAST_CPU_S))
    return regions


def bench_segment(results: Results, scene, repeat: int) -> None:
    tip = scene.landmark(TARGET_LANDMARK)
    entry = tip + NEEDLE_BACKOFF_MM * POSTERIOR
    progress("segment_crossings ...")
    crossings = scene.segment_crossings(entry, tip)
    crossed = " > ".join(c.structure_id for c in crossings)
    times = measure(lambda: scene.segment_crossings(entry, tip), repeat)
    results.rows.append(Row(f"segment_crossings, {NEEDLE_BACKOFF_MM:.0f} mm posterior path", times,
                            f"step 0.2 mm; {crossed}", cpu_s=LAST_CPU_S))


def bench_rasterize(results: Results, scene) -> None:
    progress("rasterize(2.0) ...")
    volume = None

    def run() -> None:
        nonlocal volume
        volume = scene.rasterize(2.0)

    times = measure(run, 1, warmup=False)
    shape = volume.structure_labels.shape
    results.rows.append(Row("rasterize(2.0), whole scene", times,
                            f"single run; {shape[0]}x{shape[1]}x{shape[2]} = {np.prod(shape) / 1e6:.1f} M voxels",
                            warmup=False, cpu_s=LAST_CPU_S))


def add_ratios(results: Results, count: int) -> None:
    kilo = f"{count // 1000}k"

    def median(name: str) -> float | None:
        row = results.row(name)
        return row.median_s if row else None

    def ratio(label: str, numerator: str, denominator: str) -> None:
        a, b = median(numerator), median(denominator)
        if a is not None and b is not None and b > 0:
            results.ratios.append((label, a / b))

    for region in ("local", "scene"):
        bone = f"signed_distance L4, {kilo} pts {region}"
        for structure_id, kind in QUERY_STRUCTURES[1:]:
            ratio(f"{structure_id} / L4 distance ({region}) [{kind} vs grid]",
                  f"signed_distance {structure_id}, {kilo} pts {region}", bone)
    for structure_id, _ in QUERY_STRUCTURES:
        ratio(f"{structure_id} distance: scene / local points",
              f"signed_distance {structure_id}, {kilo} pts scene", f"signed_distance {structure_id}, {kilo} pts local")
    ratio("tissue_at / L4 distance (local)", f"tissue_at, {kilo} pts local", f"signed_distance L4, {kilo} pts local")
    ratio("generate (workers=1) / generate (workers=2)", "generate_patient(workers=1)", "generate_patient(workers=2)")
    ratio("generate (default) / load", "generate_patient() [default workers]", "Scene.load()")


# -- output -------------------------------------------------------------------------------
def print_report(results: Results) -> None:
    print()
    print("Machine")
    for key, value in results.machine.items():
        print(f"  {key:9s} {value}")
    print(f"  command   {results.command}")
    print()
    name_width = max(len(r.name) for r in results.rows)
    header = (f"{'benchmark':{name_width}s}  {'runs':>4s}  {'median':>10s}  {'min':>10s}  {'target':>8s}  {'met':>4s}  "
              f"{'cpu/wall':>8s}  note")
    print(header)
    print("-" * len(header))
    for r in results.rows:
        runs = f"{len(r.times_s)}" + ("" if r.warmup else "*")
        target = format_seconds(r.target_s) if r.target_s is not None else ""
        cpu = f"{r.cpu_over_wall:.2f}" if r.cpu_over_wall is not None else ""
        met = ("yes" if r.median_s < r.target_s else "NO") if r.target_s is not None else ""
        print(f"{r.name:{name_width}s}  {runs:>4s}  {format_seconds(r.median_s):>10s}  {format_seconds(r.min_s):>10s}  "
              f"{target:>8s}  {met:>4s}  {cpu:>8s}  {r.note}")
    print("(* no warm-up call before the timed runs; 'met' compares the median with the target;")
    print(" cpu/wall: process CPU time / wall time of the timed runs, well below 1.00 = CPUs shared with another process)")
    if results.ratios:
        print()
        print("Ratios of medians (same run)")
        width = max(len(label) for label, _ in results.ratios)
        for label, value in results.ratios:
            print(f"  {label:{width}s}  {value:6.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="skip patient generation")
    parser.add_argument("--generate-repeat", type=int, default=2, help="timed generations (default 2)")
    parser.add_argument("--compare-workers", action="store_true",
                        help="also generate once with workers=1 and once with workers=2")
    parser.add_argument("--repeat", type=int, default=7, help="timed repetitions of the fast benchmarks (default 7)")
    parser.add_argument("--points", type=int, default=100_000, help="points per query (default 100000)")
    parser.add_argument("--no-rasterize", action="store_true", help="skip rasterize(2.0) (about 10 s)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)

    results = Results(machine_info(), "python " + " ".join([sys.argv[0], *(argv if argv is not None else sys.argv[1:])]))
    if not args.quick:
        bench_generate(results, args.generate_repeat, args.compare_workers)
    scene = bench_load(results, repeat=args.repeat, fresh_repeat=3)
    bench_queries(results, scene, args.repeat, args.points)
    bench_segment(results, scene, max(args.repeat, 10))
    if not args.no_rasterize:
        bench_rasterize(results, scene)
    add_ratios(results, args.points)
    results.machine["load avg"] = f"{results.machine['load avg']} at start; {load_average()} at end"
    print_report(results)

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"machine": results.machine, "command": results.command,
                   "rows": [asdict(r) | {"median_s": r.median_s, "min_s": r.min_s, "cpu_over_wall": r.cpu_over_wall} for r in results.rows],
                   "ratios": dict(results.ratios)}
        args.json.write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
