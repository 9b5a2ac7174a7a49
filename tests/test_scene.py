"""The scene's spatial queries on the default patient: distances, tissues, crossings, volumes.

Skin thickness 2 mm is the generator's value (``soft_tissue.SKIN_THICKNESS_MM``; lumbar back
skin is about 2 mm thick); a vertical needle meets skin, subcutaneous fat, then the paraspinal
muscles before bone.
"""

from __future__ import annotations

import numpy as np
import pytest

from simulator.errors import ParameterError, UnknownStructureError
from tests.helpers import gap_through, inside_mesh, record, run_through

# -- signed distance, inside tests, and the meshes -----------------------------------------------
AGREEMENT_STRUCTURES = ["L4", "sacrum", "disc_L4_L5", "dural_sac", "medial_branch_L4_left", "root_L5_left",
                        "aorta", "psoas_left", "paraspinal_right", "skin", "subcutaneous_fat"]


def test_contains_agrees_with_the_sign_of_the_distance(default_scene):
    rng = np.random.default_rng(1)
    lower, upper = (np.asarray(b) for b in default_scene.bounds())
    points = rng.uniform(lower, upper, size=(4000, 3))
    for structure_id in ("L4", "dural_sac", "medial_branch_L4_left", "skin"):
        distance = default_scene.signed_distance(structure_id, points)
        np.testing.assert_array_equal(default_scene.contains(structure_id, points), distance < 0.0)


@pytest.mark.parametrize("structure_id", AGREEMENT_STRUCTURES)
def test_field_sign_agrees_with_the_mesh(default_scene, structure_id):
    """Points clearly inside the field are inside the mesh (VTK's test), and vice versa.

    "Clearly": more than 1 mm from the surface for gridded structures (their meshes are
    decimated), 0.3 mm (or 5 % of the radius) for tubes, 0.3 mm for the 2 mm skin layer.
    """
    structure = default_scene.structure(structure_id)
    if hasattr(structure.field, "radii_mm"):
        # Tube meshes are polygons (10-16 sides, two cap rings): up to ~4 % of the radius off.
        margin = max(0.3, 0.05 * float(structure.field.radii_mm.max()))
    else:
        margin = 0.3 if structure_id == "skin" else 1.0
    rng = np.random.default_rng(7)
    lower, upper = (np.asarray(b) for b in structure.field.bounds)
    points = rng.uniform(lower - 3.0, upper + 3.0, size=(3000, 3))
    if hasattr(structure.field, "points_mm"):  # most of a thin tube's box is outside it
        points = np.vstack([points, structure.field.points_mm[::2]])
    if hasattr(structure.field, "inner_mm"):   # a layer: add points midway through it
        normals = structure.mesh.to_trimesh().vertex_normals
        middle = 0.5 * (structure.field.outer_mm - structure.field.inner_mm)
        points = np.vstack([points, structure.mesh.vertices[::7] - middle * normals[::7]])
    distance = default_scene.signed_distance(structure_id, points)
    clear = np.abs(distance) > margin
    inside = inside_mesh(structure.mesh, points[clear])
    disagree = int(np.count_nonzero(inside != (distance[clear] < 0.0)))
    record("field sign vs mesh inside (disagreements)", structure_id, f"{disagree}/{np.count_nonzero(clear)}", "0", disagree == 0)
    assert np.count_nonzero(distance[clear] < 0.0) > 10, f"too few samples clearly inside {structure_id}"
    assert disagree == 0, f"{structure_id}: field and mesh disagree on {disagree} of {np.count_nonzero(clear)} points"


# -- tissues -------------------------------------------------------------------------------------
def test_tissue_far_outside_is_air(default_scene):
    far = [[0.0, 500.0, 0.0], [600.0, 0.0, 0.0], [0.0, 0.0, -900.0]]
    assert list(default_scene.tissue_at(far)) == ["air"] * 3
    assert list(default_scene.structure_at(far)) == [""] * 3


