"""The generator: determinism, the shipped default patient, and parameter variants.

These tests generate whole patients (about a minute each on two cores), so one generation
per parameter set is shared by all tests through session fixtures.
"""

from __future__ import annotations

import numpy as np
import pytest

from simulator.anatomy import PatientParameters, generate_patient
from simulator.anatomy.assets import default_anatomy_folder, load_anatomy
from simulator.anatomy.spine import BONES, build_layout
from simulator.fields import GridField, TubeField
from simulator.scene import Scene

pytestmark = pytest.mark.slow

VARIANTS = {
    "fat": PatientParameters(fat_thickness_mm=45.0),
    "lordosis": PatientParameters(lordosis_deg=55.0),
    "scoliosis": PatientParameters(scoliosis_cobb_deg=25.0, scoliosis_rotation_deg=10.0),
    "small": PatientParameters(size_scale=0.9),
}


@pytest.fixture(scope="session")
def generated_default():
    return generate_patient(PatientParameters())


@pytest.fixture(scope="session")
def variant(request):
    return generate_patient(VARIANTS[request.param])


@pytest.fixture(scope="session")
def shipped():
    return load_anatomy(default_anatomy_folder())


def _mesh_distance_mm(a, b) -> float:
    """Largest distance from a vertex of mesh ``a`` to the nearest vertex of mesh ``b`` (mm)."""
    from scipy.spatial import cKDTree

    return float(cKDTree(b.vertices).query(a.vertices)[0].max())


def test_shipped_assets_are_what_the_generator_makes(generated_default, shipped):
    """The files in assets/meshes/default must be regenerable bit for bit (tolerance 1e-3 mm)."""
    assert shipped.parameters == generated_default.parameters
    assert list(shipped.structures) == list(generated_default.structures)
    rng = np.random.default_rng(7)
    for structure_id, made in generated_default.structures.items():
        kept = shipped.structures[structure_id]
        assert (kept.kind, kept.role, kept.tissue, kept.level, kept.side) == (made.kind, made.role, made.tissue, made.level, made.side)
        assert kept.mesh.n_faces == made.mesh.n_faces, structure_id
        np.testing.assert_allclose(kept.mesh.vertices, made.mesh.vertices, atol=1e-3, err_msg=structure_id)
        lower, upper = (np.asarray(b) for b in made.field.bounds)
        points = rng.uniform(lower, upper, size=(2000, 3))
        np.testing.assert_allclose(kept.field.signed_distance(points), made.field.signed_distance(points),
                                   atol=1e-3, err_msg=structure_id)
    for name, position in generated_default.landmarks_mm.items():
        np.testing.assert_allclose(shipped.landmarks_mm[name], position, atol=1e-3, err_msg=name)


def _assert_same_bones(variant, base, layout, base_layout, bones=BONES) -> None:
    """Posture moves bones but does not reshape them.

    Each bone's own shape (its field before yielding to the bone below) is identical; on the
    meshes, the variant's vertebral body lies on the default's within 0.3 mm (meshing and
    decimating a differently oriented grid) and the bone's volume is within 4 % (where a
    posture pushes articular processes together, the upper bone yields 1 mm and is trimmed).
    """
    rng = np.random.default_rng(3)
    for bone in bones:
        low, high = base_layout.local_box(bone)
        points = rng.uniform(low, high, size=(4000, 3))
        np.testing.assert_allclose(layout._own_distance_local(bone, points), base_layout._own_distance_local(bone, points),
                                   atol=1e-9, err_msg=bone)
        va = layout.poses[bone].local_from_patient(variant.structures[bone].mesh.vertices)
        body = np.abs(va[:, 1]) < 0.4 * (base_layout.sacrum.body_depth if bone == "sacrum" else base_layout.shapes[bone].body_depth)
        body &= np.abs(va[:, 0]) < 15.0
        # The variant's body surface lies on the default patient's body surface.
        off_surface = np.abs(base_layout._own_distance_local(bone, va[body]))
        assert np.percentile(off_surface, 99) < 0.3, bone
        ratio = variant.structures[bone].mesh.volume_mm3() / base.structures[bone].mesh.volume_mm3()
        assert ratio == pytest.approx(1.0, abs=0.04), bone


@pytest.mark.parametrize("variant", ["fat"], indirect=True)
def test_fat_variant_thickens_fat_and_moves_only_the_skin(variant, generated_default):
    base, fat = Scene(generated_default), Scene(variant)
    from simulator.anatomy.measure import skin_depth_mm

    def vertical_obliquity(scene: Scene, landmark: str) -> float:
        """1 / cos of the angle between the skin's normal and the vertical, above a landmark."""
        target = scene.landmark(landmark)
        entry = target + np.array([0.0, skin_depth_mm(scene, landmark), 0.0])
        h = 0.5
        gradient = np.array([(scene.signed_distance("body", entry + e) - scene.signed_distance("body", entry - e))[0]
                             for e in np.eye(3) * h]) / (2 * h)
        return float(np.linalg.norm(gradient) / abs(gradient[1]))

    for landmark in ("sap_tp_junction_L4_left", "sap_tp_junction_L5_right"):
        # 45 mm of fat instead of 15: along the skin's normal the target is 30 mm deeper.
        # Straight down through the sloping, convex back it is at least that, and about
        # 30 mm / cos(slope) plus the convexity's share (a few mm).
        deeper = skin_depth_mm(fat, landmark) - skin_depth_mm(base, landmark)
        assert 30.0 <= deeper <= 30.0 * vertical_obliquity(fat, landmark) + 4.0
    # Fat layer thickness over the back: distance from the fat's outer surface (under the skin)
    # to its inner surface (the muscles), measured between the two surfaces of its mesh.
    from scipy.spatial import cKDTree

    for scene, expected in ((base, 15.0), (fat, 45.0)):
        layer = scene.structure("subcutaneous_fat")
        vertices = layer.mesh.vertices.astype(float)
        depth = scene.signed_distance("body", vertices)
        outer, inner = vertices[np.abs(depth + 2.0) < 0.3], vertices[np.abs(depth + 2.0) >= 0.3]
        low, high = np.percentile(outer[:, 2], [15, 85])
        back = outer[(outer[:, 1] > 20.0) & (outer[:, 2] > low) & (outer[:, 2] < high)]
        thickness = cKDTree(inner).query(back)[0]
        assert np.median(thickness) == pytest.approx(expected, abs=1.5)
        assert np.percentile(thickness, 90) < expected + 4.0
    # Bones, discs and nerves do not move.
    for structure_id in ("L4", "sacrum", "disc_L4_L5", "medial_branch_L4_right", "root_L5_left", "aorta"):
        assert np.array_equal(variant.structures[structure_id].mesh.vertices, generated_default.structures[structure_id].mesh.vertices)


