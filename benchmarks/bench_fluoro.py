"""Benchmark of fluoroscopy shots of the default patient (issue 4).

Run from the repository root::

    .venv/bin/python benchmarks/bench_fluoro.py [--repeat 20] [--skip-python]

Measures, on the default patient with the reference-sheet geometry (23 cm field):

- one-time preparation (``Fluoroscope.from_scene``: inner cortical surfaces, joined arrays) and
  the first shot in a fresh process (numba loads its cached machine code);
- a shot after the pose changed (anatomy rasterised again) at 512² and 1024², with the stages;
- a shot after only the needle moved (anatomy from the cache), and the needle's line-integral
  update alone;
- the attenuation-volume (CT) path on the scene rasterised at 1.5 mm;
- the rasteriser kernel uncompiled (plain Python) on one vertebra, the evidence for numba;
- peak memory (Python allocations traced, and the process's maximum resident size).

Prints the machine and, per row, the median and minimum over ``--repeat`` runs after one
warm-up, and the process CPU time over the wall time. Nothing is asserted; the aims are in
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from dataclasses import replace
from typing import Callable

import numba
import numpy as np

from simulator.fluoro import CArmGeometry, Display, Exposure, Fluoroscope, oblique, squared_endplate_pose
from simulator.fluoro import raster
from simulator.fluoro.projection import Projection
from simulator.fluoro.volume import volume_from_label_volume
from simulator.needle import advance, aim_direction, entry_towards, insert
from simulator.scene import Scene


def _time(function: Callable[[int], object], repeat: int) -> tuple[float, float, float]:
    """Median and minimum wall time (ms) after one warm-up, and process CPU time over wall time
    (about 2 when both cores worked, about 1 when the second core was busy elsewhere)."""
    function(0)
    samples = []
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    for index in range(1, repeat + 1):
        start = time.perf_counter()
        function(index)
        samples.append((time.perf_counter() - start) * 1e3)
    ratio = (time.process_time() - cpu_start) / (time.perf_counter() - wall_start)
    return statistics.median(samples), min(samples), ratio


def _row(name: str, median: float, fastest: float, cpu_per_wall: float = float("nan")) -> None:
    print(f"{name:58s} {median:10.2f} {fastest:10.2f} {cpu_per_wall:8.2f}")


def _fresh_process_first_shot() -> float:
    code = ("import time; from simulator.scene import Scene; from simulator.fluoro import Fluoroscope, ap; "
            "s = Scene.load(); f = Fluoroscope.from_scene(s); t = time.perf_counter(); f.shot(ap(s.landmark('body_center_L4')), rng=0); "
            "print(time.perf_counter() - t)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(result.stdout.strip().splitlines()[-1]) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--skip-python", action="store_true", help="skip the uncompiled-kernel row (about 1 min)")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}, numba {numba.__version__} ({numba.get_num_threads()} threads)")
    print(f"{'benchmark (ms)':58s} {'median':>10s} {'min':>10s} {'cpu/wall':>8s}")

    scene = Scene.load()
    prepare = []
    for _ in range(3):
        start = time.perf_counter()
        fluoroscope = Fluoroscope.from_scene(scene)
        prepare.append((time.perf_counter() - start) * 1e3)
    _row("preparation: Fluoroscope.from_scene (3 runs)", statistics.median(prepare), min(prepare))
    print(f"  anatomy: {fluoroscope.anatomy.n_faces:,} triangles in {len(fluoroscope.anatomy.channels)} channels, "
          f"{len(fluoroscope.anatomy.vertices):,} vertices")
    _row("first shot in a fresh process (numba cache load)", _fresh_process_first_shot(), float("nan"))

    target = scene.landmark("sap_tp_junction_L5_right")
    direction = aim_direction(target, 50.0, 10.0, frame=scene.layout.poses["L5"].rotation)
    needle, _ = insert(scene, "rf_22g_100mm_5mm", entry_towards(scene, target, direction), direction)
    needle, _ = advance(scene, needle, 50.0)
    needles = [advance(scene, needle, 0.2 * (k + 1))[0] for k in range(args.repeat + 1)]
    poses = [squared_endplate_pose(scene, "L5"), oblique("right", 25.0, scene.landmark("body_center_L5"), tilt_cranial_deg=-30.0)]
    exposure = Exposure("pulsed", 1.0)
    peaks = {}
    for pixels in (512, 1024):
        geometry = replace(fluoroscope.geometry, pixels=pixels)
        moving = Fluoroscope(fluoroscope.anatomy, geometry, cached_poses=1)  # every pose change rasterises again
        _row(f"{pixels}² shot after the pose changed (needle in)",
             *_time(lambda i: moving.shot(poses[i % 2], needles=[needles[i]], exposure=exposure, rng=i), args.repeat))
        # Memory, traced apart from the timings (tracing slows allocations): a fresh fluoroscope's
        # first shot allocates its caches and workspace.
        tracemalloc.start()
        Fluoroscope(fluoroscope.anatomy, geometry).shot(poses[1], needles=[needles[0]], exposure=exposure, rng=0)
        peaks[pixels] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        projection = Projection(geometry, poses[0])
        a = fluoroscope.anatomy
        buffer = np.zeros((len(a.channels), pixels, pixels), np.float32)
        _row("  stage: rasterise the anatomy",
             *_time(lambda i: raster.rasterize_path_lengths(projection, a.vertices, a.faces, a.face_channel,
                                                             len(a.channels), out=buffer), args.repeat))
        still = Fluoroscope(fluoroscope.anatomy, geometry)
        still.shot(poses[0], rng=0)
        _row(f"{pixels}² shot after only the needle moved",
             *_time(lambda i: still.shot(poses[0], needles=[needles[i]], exposure=exposure, rng=i), args.repeat))
        energy = exposure.technique.effective_energy_kev
        _row("  stage: line integrals with the needle (anatomy cached)",
             *_time(lambda i: still.line_integrals(poses[0], energy, [needles[i]]), args.repeat))
        integrals = still.line_integrals(poses[0], energy, [needles[0]])
        from simulator.fluoro.image import Workspace, form_image

        quanta = still.quanta_per_pixel(exposure)
        workspace = Workspace()
        _row("  stage: image chain (noise, blur, log, window, field)",
             *_time(lambda i: form_image(integrals, quanta, rng=i, workspace=workspace), args.repeat))
        _row("  stage: image chain without noise and edge enhancement",
             *_time(lambda i: form_image(integrals, quanta, display=Display(noise=False, edge_enhancement=0.0),
                                         workspace=workspace), args.repeat))

    rss_shots = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    labels = scene.rasterize(1.5)
    volume = volume_from_label_volume(labels, 59.0)
    for pixels in (256, 512):
        projection = Projection(replace(fluoroscope.geometry, pixels=pixels), poses[1])
        _row(f"volume {labels.tissue_labels.shape} @1.5 mm, ray-march {pixels}²",
             *_time(lambda i: volume.line_integrals(projection), max(3, args.repeat // 4)))

    if not args.skip_python:
        bone = scene.structure("L4").mesh
        projection = Projection(fluoroscope.geometry, poses[0])
        cols, rows, inv_w = raster.project_vertices(projection, bone.vertices)
        faces = np.ascontiguousarray(bone.faces, np.int32)
        channel = np.zeros(len(faces), np.int32)
        out = np.zeros((1, 512, 512), np.float32)
        start = time.perf_counter()
        raster._rasterize.py_func(cols, rows, inv_w, faces, channel, -1.0, 530.0, 1, out)
        python_ms = (time.perf_counter() - start) * 1e3
        compiled = _time(lambda i: raster._rasterize(cols, rows, inv_w, faces, channel, -1.0, 530.0, 1, out), 5)
        scale = fluoroscope.anatomy.n_faces / len(faces)
        _row(f"raster kernel, plain Python, L4 only ({len(faces):,} triangles), 512²", python_ms, python_ms, 1.0)
        _row("raster kernel, numba, 1 thread, same", *compiled)
        print(f"  plain Python / numba: {python_ms / compiled[0]:.0f}x; the whole anatomy in plain Python ≈ "
              f"{python_ms * scale / 1e3:.0f} s a shot")

    print(f"peak traced allocations of a first shot (caches, workspace, image): 512² {peaks[512]:.0f} MiB, "
          f"1024² {peaks[1024]:.0f} MiB")
    print(f"process maximum resident size after the mesh shots: {rss_shots:.0f} MiB (scene, anatomy, caches, libraries); "
          f"after the volume rows: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