def test_tissue_just_inside_a_bone_surface_is_cortical(default_scene, layout):
    pose = layout.poses["L4"]
    run = run_through(default_scene, "L4", pose, (0.0, 0.0, 0.0), (0.0, 1.0, 0.0))  # through the body, mid-height
    point = pose.patient_from_local([[0.0, run[0] + 0.5, 0.0]])                    # 0.5 mm inside the anterior wall
    assert -1.0 < default_scene.signed_distance("L4", point)[0] < 0.0
    assert default_scene.structure_at(point)[0] == "L4"
    assert default_scene.tissue_at(point)[0] == "cortical_bone"


def test_tissue_deep_in_a_body_is_cancellous(default_scene):
    center = default_scene.landmark("body_center_L4")
    assert default_scene.signed_distance("L4", center)[0] < -5.0
    assert default_scene.tissue_at(center)[0] == "cancellous_bone"


def test_tissue_in_the_dural_sac_centre_is_csf(default_scene, layout):
    """Midway between the L3 posterior body wall and the lamina, at the midline."""
    pose = layout.poses["L3"]
    z = float(pose.local_from_patient(default_scene.landmark("pedicle_L3_left")[None])[0][2])
    body = run_through(default_scene, "L3", pose, (0.0, 0.0, z), (0.0, 1.0, 0.0))
    canal = gap_through(default_scene, "L3", pose, (0.0, body[1] + 1.0, z), (0.0, 1.0, 0.0))
    middle = pose.patient_from_local([[0.0, body[1] + 1.0 + 0.5 * (canal[0] + canal[1]), z]])
    assert default_scene.signed_distance("dural_sac", middle)[0] < -2.0
    assert default_scene.tissue_at(middle)[0] == "csf"


