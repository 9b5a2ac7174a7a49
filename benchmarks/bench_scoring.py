"""Benchmark of grading: one session, and a cohort of 200 sessions with the default workers.

Run from the repository root::

    .venv/bin/python benchmarks/bench_scoring.py [--cohort 200] [--repeat 20]

It records one session per shipped scenario by running its textbook plan (and the plan of
mistakes), then times (a) loading and scoring one session in-process — the multi-level case,
the longest log — median and minimum over ``--repeat`` runs after a warm-up, and (b) the
command ``rhizosim score --quiet --csv`` over ``--cohort`` session files (the recorded ones
copied round-robin), wall time of the whole command, three runs. Nothing is asserted; the aims
are under 0.5 s and under 60 s.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from simulator.plan import load_plan, run_plan
from simulator.scenario import library_folder
from simulator.scoring import score
from simulator.session import load_session


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cohort", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.2f}")
    work = Path(tempfile.mkdtemp(prefix="rhizosim-bench-"))
    plans = sorted((library_folder() / "plans").glob("*.toml")) + sorted((library_folder() / "plans" / "examples").glob("*.toml"))
    start = time.perf_counter()
    sessions = []
    for plan in plans:
        path = work / f"{plan.stem}.jsonl"
        run_plan(load_plan(plan), path)
        sessions.append(path)
    print(f"recorded {len(sessions)} sessions in {time.perf_counter() - start:.1f} s")

    longest = max(sessions, key=lambda p: p.stat().st_size)
    samples = []
    for index in range(args.repeat + 1):
        t = time.perf_counter()
        loaded = load_session(longest)
        score(loaded.scenario, loaded.state)
        if index:
            samples.append(time.perf_counter() - t)
    print(f"score one session ({longest.name}, {len(loaded.records)} records, {longest.stat().st_size / 1024:.0f} kB): "
          f"median {statistics.median(samples) * 1000:.1f} ms, min {min(samples) * 1000:.1f} ms")

    cohort = work / "cohort"
    cohort.mkdir()
    for index in range(args.cohort):
        shutil.copy(sessions[index % len(sessions)], cohort / f"trainee_{index:03d}.jsonl")
    rhizosim = Path(sys.executable).with_name("rhizosim")
    files = sorted(str(p) for p in cohort.glob("*.jsonl"))
    walls = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([str(rhizosim), "score", "--quiet", "--csv", str(work / "cohort.csv"), *files], check=True,
                       stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - t)
    print(f"rhizosim score, cohort of {args.cohort} sessions (default workers): median {statistics.median(walls):.2f} s, "
          f"min {min(walls):.2f} s")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
