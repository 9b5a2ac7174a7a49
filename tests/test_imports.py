"""The core imports without the GUI (PyQt6) and without the rendering stack.

Run in a fresh interpreter: an import hook records every attempt to import a blocked package
(and makes it fail), so the check also works where PyQt6 is not installed.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CORE = ("simulator.scene", "simulator.anatomy", "simulator.anatomy.assets", "simulator.cli", "simulator.fluoro",
        "simulator.fluoro.reference", "simulator.ablation", "simulator.scenario", "simulator.session", "simulator.plan",
        "simulator.scoring", "simulator.procedure", "simulator.lesions")

_PROBE = """
import importlib.abc, json, sys
blocked = set({blocked!r})
attempts = []

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            attempts.append(name)
            raise ModuleNotFoundError(f"blocked by the test: {{name}}")
        return None

sys.meta_path.insert(0, Block())
error = None
try:
    for module in {modules!r}:
        __import__(module)
except Exception as exc:
    error = f"{{type(exc).__name__}}: {{exc}}"
loaded = sorted(m for m in sys.modules if m.split(".")[0] in blocked)
print(json.dumps({{"attempts": attempts, "loaded": loaded, "error": error}}))
"""


def _import_core(blocked: tuple[str, ...]) -> dict:
    code = _PROBE.format(blocked=list(blocked), modules=list(CORE))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("blocked", [("PyQt6",), ("pyvista", "vtk", "vtkmodules")], ids=["PyQt6", "rendering"])
def test_core_imports_without(blocked):
    outcome = _import_core(blocked)
    assert outcome["error"] is None, f"importing the core needs {blocked}: {outcome['error']}"
    assert outcome["attempts"] == [], f"the core tried to import {outcome['attempts']}"
    assert outcome["loaded"] == []
