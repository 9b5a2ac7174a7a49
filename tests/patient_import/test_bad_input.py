"""Bad input to the importers: each gives one clear error naming the file and the problem."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.cli import main
from simulator.errors import AssetError, FileFormatError
from simulator.patient_import import import_meshes
from simulator.patient_import.ct import CT_ENERGY_KEV, hu_of, hu_to_basis, read_ct, read_labels
from simulator.patient_import.description import describe_from_file_names, load_description, structure_from_file_name
from simulator.patient_import.inside import signed_distance_grid
from simulator.patient_import.mesh_files import detect_units, read_mesh_file
from simulator.tissues import attenuation_per_mm
from tests.patient_import.conftest import write_description
from tests.patient_import.dicom_files import write_dicom_series


@pytest.fixture
def bone_folder(tmp_path, default_scene):
    """Three of the default patient's vertebrae as STL files (mm)."""
    import trimesh

    for bone in ("L3", "L4", "L5"):
        mesh = default_scene.structure(bone).mesh
        trimesh.Trimesh(mesh.vertices, mesh.faces, process=False).export(tmp_path / f"{bone}.stl")
    return tmp_path


def _one_line(error: Exception) -> str:
    message = str(error)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_missing_file_is_named(bone_folder):
    write_description(bone_folder, {"L3": "L3.stl", "L4": "L4.stl", "L5": "L5.stl", "sacrum": "S1.stl"})
    with pytest.raises(AssetError) as caught:
        import_meshes(bone_folder)
    assert caught.value.path.name == "S1.stl" and "missing" in _one_line(caught.value)


def test_unknown_unit_is_named_with_what_is_allowed(bone_folder):
    write_description(bone_folder, {"L3": "L3.stl", "L4": "L4.stl"}, units="inch")
    with pytest.raises(FileFormatError) as caught:
        load_description(bone_folder)
    message = _one_line(caught.value)
    assert caught.value.path.name == "patient.toml" and "units" in message and "mm" in message and "'inch'" in message


def test_empty_mesh_is_named(bone_folder):
    (bone_folder / "L5.obj").write_text("# no vertices, no faces\n")
    with pytest.raises(AssetError, match="empty") as caught:
        read_mesh_file(bone_folder / "L5.obj")
    assert caught.value.path.name == "L5.obj"


def test_a_size_no_unit_explains_is_refused(bone_folder):
    mesh = read_mesh_file(bone_folder / "L3.stl")
    assert detect_units(mesh, "L3.stl") == "mm"
    from simulator.mesh import TriangleMesh

    with pytest.raises(AssetError, match="cannot tell the units"):
        detect_units(TriangleMesh(mesh.vertices * 100.0, mesh.faces), "huge.stl")


