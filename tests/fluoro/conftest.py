"""Fixtures of the fluoroscopy tests: one prepared fluoroscope of the default patient per module."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def fluoroscope(default_scene):
    """The default patient's fluoroscope at 256² pixels (same 23 cm field, 0.9 mm pixels)."""
    from simulator.fluoro import CArmGeometry, Fluoroscope

    return Fluoroscope.from_scene(default_scene, CArmGeometry(pixels=256))
