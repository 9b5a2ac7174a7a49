"""The sacrum of the default patient, measured on its field: foramina, hiatus, taper.

Anatomy (e.g. Gray's Anatomy, "Sacrum"): four pairs of dorsal sacral foramina (S1-S4) open
through the dorsal wall into the sacral canal; the canal opens dorsally at the sacral hiatus
(S4-S5, where the laminae are missing); the bone narrows from the alae to a small apex and
thins from the S1 body downwards. The S1 foramina carry the S1 nerves and are tested with them
(test_neural.py); here the S2-S4 pairs, the hiatus and the taper.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import record


def _distance(scene, layout, local_points: np.ndarray) -> np.ndarray:
    return scene.signed_distance("sacrum", layout.poses["sacrum"].patient_from_local(np.atleast_2d(local_points)))


@pytest.mark.parametrize("index", range(6))
def test_dorsal_foramina_s2_to_s4_open_through_bone(default_scene, layout, index):
    """From beside the canal to the dorsal surface the foramen is free of bone, and bone walls it."""
    level, side, inner, dorsal, _, radius, _ = layout.sacrum.foramina()[index]
    along = inner[None] + np.linspace(0.0, 1.0, 60)[:, None] * (dorsal - inner)[None]
    clearance = float(_distance(default_scene, layout, along).min())
    # Beside the foramen, 1.5 mm beyond its radius above and below it, there is bone somewhere
    # along it (the dorsal wall between two foramina).
    s_axis, _ = layout.sacrum.along_axis(inner[None])
    down = layout.sacrum.from_axis(0.0, 0.0, s_axis[0] + 1.0) - layout.sacrum.from_axis(0.0, 0.0, s_axis[0])
    down /= np.linalg.norm(down)
    beside = np.vstack([along + down * (radius + 1.5), along - down * (radius + 1.5)])
    wall_distance = float(_distance(default_scene, layout, beside).min())
    name = f"{level} {'left' if side > 0 else 'right'}"
    record("dorsal foramen: bone clearance along its axis", name, clearance, "> 0 mm", clearance > 0.0)
    assert clearance > 0.0, f"{name} dorsal foramen is blocked: bone {-clearance:.2f} mm deep on its axis"
    if level != "S4":  # S4 opens at the margin of the hiatus, where the dorsal wall ends
        assert wall_distance < 0.0, f"{name} dorsal foramen has no bony wall ({wall_distance:+.2f} mm beside it)"


def test_canal_opens_dorsally_at_the_hiatus_only(default_scene, layout):
    """On the midline, from the canal backwards: bone (the dorsal wall) at S2, none at S5."""
    sacrum = layout.sacrum
    results = {}
    for name, s in (("S2", 45.0), ("S5", 98.0)):
        center = sacrum.canal_center(s)
        behind = center + (sacrum.from_axis(0.0, 25.0, s) - sacrum.from_axis(0.0, 0.0, s)) * np.linspace(0, 1, 50)[:, None]
        results[name] = float(_distance(default_scene, layout, behind).min())
    record("midline ray from canal backwards: min distance", "S2 / S5", f"{results['S2']:.2f} / {results['S5']:.2f}",
           "S2 < 0 (wall), S5 > 0 (hiatus)", results["S2"] < 0 < results["S5"])
    assert results["S2"] < 0.0, "no dorsal wall behind the canal at S2"
    assert results["S5"] > 0.0, "the canal is closed at S5: no sacral hiatus"


def test_sacrum_narrows_and_thins_to_its_apex(default_scene, layout):
    """Width across the alae vs near the apex; thickness at S1 vs near the apex (on the mesh)."""
    sacrum = layout.sacrum
    local = layout.poses["sacrum"].local_from_patient(default_scene.structure("sacrum").mesh.vertices.astype(float))
    s, t = sacrum.along_axis(local)
    top_width = np.ptp(local[(s > 5) & (s < 25), 0])
    apex_width = np.ptp(local[s > 98, 0])
    apex_thickness = np.ptp(t[(s > 98) & (np.abs(local[:, 0]) < 5)])
    record("sacrum width: alae / apex", "sacrum", f"{top_width:.1f} / {apex_width:.1f} mm", "apex < 30 % of alae",
           apex_width < 0.3 * top_width)
    record("sacrum thickness near the apex", "sacrum", float(apex_thickness), "< 15 mm", apex_thickness < 15.0)
    assert top_width == pytest.approx(sacrum.ala_span, rel=0.1)
    assert apex_width < 0.3 * top_width
    assert apex_thickness < 15.0