def test_tissue_on_a_medial_branch_centreline_is_nerve(default_scene):
    centreline = default_scene.structure("medial_branch_L4_left").field.points_mm
    points = centreline[len(centreline) // 4: 3 * len(centreline) // 4]
    assert set(default_scene.tissue_at(points)) == {"nerve"}
    assert set(default_scene.structure_at(points)) == {"medial_branch_L4_left"}


def test_tissue_in_the_aorta_is_blood(default_scene):
    centreline = default_scene.structure("aorta").field.points_mm
    point = centreline[len(centreline) // 2]
    assert default_scene.tissue_at(point)[0] == "blood"
    assert default_scene.structure_at(point)[0] == "aorta"


# -- segment crossings -----------------------------------------------------------------------------
def test_vertical_needle_to_the_l4_pedicle_crosses_skin_fat_muscle_then_bone(default_scene):
    target = default_scene.landmark("pedicle_L4_left")
    start = target + np.array([0.0, 200.0, 0.0])  # prone: posterior (+y) is up
    crossings = default_scene.segment_crossings(start, target)
    summary = ", ".join(f"{c.structure_id} {c.entry_mm:.2f}-{c.exit_mm:.2f}" for c in crossings)
    assert [c.kind for c in crossings[:3]] == ["skin", "fat", "muscle"], summary
    assert crossings[0].structure_id == "skin" and crossings[1].structure_id == "subcutaneous_fat", summary
    assert crossings[-1].structure_id == "L4" and crossings[-1].ends_inside, summary
    entries = [c.entry_mm for c in crossings]
    assert entries == sorted(entries), summary
    assert all(c.entry_mm < c.exit_mm for c in crossings), summary
    assert not any(c.starts_inside for c in crossings), summary
    skin, fat = crossings[0], crossings[1]
    assert abs(skin.exit_mm - fat.entry_mm) < 0.01, f"gap between skin and fat: {summary}"
    along_needle = skin.exit_mm - skin.entry_mm

    # Skin thickness proper: across the skin, along the outer surface's normal where the needle enters.
    direction = (target - start) / np.linalg.norm(target - start)
    entry = start + skin.entry_mm * direction
    outer = default_scene.structure("body").mesh.to_trimesh()
    normal = outer.vertex_normals[np.argmin(np.linalg.norm(outer.vertices - entry, axis=1))]
    across = [c for c in default_scene.segment_crossings(entry + 5.0 * normal, entry - 10.0 * normal)
              if c.structure_id == "skin"]
    assert across, "no skin across the surface normal at the needle's entry point"
    thickness = across[0].exit_mm - across[0].entry_mm
    tilt = np.degrees(np.arccos(abs(normal @ direction)))
    record("skin thickness across the surface", "needle entry over L4 pedicle left", thickness,
           f"2 ± 0.3 mm (along the needle {along_needle:.2f} mm, surface tilted {tilt:.0f}°)", abs(thickness - 2.0) <= 0.3)
    assert abs(thickness - 2.0) <= 0.3, f"skin {thickness:.2f} mm thick across the surface ({along_needle:.2f} mm along the needle)"


def test_segment_crossings_rejects_a_zero_length_segment(default_scene):
    point = default_scene.landmark("pedicle_L4_left")
    with pytest.raises(ParameterError, match="end"):
        default_scene.segment_crossings(point, point)


# -- rasterisation -------------------------------------------------------------------------------
def test_rasterized_l4_volume_matches_its_mesh(default_scene):
    """At 2 mm voxels, L4's voxel count times 8 mm³ is its mesh volume within 10 %.

    Rasterised over L4's own box (the ``bounds`` argument) to keep the test fast.
    """
    volume = default_scene.rasterize(2.0, bounds=default_scene.structure("L4").field.bounds)
    voxels = volume.voxel_volume_mm3("L4")
    mesh = default_scene.structure("L4").mesh.volume_mm3()
    ok = abs(voxels - mesh) <= 0.1 * mesh
    record("rasterised L4 volume / mesh volume", "2 mm voxels", voxels / mesh, "1 ± 0.10", ok)
    assert ok, f"L4: {voxels:.0f} mm³ of voxels vs {mesh:.0f} mm³ of mesh"
    l4 = volume.structure_labels == volume.structure_ids.index("L4")
    tissues = {volume.tissue_ids[t] for t in np.unique(volume.tissue_labels[l4])}
    assert tissues == {"cortical_bone", "cancellous_bone"}
    attenuation = volume.property_volume({t: float(i) for i, t in enumerate(volume.tissue_ids)})
    assert attenuation.shape == volume.structure_labels.shape and attenuation.dtype == np.float32


def test_rasterize_rejects_a_bad_spacing(default_scene):
    with pytest.raises(ParameterError, match="spacing_mm"):
        default_scene.rasterize(0.0)


# -- errors ----------------------------------------------------------------------------------------
def test_unknown_structure_names_the_id_and_suggests_close_ones(default_scene):
    with pytest.raises(UnknownStructureError) as caught:
        default_scene.structure("medial_branch_L4_lft")
    message = str(caught.value)
    assert "medial_branch_L4_lft" in message and "did you mean" in message and "medial_branch_L4_left" in message
    assert isinstance(caught.value, KeyError)
    with pytest.raises(UnknownStructureError, match="medial_branch_L4_lft"):
        default_scene.signed_distance("medial_branch_L4_lft", [0.0, 0.0, 0.0])


def test_unknown_landmark_is_an_unknown_structure_error(default_scene):
    with pytest.raises(UnknownStructureError, match="sap_tp_junction_L6_left"):
        default_scene.landmark("sap_tp_junction_L6_left")


@pytest.mark.parametrize("points", [np.zeros((4, 2)), np.zeros((2, 3, 3)), [1.0, 2.0], [[0.0, 0.0, np.nan]]],
                         ids=["n_by_2", "3d_array", "two_numbers", "nan"])
def test_bad_points_raise_parameter_error(default_scene, points):
    with pytest.raises(ParameterError, match="points"):
        default_scene.signed_distance("L4", points)
    with pytest.raises(ParameterError, match="points"):
        default_scene.tissue_at(points)
