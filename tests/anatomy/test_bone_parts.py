"""Naming the part of a bone at a point, checked on the default patient's own landmarks."""

from __future__ import annotations

import pytest

from simulator.anatomy.bone_parts import bone_part_name
from tests.helpers import LUMBAR


@pytest.mark.parametrize("level", LUMBAR)
def test_landmarks_are_named_by_their_part(default_scene, level):
    layout = default_scene.layout
    expected = {f"body_center_{level}": "vertebral body", f"spinous_tip_{level}": "spinous process",
                f"pedicle_{level}_left": "pedicle", f"pedicle_{level}_right": "pedicle"}
    for landmark, part in expected.items():
        assert bone_part_name(layout, level, default_scene.landmark(landmark)) == f"{level} {part}", landmark


def test_sacral_parts(default_scene):
    layout = default_scene.layout
    assert bone_part_name(layout, "sacrum", default_scene.landmark("superior_endplate_S1")) == "sacral body"
    # The ala-SAP groove is the corner of the two: either name is right, never another part.
    assert bone_part_name(layout, "sacrum", default_scene.landmark("ala_sap_groove_left")) in (
        "sacral ala", "S1 superior articular process")
