"""Importing the real CT (TotalSegmentator example, T11-L2 labelled, 3 mm voxels) and DICOM series.

HU of bone and attenuation: the basis materials' μ come from ``shared/reference/fluoroscopy.md``
§2 (ICRU-44 soft tissue and cortical bone); a 120 kV CT's effective energy, 70 keV, from the
same section's effective-energy table.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from simulator.cli import main
from simulator.errors import AbsentStructureError
from simulator.fluoro import ap, project_points
from simulator.patient_import.ct import TOTALSEGMENTATOR, CTVolume, read_ct, read_labels
from tests.helpers import record
from tests.patient_import.conftest import need_realdata, scenario_on
from tests.patient_import.dicom_files import write_dicom_series

pytestmark = pytest.mark.realdata


def test_label_map_is_placed_where_its_vertebrae_are_bone(ct_paths):
    """The example label map covers 30 of the CT's 112 slices and its header puts them at the
    bottom (the pelvis); its vertebrae are bone only at the top 30 (slices 82-111)."""
    ct = read_ct(ct_paths[0])
    _, info = read_labels(ct_paths[1], ct)
    assert info["slice_offset"] == 82 and info["offset_by_affine"] == 0
    assert info["on_bone_fraction"] > 0.45 > 0.05 > info["on_bone_fraction_by_affine"]
    record("CT labels: vertebra voxels on bone (HU >= 150)", "slices 82-111 / by the header", info["on_bone_fraction"],
           "> 0.45 (header's place: < 0.05)", True)


def test_ct_patient_has_the_levels_the_labels_give(ct_patient, ct_scene):
    """L1 and L2 are measured (T12's transverse processes are too small to find: kept as bone);
    the L1 medial branch (over L2) exists, the others are absent with the reason."""
    report = ct_patient.report
    assert {"L1", "L2"} <= set(ct_scene.layout.poses)
    assert {"medial_branch_L1_left", "medial_branch_L1_right"} <= set(ct_scene.ids(role="target_nerve"))
    assert "L3 absent" in report["absent_targets"]["medial_branch_L2_left"]
    with pytest.raises(AbsentStructureError, match="L4 and L5 absent"):
        ct_scene.structure("medial_branch_L4_right")
    assert "T12" in ct_scene and "bone_unlabelled" in ct_scene and ct_scene.anatomy.ct is not None


def _label_centroids(ct_patient, ct_paths) -> dict[str, tuple[np.ndarray, bool]]:
    """Each labelled vertebra's centroid (patient frame) and whether its label is whole (not cut by
    the label map's first or last slice)."""
    ct = read_ct(ct_paths[0])
    labels, info = read_labels(ct_paths[1], ct)
    first, last = info["slice_offset"], info["slice_offset"] + 29
    affine = ct_patient.anatomy.ct.patient_from_index
    centroids = {}
    for value, (name, _) in TOTALSEGMENTATOR.items():
        if name in ("T12", "L1", "L2"):
            voxels = np.argwhere(labels == value)
            whole = voxels[:, 2].min() > first and voxels[:, 2].max() < last
            centroids[name] = (voxels.mean(axis=0) @ affine[:3, :3].T + affine[:3, 3], whole)
    return centroids


def _shift_to_image_mm(shot, points_mm: np.ndarray, search_px: int = 40) -> tuple[float, float]:
    """How far (rows, columns; mm at the isocentre) the projected silhouette of ``points_mm`` must
    move to match the bone seen in the shot best: the shift maximising the correlation between the
    silhouette and the line integrals with their broad background (Gaussian, σ 25 px) removed."""
    image = shot.line_integrals.astype(float)
    detail = image - ndimage.gaussian_filter(image, 25.0)
    pixels = np.round(project_points(shot.projection, points_mm)).astype(int)
    n = image.shape[0]
    silhouette = np.zeros_like(image, dtype=bool)
    inside = np.all((pixels >= search_px) & (pixels < n - search_px), axis=1)
    silhouette[pixels[inside, 0], pixels[inside, 1]] = True
    silhouette = ndimage.binary_closing(silhouette, iterations=2)
    rows, cols = np.nonzero(silhouette)
    shifts = range(-search_px, search_px + 1)
    scores = np.array([[detail[rows + dr, cols + dc].sum() for dc in shifts] for dr in shifts])
    best_r, best_c = np.unravel_index(np.argmax(scores), scores.shape)
    mm = shot.pixel_spacing_at_isocenter_mm
    return (best_r - search_px) * mm, (best_c - search_px) * mm


def test_ap_shot_of_the_ct_shows_the_vertebrae_where_the_labels_are(ct_scene, ct_patient, ct_paths):
    """In an AP shot of the real CT each labelled vertebra is where its label says: the label's
    projected silhouette matches the bone in the image (correlation with the image's detail) at a
    shift under 2 mm; its projected centroid is then that close to where the image puts it."""
    from simulator.fluoro import Fluoroscope

    fluoroscope = Fluoroscope.from_scene(ct_scene)
    shot = fluoroscope.shot(ap(tuple(ct_scene.landmark("body_center_L1"))), rng=0)
    ct = read_ct(ct_paths[0])
    labels, _ = read_labels(ct_paths[1], ct)
    affine = ct_patient.anatomy.ct.patient_from_index
    for value, (name, _) in TOTALSEGMENTATOR.items():
        if name not in ("T12", "L1", "L2"):
            continue
        points = np.argwhere(labels == value) @ affine[:3, :3].T + affine[:3, 3]
        row_mm, col_mm = _shift_to_image_mm(shot, points)
        centroid = project_points(shot.projection, points.mean(axis=0))[0]
        record("CT AP shot: label silhouette to the image's bone", f"{name} (centroid at pixel {centroid.round(0).tolist()})",
               f"{row_mm:+.2f} / {col_mm:+.2f} mm", "rows / columns within 2 mm", abs(row_mm) < 2 and abs(col_mm) < 2)
        assert abs(row_mm) < 2.0 and abs(col_mm) < 2.0, (name, row_mm, col_mm)
    # The control: the L1 silhouette moved 8 mm to the left is found 8 mm off.
    shifted = np.argwhere(labels == 31) @ affine[:3, :3].T + affine[:3, 3] + np.array([8.0, 0.0, 0.0])
    row_mm, col_mm = _shift_to_image_mm(shot, shifted)
    assert abs(abs(col_mm) - 8.0) < 2.0 and abs(row_mm) < 2.0


def test_a_dicom_series_reads_as_the_same_ct(ct_paths, tmp_path):
    """The NIfTI written as a DICOM series (LPS, negative row and column directions) reads back to
    the same HU and affine, so it gives the same shots."""
    ct = read_ct(ct_paths[0])
    folder = write_dicom_series(ct.hu, ct.patient_from_index, tmp_path / "dicom")
    again = read_ct(folder)
    np.testing.assert_array_equal(again.hu, ct.hu)
    np.testing.assert_allclose(again.patient_from_index, ct.patient_from_index, atol=1e-6)
    projection_of = lambda image: CTVolume(image.hu, image.patient_from_index).attenuation()  # noqa: E731
    from simulator.fluoro.carm import CArmGeometry
    from simulator.fluoro.projection import Projection

    projection = Projection(CArmGeometry(pixels=128), ap(tuple(CTVolume(ct.hu, ct.patient_from_index).center_mm())))
    np.testing.assert_allclose(projection_of(again).line_integrals(projection, 59.0),
                               projection_of(ct).line_integrals(projection, 59.0), rtol=1e-6)


def test_real_dicom_series_without_labels(tmp_path, capsys):
    """The real DICOM slab (20 slices, 0.98 mm pixels, 2 mm apart, JPEG 2000): read in LPS; imported
    without labels (``rhizosim patient import``, pictures included), its bone is found by
    threshold, has no level and gets no nerves; an AP shot shows the vertebra where the CT's bone
    is (its silhouette matches the image's bone within 2 mm)."""
    from simulator.fluoro import Fluoroscope
    from simulator.patient_import.ct_patient import BONE_HU
    from simulator.scene import Scene

    folder = need_realdata("totalsegmentator_ct", "example_ct_dicom")
    ct = read_ct(folder)
    assert ct.hu.shape == (512, 512, 20) and ct.kvp == 120.0
    np.testing.assert_allclose(ct.spacing_mm, (0.9765625, 0.9765625, 2.0))
    np.testing.assert_allclose(ct.patient_from_index[:3, :3], np.diag([0.9765625, 0.9765625, 2.0]), atol=1e-9)
    # Imported as a user would, with the command (its pictures too).
    assert main(["patient", "import", str(folder), "--out", str(tmp_path / "patient"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert any("no labelled vertebra" in w for w in report["warnings"]) and report["targets"] == []
    assert [Path(p).name for p in report["pictures"]] == ["import_posterior_oblique.png", "import_lateral.png", "fluoro_ap_ct.png"]
    assert all(Path(p).stat().st_size > 10_000 for p in report["pictures"])
    scene = Scene.load(tmp_path / "patient")
    assert "bone_unlabelled" in scene.anatomy.structures and not scene.anatomy.layout
    # The vertebra: the largest piece of bone (HU >= 200) whose centre lies within 40 mm of the
    # body's midline (ribs lie farther out, the sternum is small).
    volume = scene.anatomy.ct
    to_patient = lambda ijk: np.asarray(ijk) @ volume.patient_from_index[:3, :3].T + volume.patient_from_index[:3, 3]  # noqa: E731
    bone = volume.hu >= BONE_HU
    labels, count = ndimage.label(bone)
    sizes = ndimage.sum_labels(bone, labels, np.arange(1, count + 1))
    centers = to_patient(ndimage.center_of_mass(bone, labels, np.arange(1, count + 1)))
    midline = to_patient(np.argwhere(volume.hu > -500).mean(axis=0))[0]
    central = np.abs(centers[:, 0] - midline) < 40.0
    centroid = centers[np.argmax(np.where(central, sizes, 0))]
    shot = Fluoroscope.from_scene(scene).shot(ap(tuple(centroid)), rng=0)
    members = np.argwhere(labels == 1 + int(np.argmax(np.where(central, sizes, 0))))
    row_mm, col_mm = _shift_to_image_mm(shot, to_patient(members))
    record("real DICOM AP shot: vertebra silhouette to the image's bone", "rows / columns", f"{row_mm:+.2f} / {col_mm:+.2f} mm",
           "within 2 mm", abs(row_mm) < 2 and abs(col_mm) < 2)
    assert abs(row_mm) < 2.0 and abs(col_mm) < 2.0


def test_a_scenario_on_the_ct_patient(ct_scene, tmp_path):
    """A scenario may point to the imported CT patient; one whose target's level is absent is
    refused, naming the target and why."""
    from simulator.errors import FileFormatError
    from simulator.scenario import load_scenario
    from simulator.session import scene_for

    with pytest.raises(FileFormatError, match="L4 and L5 absent") as caught:
        load_scenario(scenario_on(ct_scene, tmp_path / "l4", "ct_l4_medial_branch_right_rf"))
    assert caught.value.where == "procedure.targets[0]" and "medial_branch_L1_right" in str(caught.value)
    scenario = load_scenario(scenario_on(ct_scene, tmp_path / "l1", "ct_l1_medial_branch_right_rf", "medial_branch_L1_right"))
    assert scene_for(scenario).anatomy.ct is not None


def _why_no_gui() -> str | None:
    import importlib.util
    import os

    missing = [name for name in ("PyQt6", "pyvistaqt", "pytestqt") if importlib.util.find_spec(name) is None]
    if missing:
        return f"GUI test: {', '.join(missing)} not installed (pip install -e '.[gui,test]')"
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "GUI test: no display (DISPLAY is not set); run under xvfb-run, as make test does"
    return None


@pytest.mark.gui
@pytest.mark.skipif(_why_no_gui() is not None, reason=str(_why_no_gui()))
def test_the_gui_offers_the_levels_the_ct_patient_has(ct_scene, tmp_path, request):
    """A scenario on the CT patient opens in the window; the C-arm offers its levels (L1, L2: the
    label map's lumbar ones), L2 chosen, and the AP preset squares L2 and takes a shot of the CT."""
    from simulator.gui.model import ProcedureModel
    from simulator.gui.window import MainWindow
    from tests.gui.helpers import click

    qtbot = request.getfixturevalue("qtbot")
    scenario = scenario_on(ct_scene, tmp_path, "ct_l1_medial_branch_right_rf", "medial_branch_L1_right")
    (tmp_path / "sessions").mkdir()
    window = MainWindow(ProcedureModel(tmp_path / "sessions", seed=1))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.startup(str(scenario), offer_resume=False)
    panel = window.carm_panel
    assert [panel.level.itemText(i) for i in range(panel.level.count())] == ["L1", "L2"]
    assert panel.level.currentText() == "L2"
    click(qtbot, panel.preset_buttons["ap"])
    click(qtbot, panel.pedal)
    state = window.model.state
    np.testing.assert_allclose(state.carm["isocenter_mm"], ct_scene.landmark("body_center_L2"), atol=1e-6)
    assert len(state.shots) == 1
    window.close()