def test_given_units_that_make_no_bone_are_refused(bone_folder, capsys, tmp_path):
    """units = "m" on millimetre files (a vertebra 50 m across): one line naming the file, the
    size those units give and the units its size says."""
    write_description(bone_folder, {"L3": "L3.stl", "L4": "L4.stl", "L5": "L5.stl"}, units="m")
    assert main(["patient", "import", str(bone_folder), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "L3.stl" in error and 'units = "m"' in error and "its size says mm" in error


def test_bones_named_out_of_order_are_refused(bone_folder):
    write_description(bone_folder, {"L3": "L4.stl", "L4": "L3.stl", "L5": "L5.stl"})
    with pytest.raises(AssetError, match="not in order"):
        import_meshes(bone_folder)


def test_a_hole_is_closed_by_the_inside_test(default_scene):
    """A 6 mm hole in the L4 body: the inside test still finds the whole bone (volume within 1 %)."""
    from simulator.mesh import TriangleMesh

    mesh = default_scene.structure("L4").mesh
    centers = mesh.vertices[mesh.faces].mean(axis=1)
    front = centers[np.argmin(centers[:, 1])]
    holed = TriangleMesh(mesh.vertices.astype(float), mesh.faces[np.linalg.norm(centers - front, axis=1) > 3.0])
    field, report = signed_distance_grid(holed, "L4 with a hole")
    assert not report.watertight and report.hole_closing_mm >= 1.5
    assert abs(report.inside_volume_mm3 / mesh.volume_mm3() - 1.0) < 0.01


def test_ct_without_spacing_is_refused(tmp_path):
    import nibabel as nib

    image = nib.Nifti1Image(np.zeros((8, 8, 8), np.int16), affine=None)
    image.header["pixdim"][1:4] = 0.0
    nib.save(image, tmp_path / "flat.nii.gz")
    with pytest.raises(AssetError, match="no usable voxel spacing") as caught:
        read_ct(tmp_path / "flat.nii.gz")
    assert caught.value.path.name == "flat.nii.gz"
    folder = write_dicom_series(np.zeros((8, 8, 3), np.int16), np.diag([1.0, 1.0, 2.0, 1.0]), tmp_path / "dicom",
                                drop=("PixelSpacing",))
    with pytest.raises(AssetError, match="PixelSpacing") as caught:
        read_ct(folder)
    assert caught.value.path.name.startswith("slice_")


def test_label_map_of_another_size_is_refused(tmp_path):
    import nibabel as nib

    ct = np.zeros((20, 20, 10), np.int16)
    nib.save(nib.Nifti1Image(ct, np.diag([2.0, 2.0, 2.0, 1.0])), tmp_path / "ct.nii.gz")
    nib.save(nib.Nifti1Image(np.zeros((10, 10, 10), np.uint8), np.diag([4.0, 4.0, 2.0, 1.0])), tmp_path / "labels.nii.gz")
    nib.save(nib.Nifti1Image(np.zeros((20, 24, 10), np.uint8), np.diag([2.0, 2.0, 2.0, 1.0])), tmp_path / "wide.nii.gz")
    image = read_ct(tmp_path / "ct.nii.gz")
    for name in ("labels.nii.gz", "wide.nii.gz"):
        with pytest.raises(AssetError, match="label map of shape") as caught:
            read_labels(tmp_path / name, image)
        assert caught.value.path.name == name


def test_cli_prints_one_line_and_exits_2(bone_folder, capsys, tmp_path):
    write_description(bone_folder, {"L3": "L3.stl", "L9": "L4.stl"})
    assert main(["patient", "import", str(bone_folder), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "patient.toml" in error and "structure[1]" in error


@pytest.mark.parametrize("name, structure", [
    ("L1.obj", "L1"), ("vertebrae_L3.stl", "L3"), ("T12.ply", "T12"), ("l5_Schrumpfverpacken.OBJ", "L5"),
    ("S1.obj", "sacrum"), ("sacrum.vtp", "sacrum"), ("vertebrae_S1.stl", "sacrum"),
    ("disc_L4_L5.stl", "disc_L4_L5"), ("L5-S1.obj", "disc_L5_S1"), ("disc_L2.stl", "disc_L2_L3"),
    ("liver.stl", None), ("L1_L3.stl", None), ("L12.obj", None), ("scan_2021.obj", None),
])
def test_file_names_tell_the_structure(name, structure):
    entry = structure_from_file_name(name)
    assert (entry.structure_id if entry else None) == structure


def test_a_folder_without_description_is_described_by_its_file_names(bone_folder, tmp_path):
    """L3.stl, L4.stl, L5.stl: vertebrae L3-L5, units from their size, automatic alignment."""
    (bone_folder / "notes.txt").write_text("not a mesh")
    description = describe_from_file_names(bone_folder)
    assert [(e.file, e.structure_id) for e in description.structure] == [("L3.stl", "L3"), ("L4.stl", "L4"), ("L5.stl", "L5")]
    assert description.units == "auto" and description.alignment.method == "auto"


def test_a_folder_whose_file_names_tell_nothing_is_refused(bone_folder, capsys, tmp_path):
    (bone_folder / "L4.stl").rename(bone_folder / "bone_b.stl")
    assert main(["patient", "import", str(bone_folder), "--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "'bone_b.stl'" in error and "patient.toml" in error and "vertebrae_L1.stl" in error
    (bone_folder / "bone_b.stl").rename(bone_folder / "vertebrae_L3.obj")
    with pytest.raises(AssetError, match="'L3' is given twice") as caught:
        describe_from_file_names(bone_folder)
    assert caught.value.path == bone_folder
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "README").write_text("nothing here")
    assert main(["patient", "import", str(empty), "--out", str(tmp_path / "out")]) == 2
    assert "no DICOM image in this folder" in capsys.readouterr().err


def test_hounsfield_units_of_the_tissue_table():
    """HU at a 120 kV CT's 70 keV (fluoroscopy.md §2): cortical bone +1590, soft tissue +51,
    the table's cancellous bone (17 % cortical) about +300; and the basis fractions give back
    each tissue's μ at the fluoroscope's 59 keV."""
    assert CT_ENERGY_KEV == 70.0
    assert abs(hu_of("cortical_bone") - 1590) < 1.0 and abs(hu_of("soft_tissue") - 51) < 1.0
    assert 290 < hu_of("cancellous_bone") < 310
    for tissue in ("cortical_bone", "soft_tissue", "cancellous_bone", "air"):
        soft, bone = hu_to_basis(np.array([hu_of(tissue)]))
        mu = lambda t: attenuation_per_mm(t, 59.0)  # noqa: E731
        rebuilt = mu("air") + soft[0] * (mu("soft_tissue") - mu("air")) + bone[0] * (mu("cortical_bone") - mu("soft_tissue"))
        tolerance = 0.002 if tissue != "cancellous_bone" else 0.02  # cancellous: a mixture of the two bases
        assert abs(rebuilt / mu(tissue) - 1.0) < tolerance, tissue
