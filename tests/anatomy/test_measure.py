"""Skin-to-target depth of the default patient (``simulator.anatomy.measure``).

Reference (``shared/reference/anatomy.md`` §4 and §5): skin to posterior epidural space
4-6 cm in 80 % of adults, L3-4 4.82 ± 1.16 cm, L4-5 5.08 ± 1.08 cm (Lee & Kim 2004);
4.4 / 4.6 / 4.6 / 4.1 cm at L2-3 / L3-4 / L4-5 / L5-S1 in 1,653 patients (Cha et al. 2011).
The SAP-TP junction (the medial-branch target) is at about the same depth, ≈ 5 cm (§5), so the
default (normal-BMI) patient must put every lumbar medial-branch target 40-60 mm under the skin,
measured straight back (a vertical needle, prone).
"""

from __future__ import annotations

import pytest

from tests.helpers import SIDES, record

DEPTH_RANGE_MM = (40.0, 60.0)


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("level,target", [("L4", "L5"), ("L3", "L4"), ("L2", "L3")])
def test_skin_to_medial_branch_target_depth(default_scene, level, target, side):
    from simulator.anatomy.measure import skin_depth_mm

    depth = skin_depth_mm(default_scene, f"sap_tp_junction_{target}_{side}")
    low, high = DEPTH_RANGE_MM
    ok = low <= depth <= high
    record("skin to medial-branch target depth", f"{level} MB ({target} {side})", depth, "40-60 mm (§4 Lee & Kim 2004; Cha 2011)", ok)
    assert ok, (f"skin to the {level} medial-branch target (SAP-TP junction of {target}, {side}) is {depth:.1f} mm; "
                f"published skin-to-target depth for a normal-BMI adult is {low:g}-{high:g} mm (anatomy.md §4)")
