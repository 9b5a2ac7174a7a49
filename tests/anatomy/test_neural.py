"""Nerves of the default patient against its bones: targets on their landmarks, nothing in bone.

References (``shared/reference/anatomy.md`` §2):

- The Ln medial branch (L1-L4) crosses the root of the transverse process of L(n+1) and runs
  down the neck of its superior articular process: the SAP-TP junction of L(n+1) is its
  target (Saito et al. 2013; Zhang et al. 2015; procedure guides), where the needle rests on the
  back of the transverse process beside the nerve. A conventional lesion reaches about 2 mm
  (Cohen et al. 2011), so the nerve's surface must pass within 2 mm of the landmark.
- The L5 dorsal ramus runs in the groove between the sacral ala and the root of the S1 superior
  articular process (Bogduk's description).
- The medial branch passes under the mamillo-accessory ligament (MAL), which bridges the
  mamillary and accessory processes of the vertebra below (Saito et al. 2013; Bogduk 1981); the
  MAL covers it only at the notch, and the nerve fills about 3 % of the space under it (Tran et
  al. 2022; Lynton & Giles 1991), so the two are close but do not touch.
- The dorsal root ganglia of L1-L4 lie in the medial foraminal zone, L5 in the lateral zone
  (Silverstein et al. 2015): under the pedicle of their own level, above the pedicle of the level
  below, behind the body and disc.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import BONES, LUMBAR, SIDES, local_point, min_bone_distance, record

NEXT = {"L1": "L2", "L2": "L3", "L3": "L4", "L4": "L5", "L5": "sacrum"}
NERVE_KINDS = ("root", "ganglion", "ventral_ramus", "dorsal_ramus", "medial_branch")
TARGET_DISTANCE_MM = 2.0

# Probes around a junction landmark, in the frame of the bone that carries it, as
# (lateral, anteroposterior, cranial) offsets in mm; "lateral" is away from the midline. The
# landmark is on the back of the transverse process (or the ala) beside the articular process.
#: 2 mm in front: in the transverse process (or the sacral ala).
IN_FRONT = (0.0, -2.0, 0.0)
#: 6 mm medial, 4 mm in front, 4 mm above: in the superior articular process.
ABOVE_MEDIAL = (-6.0, -4.0, 4.0)
#: 3 mm behind: free, where the needle comes from.
BEHIND = (0.0, 3.0, 0.0)
#: 4 mm lateral, 4 mm above: in the concave corner above the shelf, outside bone.
ABOVE_LATERAL = (4.0, 0.0, 4.0)
PROBES = {"in_front": IN_FRONT, "above_medial": ABOVE_MEDIAL, "behind": BEHIND, "above_lateral": ABOVE_LATERAL}


def _probe(scene, layout, bone: str, landmark: str, side: str) -> dict[str, float]:
    """Signed distance to ``bone`` at the probes around ``landmark`` (mm)."""
    pose = layout.poses[bone]
    center = local_point(scene, landmark, pose)
    sign = np.array([SIDES[side], 1.0, 1.0])
    return {name: float(scene.signed_distance(bone, pose.patient_from_local((center + sign * np.array(offset))[None]))[0])
            for name, offset in PROBES.items()}


def _assert_corner(probes: dict[str, float], bone: str, landmark: str, lower_part: str) -> None:
    problems = []
    if probes["in_front"] >= 0:
        problems.append(f"2 mm in front is outside {bone} ({probes['in_front']:+.2f} mm): no {lower_part} there")
    if probes["above_medial"] >= 0:
        problems.append(f"6 mm medial, 4 mm in front and above is outside {bone} ({probes['above_medial']:+.2f} mm): "
                        "no superior articular process there")
    for name, where in (("behind", "3 mm behind"), ("above_lateral", "4 mm lateral / 4 mm above")):
        if probes[name] <= 0:
            problems.append(f"{where} is inside {bone} ({probes[name]:+.2f} mm): no free corner there")
    assert not problems, f"{landmark}: " + "; ".join(problems)


def _record_probes(check: str, item: str, probes: dict[str, float]) -> None:
    record(check, item, "/".join(f"{probes[name]:+.1f}" for name in PROBES), "- / - / + / + (in, in, out, out)",
           probes["in_front"] < 0 and probes["above_medial"] < 0 < min(probes["behind"], probes["above_lateral"]))


# -- medial branches of L1-L4 on the SAP-TP junction of the level below --------------------------
@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("level", LUMBAR[:4])
def test_medial_branch_passes_the_sap_tp_junction_below(default_scene, level, side):
    landmark = f"sap_tp_junction_{NEXT[level]}_{side}"
    distance = float(default_scene.signed_distance(f"medial_branch_{level}_{side}", default_scene.landmark(landmark))[0])
    ok = distance <= TARGET_DISTANCE_MM
    record("medial branch to SAP-TP junction below", f"{level} {side}", distance, "<= 2 mm (§2, Cohen 2011)", ok)
    assert ok, f"medial_branch_{level}_{side} passes {distance:.2f} mm from {landmark} (at most 2 mm)"


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("level", LUMBAR[1:])
def test_sap_tp_junction_landmark_is_at_the_junction(default_scene, layout, level, side):
    """TP bone in front of the landmark, SAP bone above-medial, free space behind and above-lateral."""
    landmark = f"sap_tp_junction_{level}_{side}"
    probes = _probe(default_scene, layout, level, landmark, side)
    on_surface = float(default_scene.signed_distance(level, default_scene.landmark(landmark))[0])
    _record_probes("SAP-TP junction probes (TP / SAP / behind / corner)", f"{level} {side}", probes)
    assert abs(on_surface) < 0.5, f"{landmark} is {on_surface:+.2f} mm from the surface of {level}"
    _assert_corner(probes, level, landmark, "transverse process")


# -- L5 dorsal ramus in the ala-SAP groove ------------------------------------------------------
@pytest.mark.parametrize("side", SIDES)
def test_l5_dorsal_ramus_runs_in_the_ala_sap_groove(default_scene, side):
    landmark = f"ala_sap_groove_{side}"
    distance = float(default_scene.signed_distance(f"dorsal_ramus_L5_{side}", default_scene.landmark(landmark))[0])
    ok = distance <= TARGET_DISTANCE_MM
    record("L5 dorsal ramus to ala-SAP groove", side, distance, "<= 2 mm (§2, Bogduk)", ok)
    assert ok, f"dorsal_ramus_L5_{side} passes {distance:.2f} mm from {landmark} (at most 2 mm)"


@pytest.mark.parametrize("side", SIDES)
def test_ala_sap_groove_landmark_is_in_the_groove(default_scene, layout, side):
    """Sacral ala in front of the landmark, S1 SAP above-medial, free space behind and above-lateral."""
    landmark = f"ala_sap_groove_{side}"
    probes = _probe(default_scene, layout, "sacrum", landmark, side)
    on_surface = float(default_scene.signed_distance("sacrum", default_scene.landmark(landmark))[0])
    _record_probes("ala-SAP groove probes (ala / SAP / behind / groove)", side, probes)
    assert abs(on_surface) < 0.5, f"{landmark} is {on_surface:+.2f} mm from the surface of the sacrum"
    _assert_corner(probes, "sacrum", landmark, "sacral ala")


# -- dorsal root ganglia in their foramina --------------------------------------------------------
FORAMEN_LIMITS_MM = {"up": 20.0, "down": 25.0, "anterior": 15.0}


def _first_hit(scene, start: np.ndarray, direction: np.ndarray, length: float, candidates: list[str]):
    crossings = [c for c in scene.segment_crossings(start, start + direction * length) if c.structure_id in candidates]
    return (crossings[0].structure_id, crossings[0].entry_mm) if crossings else (None, None)


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("level", LUMBAR)
def test_ganglion_lies_in_its_foramen(default_scene, layout, level, side):
    """From the ganglion centre: the pedicle of Ln above, the bone below under it, body or disc in front."""
    ganglion = default_scene.structure(f"ganglion_{level}_{side}")
    center = ganglion.field.points_mm.mean(axis=0)
    axes = layout.poses[level].rotation  # columns: local x, y, z in the patient frame
    lower = NEXT[level]
    discs = [d for d in default_scene.ids(kind="disc")]
    problems, figures = [], []
    for name, direction, wanted, candidates in (
        ("up", axes[:, 2], [level], list(BONES)),
        ("down", -axes[:, 2], [lower], list(BONES)),
        ("anterior", -axes[:, 1], [level, *discs], [*BONES, *discs]),
    ):
        limit = FORAMEN_LIMITS_MM[name]
        hit, depth = _first_hit(default_scene, center, direction, 40.0, candidates)
        figures.append(f"{name} {hit or 'nothing'} {depth if depth is None else round(depth, 1)}")
        if hit not in wanted or depth > limit:
            problems.append(f"{name}: first hit {hit or 'nothing within 40 mm'}"
                            + (f" at {depth:.1f} mm" if depth is not None else "")
                            + f" (wanted {' or '.join(wanted) if name != 'anterior' else level + ' body or a disc'} within {limit:g} mm)")
    clearance, bone = min_bone_distance(default_scene, ganglion.mesh.vertices)
    figures.append(f"bone clearance {clearance:.2f} ({bone})")
    if clearance <= 0.0:
        problems.append(f"ganglion mesh reaches {-clearance:.2f} mm into {bone}")
    record("ganglion in foramen", f"{level} {side}", "; ".join(figures),
           "up<=20 same level, down<=25 level below, anterior<=15 body/disc, clearance>0", not problems)
    assert not problems, f"ganglion_{level}_{side}: " + "; ".join(problems)


# -- no nerve inside bone ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", NERVE_KINDS)
def test_nerves_stay_out_of_bone(default_scene, kind):
    """Every vertex of every nerve of this kind lies outside every bone."""
    offenders = []
    for structure_id in default_scene.ids(kind=kind):
        clearance, bone = min_bone_distance(default_scene, default_scene.structure(structure_id).mesh.vertices)
        record(f"{kind} clearance from bone", structure_id, clearance, "> 0 mm", clearance > 0.0)
        if clearance <= 0.0:
            offenders.append(f"{structure_id} {-clearance:.2f} mm into {bone}")
    assert default_scene.ids(kind=kind), f"no {kind} in the scene"
    assert not offenders, f"{kind}s inside bone: " + ", ".join(offenders)


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("level", LUMBAR[:4])
def test_medial_branch_passes_under_the_mamillo_accessory_ligament(default_scene, layout, level, side):
    """Where the Ln medial branch meets the MAL of L(n+1), the ligament lies over it: farther from
    the bone than the nerve, 0-1 mm from its surface, between the mamillary and accessory processes."""
    below = NEXT[level]
    nerve = default_scene.structure(f"medial_branch_{level}_{side}").field
    ligament = default_scene.structure(f"mamillo_accessory_ligament_{below}_{side}").field
    gaps = ligament.signed_distance(nerve.points_mm) - nerve.radii_mm
    crossing = int(np.argmin(gaps))
    nerve_point = nerve.points_mm[crossing]
    ligament_point = ligament.points_mm[np.argmin(np.linalg.norm(ligament.points_mm - nerve_point, axis=1))]
    nerve_depth, ligament_depth = (float(default_scene.signed_distance(below, p[None])[0]) for p in (nerve_point, ligament_point))
    pose = layout.poses[below]
    ends_z = pose.local_from_patient(ligament.points_mm[[0, -1]])[:, 2]
    crossing_z = pose.local_from_patient(nerve_point[None])[0, 2]
    record("medial branch to MAL gap", f"{level} {side}", float(gaps[crossing]), "0 to 1 mm", 0.0 < gaps[crossing] < 1.0)
    record("bone distance: nerve / MAL at the crossing", f"{level} {side}", f"{nerve_depth:.2f} / {ligament_depth:.2f}",
           "nerve nearer the bone", nerve_depth < ligament_depth)
    assert 0.0 < gaps[crossing] < 1.0, f"the {level} medial branch is {gaps[crossing]:+.2f} mm from the ligament"
    assert nerve_depth < ligament_depth, (f"at the crossing the nerve is {nerve_depth:.2f} mm from {below}, the ligament "
                                          f"{ligament_depth:.2f} mm: the nerve is not under it")
    assert ends_z.min() < crossing_z < ends_z.max(), "the nerve does not cross between the two processes"


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("level", LUMBAR)
def test_mamillo_accessory_ligament_spans_its_processes(default_scene, level, side):
    """Each end sits on the bone (within 0.6 mm of its surface); in between it stays out of bone."""
    ligament = default_scene.structure(f"mamillo_accessory_ligament_{level}_{side}").field
    surface_gap = default_scene.signed_distance(level, ligament.points_mm) - ligament.radii_mm
    record("MAL ends: gap to bone", f"{level} {side}", float(surface_gap[[0, -1]].max()), "< 0.6 mm",
           surface_gap[[0, -1]].max() < 0.6)
    assert surface_gap[[0, -1]].max() < 0.6, f"an end of the ligament is {surface_gap[[0, -1]].max():.2f} mm off the bone"
    assert surface_gap.min() > 0.0, f"the ligament runs {-surface_gap.min():.2f} mm into {level}"