@pytest.mark.parametrize("variant", ["lordosis"], indirect=True)
def test_lordosis_variant_bends_the_spine_without_reshaping_bones(variant, generated_default):
    base_layout, layout = build_layout(PatientParameters()), build_layout(VARIANTS["lordosis"])

    def sagittal_angle_deg(anatomy, upper: str, lower: str) -> float:
        """Angle between two bodies' axes measured from their meshes (principal axes of the body)."""
        axes = []
        for bone in (upper, lower):
            landmarks = anatomy.landmarks_mm
            axis = landmarks[f"superior_endplate_{bone}"] - landmarks[f"inferior_endplate_{bone}"]
            axes.append(axis / np.linalg.norm(axis))
        return float(np.degrees(np.arctan2(axes[0][1], axes[0][2]) - np.arctan2(axes[1][1], axes[1][2])))

    base_total = sagittal_angle_deg(generated_default, "L1", "L5")
    variant_total = sagittal_angle_deg(variant, "L1", "L5")
    # L1 to L5 carries the lordosis minus the L5-S1 share (21.6/50.5 of it).
    share = 1 - 21.6 / 50.5
    assert variant_total - base_total == pytest.approx((55.0 - 36.8) * share, abs=0.5)
    _assert_same_bones(variant, generated_default, layout, base_layout)
    # L3 is the anchor: it does not move (its body centre and endplate stay put).
    for landmark in ("body_center_L3", "superior_endplate_L3", "inferior_endplate_L3"):
        np.testing.assert_allclose(variant.landmarks_mm[landmark], generated_default.landmarks_mm[landmark], atol=1e-9)


@pytest.mark.parametrize("variant", ["scoliosis"], indirect=True)
def test_scoliosis_variant_tilts_levels_in_the_coronal_plane(variant, generated_default):
    marks = variant.landmarks_mm

    def coronal_tilt_deg(bone: str) -> float:
        axis = marks[f"superior_endplate_{bone}"] - marks[f"inferior_endplate_{bone}"]
        return float(np.degrees(np.arctan2(axis[0], axis[2])))

    # Cobb angle L1-L5 measured between the two end vertebrae's axes.
    assert coronal_tilt_deg("L5") - coronal_tilt_deg("L1") == pytest.approx(25.0, abs=0.5)
    # Convex to the left: the apex (L3) lies left of the line from L1 to L5.
    l1, l3, l5 = (marks[f"body_center_{b}"] for b in ("L1", "L3", "L5"))
    assert l3[0] - 0.5 * (l1[0] + l5[0]) > 3.0
    # The apex rotates: its spinous process swings to the right (concave side), by 10 degrees.
    spinous = marks["spinous_tip_L3"] - marks["body_center_L3"]
    assert np.degrees(np.arctan2(-spinous[0], spinous[1])) == pytest.approx(10.0, abs=0.5)
    # Shapes are unchanged.
    layout, base_layout = build_layout(VARIANTS["scoliosis"]), build_layout(PatientParameters())
    _assert_same_bones(variant, generated_default, layout, base_layout)


@pytest.mark.parametrize("variant", ["small"], indirect=True)
def test_size_scale_scales_measured_bones(variant, generated_default):
    small_layout, base_layout = build_layout(VARIANTS["small"]), build_layout(PatientParameters())
    for bone in ("L1", "L4", "sacrum"):
        small = small_layout.poses[bone].local_from_patient(variant.structures[bone].mesh.vertices)
        base = base_layout.poses[bone].local_from_patient(generated_default.structures[bone].mesh.vertices)
        # Every extent of the bone (transverse span, depth with spinous process, height with
        # articular processes) shrinks by the scale, within 2 % (the 2 mm joint gap and fillets
        # do not scale).
        np.testing.assert_allclose(np.ptp(small, axis=0) / np.ptp(base, axis=0), 0.9, atol=0.02, err_msg=bone)
    volume_ratio = variant.structures["L4"].mesh.volume_mm3() / generated_default.structures["L4"].mesh.volume_mm3()
    assert volume_ratio == pytest.approx(0.9**3, rel=0.05)


def test_fields_are_the_expected_types(generated_default):
    assert isinstance(generated_default.structures["L4"].field, GridField)
    assert isinstance(generated_default.structures["medial_branch_L4_left"].field, TubeField)
