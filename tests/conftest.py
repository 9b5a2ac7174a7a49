"""Shared fixtures: the shipped default patient, loaded once per session, and its bone frames.

The end-of-run summary prints every figure the tests measured (``tests.helpers.record``), so a
run shows how far the geometry is from the references even when it passes.
"""

from __future__ import annotations

import pytest

from tests.helpers import REPORT


@pytest.fixture(scope="session")
def default_scene():
    """The default patient of ``assets/meshes/default`` (about 1 s to load)."""
    from simulator.scene import Scene

    return Scene.load()


@pytest.fixture(scope="session")
def layout(default_scene):
    """Bone poses of the default patient: ``layout.poses[level]`` maps its local frame to the patient."""
    from simulator.anatomy.spine import build_layout

    return build_layout(default_scene.parameters)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not REPORT:
        return
    terminalreporter.section("measured figures (default patient)")
    width = max(len(f.check) for f in REPORT)
    item_width = max(len(f.item) for f in REPORT)
    for f in REPORT:
        measured = f"{f.measured:.2f}" if isinstance(f.measured, float) else str(f.measured)
        flag = "ok  " if f.passed else "FAIL"
        terminalreporter.write_line(f"{flag} {f.check:{width}s}  {f.item:{item_width}s}  {measured:>10s}  expected {f.expected}")
