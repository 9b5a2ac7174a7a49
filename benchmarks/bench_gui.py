"""GUI speed: start-up to an interactive window, and a needle key press to the new image on screen.

Run under a display (``xvfb-run -a .venv/bin/python benchmarks/bench_gui.py``); prints a table
of medians and minimums and asserts nothing (tests never check speed).

- **start-up**: a fresh process (``python -c``) from its first line, imports included, to the
  window shown with the default scenario opened (its session file written, the 3D view
  rendered) and the event loop idle; and the same measured by the parent from spawning the
  process (interpreter start included).
- **key to image**: with the pedal held (a pulsed run), one Up key press advances the needle
  1 mm (a logged Advance command) and the live frame with the needle moved is painted on the
  monitor (``MonitorImage.frameShown``); also Up followed by a tap of F (a logged single shot).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

_STARTUP = r"""
import time
start = time.perf_counter()
import json, sys, tempfile
from PyQt6.QtCore import QTimer
from simulator.gui.app import create_window
app, window = create_window(sessions=tempfile.mkdtemp(), offer_resume=False)
def done():
    print(json.dumps({"startup_s": time.perf_counter() - start, "session": str(window.model.session_path)}))
    window.close()
    app.quit()
QTimer.singleShot(0, done)
app.exec()
"""


def startup(repeat: int) -> tuple[list[float], list[float]]:
    inside, outside = [], []
    for _ in range(repeat):
        spawned = time.perf_counter()
        result = subprocess.run([sys.executable, "-c", _STARTUP], capture_output=True, text=True, timeout=120)
        outside.append(time.perf_counter() - spawned)
        if result.returncode != 0:
            raise SystemExit(result.stderr)
        inside.append(json.loads(result.stdout.strip().splitlines()[-1])["startup_s"])
    return inside, outside


def key_to_image(repeat: int) -> tuple[list[float], list[float]]:
    from PyQt6.QtCore import Qt
    from PyQt6.QtTest import QTest

    from simulator.commands import Advance
    from simulator.gui.app import create_window
    from simulator.plan import expand

    app, window = create_window(sessions=tempfile.mkdtemp(), offer_resume=False)
    model, image = window.model, window.monitor.image
    for action in ({"do": "carm", "view": "oblique", "level": "L5", "side": "right", "oblique_deg": 20.0},
                   {"do": "insert", "needle": "needle 1", "device": "rf_18g_150mm_10mm", "approach": "medial_branch_L4_right"}):
        for command in expand(model.session, action):
            model.run(command)
    model.run(Advance(needle="needle 1", distance_mm=20.0))
    shown = []
    image.frameShown.connect(shown.append)

    def wait_frame(since: float) -> float:
        deadline = time.perf_counter() + 10.0
        while not (shown and shown[-1] >= since):
            app.processEvents()
            if time.perf_counter() > deadline:
                raise SystemExit("no frame shown within 10 s")
        return shown[-1] - since

    QTest.keyPress(image, Qt.Key.Key_F)  # hold the pedal: a pulsed run with live frames
    while not (image.view is not None and image.view.live):
        app.processEvents()
    live = []
    for _ in range(repeat + 1):
        start = time.perf_counter()
        QTest.keyClick(image, Qt.Key.Key_Up)
        live.append(wait_frame(start))
    QTest.keyRelease(image, Qt.Key.Key_F)
    app.processEvents()
    logged = []
    for _ in range(repeat + 1):
        start = time.perf_counter()
        QTest.keyClick(image, Qt.Key.Key_Up)
        QTest.keyClick(image, Qt.Key.Key_F)
        logged.append(wait_frame(start))
    window.close()
    return live[1:], logged[1:]


def _row(name: str, values: list[float], unit: str, scale: float, aim: str = "") -> str:
    med, low = statistics.median(values) * scale, min(values) * scale
    return f"| {name} | {med:.1f} {unit} | {low:.1f} {unit} | {aim} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="key presses per measurement (default %(default)s)")
    parser.add_argument("--startup-repeat", type=int, default=5, help="fresh processes (default %(default)s)")
    args = parser.parse_args()
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise SystemExit("needs a display: xvfb-run -a .venv/bin/python benchmarks/bench_gui.py")
    load = os.getloadavg()[0]
    inside, outside = startup(args.startup_repeat)
    live, logged = key_to_image(args.repeat)
    print(f"load average at start {load:.2f}; {args.startup_repeat} start-ups, {args.repeat} key presses each")
    print("| benchmark | median | min | aim |")
    print("|---|---:|---:|---:|")
    print(_row("start-up to an interactive window, default scenario (from the process's first line)", inside, "s", 1, "< 3 s"))
    print(_row("— the same from spawning the interpreter", outside, "s", 1, ""))
    print(_row("Up key (advance 1 mm) to the live frame on screen, pedal held", live, "ms", 1000, "< 50 ms"))
    print(_row("Up key then F tap (advance + logged single shot) to the image on screen", logged, "ms", 1000, ""))


if __name__ == "__main__":
    main()
