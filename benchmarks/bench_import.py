"""Import times of the real data: the six Visible Human meshes, and the TotalSegmentator CT.

Run: ``.venv/bin/python benchmarks/bench_import.py [REALDATA]`` (default: ``$RHIZOSIM_REALDATA`` or
the ``shared/realdata`` beside the project). Prints each stage's time as the import reports it.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path


def _realdata() -> Path:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    if os.environ.get("RHIZOSIM_REALDATA"):
        return Path(os.environ["RHIZOSIM_REALDATA"])
    for parent in Path(__file__).resolve().parents:
        if (parent / "shared" / "realdata").is_dir():
            return parent / "shared" / "realdata"
    sys.exit("no shared/realdata found: give its path")


def main() -> None:
    from simulator.anatomy.assets import load_anatomy, save_anatomy
    from simulator.fluoro import Fluoroscope, ap
    from simulator.patient_import import import_meshes
    from simulator.patient_import.ct_patient import import_ct
    from simulator.scene import Scene

    data = _realdata()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        patient = import_meshes(data / "vhp_lumbar")  # as it comes: structures told from the file names
        print(f"VHP meshes: import {time.perf_counter() - start:.1f} s {patient.report['timings_s']}")
        start = time.perf_counter()
        save_anatomy(patient.anatomy, Path(tmp) / "vhp_patient")
        saved = time.perf_counter() - start
        start = time.perf_counter()
        load_anatomy(Path(tmp) / "vhp_patient")
        print(f"  save {saved:.2f} s, load {time.perf_counter() - start:.2f} s")
        ct = data / "totalsegmentator_ct"
        start = time.perf_counter()
        patient = import_ct(ct / "example_ct.nii.gz", labels=ct / "example_seg.nii.gz")
        print(f"CT (NIfTI + labels): import {time.perf_counter() - start:.1f} s")
        scene = Scene(patient.anatomy)
        fluoroscope = Fluoroscope.from_scene(scene)
        pose = ap(tuple(scene.landmark("body_center_L1")))
        start = time.perf_counter()
        fluoroscope.shot(pose, rng=0)
        first = time.perf_counter() - start
        start = time.perf_counter()
        fluoroscope.shot(pose, rng=1)
        print(f"  AP shot of the CT, 512²: first {first:.2f} s (ray-marching, numba compiled on first use), "
              f"same pose again {time.perf_counter() - start:.3f} s")
        start = time.perf_counter()
        import_ct(ct / "example_ct_dicom")
        print(f"CT (DICOM, 20 slices of 512², no labels): import {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
