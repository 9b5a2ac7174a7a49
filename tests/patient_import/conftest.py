"""Imported patients, made once per test session (an import takes 20-70 s).

The real data live in ``shared/realdata`` beside the project (``$RHIZOSIM_REALDATA`` overrides);
tests that need them skip with the reason when they are absent (a fresh clone has none).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest


def realdata_folder() -> Path | None:
    """``$RHIZOSIM_REALDATA``, or the first ``shared/realdata`` found walking up from the tests."""
    given = os.environ.get("RHIZOSIM_REALDATA")
    if given:
        return Path(given) if Path(given).is_dir() else None
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "realdata"
        if candidate.is_dir():
            return candidate
    return None


def need_realdata(*parts: str) -> Path:
    folder = realdata_folder()
    path = folder.joinpath(*parts) if folder else None
    if path is None or not path.exists():
        pytest.skip(f"real data {'/'.join(parts)} not found (shared/realdata beside the project, or $RHIZOSIM_REALDATA)")
    return path


VHP_LEVELS = ("L1", "L2", "L3", "L4", "L5")


def write_description(folder: Path, files: dict[str, str], extra: str = "", units: str | None = None) -> Path:
    """A patient.toml naming ``files`` (bone id -> file name)."""
    lines = [extra] if extra else []
    if units:
        lines.insert(0, f'units = "{units}"')
    for bone, name in files.items():
        kind = "sacrum" if bone == "sacrum" else "vertebra"
        lines += ["[[structure]]", f'file = "{name}"', f'kind = "{kind}"'] + ([f'level = "{bone}"'] if kind == "vertebra" else [])
    path = folder / "patient.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="session")
def vhp_folder(tmp_path_factory):
    """The six Visible Human meshes (metres, OBJ) linked into a temporary folder as they come: no
    description file, so each file's structure is told from its name (L1.obj ... S1.obj)."""
    source = need_realdata("vhp_lumbar")
    folder = tmp_path_factory.mktemp("vhp")
    for level in (*VHP_LEVELS, "S1"):
        (folder / f"{level}.obj").symlink_to(source / f"{level}.obj")
    return folder


@pytest.fixture(scope="session")
def vhp_patient(vhp_folder):
    from simulator.patient_import import import_meshes

    return import_meshes(vhp_folder)


@pytest.fixture(scope="session")
def vhp_scene(vhp_patient, tmp_path_factory):
    """The imported VHP patient saved and loaded back, as every command loads it."""
    return _saved_and_loaded(vhp_patient, tmp_path_factory.mktemp("vhp_patient"))


@pytest.fixture(scope="session")
def ct_paths():
    return (need_realdata("totalsegmentator_ct", "example_ct.nii.gz"), need_realdata("totalsegmentator_ct", "example_seg.nii.gz"))


@pytest.fixture(scope="session")
def ct_patient(ct_paths):
    from simulator.patient_import.ct_patient import import_ct

    return import_ct(ct_paths[0], labels=ct_paths[1])


@pytest.fixture(scope="session")
def ct_scene(ct_patient, tmp_path_factory):
    return _saved_and_loaded(ct_patient, tmp_path_factory.mktemp("ct_patient"))


def _saved_and_loaded(imported, folder: Path):
    """The imported patient saved into ``folder`` and loaded back (``scene.folder`` says where)."""
    from simulator.anatomy.assets import save_anatomy
    from simulator.scene import Scene

    scene = Scene.load(save_anatomy(imported.anatomy, folder))
    scene.folder = folder  # a scenario test copies it
    return scene


def scenario_on(scene, folder: Path, scenario_id: str, target: str | None = None) -> Path:
    """The library's right L4 RF scenario moved onto an imported patient: its folder copied next
    to the file as ``patient``, a new id and, given ``target`` (e.g. ``medial_branch_L1_right``),
    that target with the C-arm centred on its level."""
    import shutil

    from simulator.scenario import library_folder

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(scene.folder, folder / "patient")
    text = (library_folder() / "l4_medial_branch_right_rf.toml").read_text()
    text = text.replace("schema_version = 1", 'schema_version = 1\n\n[patient]\nfolder = "patient"', 1)
    text = text.replace('id = "l4_medial_branch_right_rf"', f'id = "{scenario_id}"')
    if target is not None:
        level = target.split("_")[2]
        text = text.replace('targets = ["medial_branch_L4_right"]', f'targets = ["{target}"]').replace(
            'isocenter_landmark = "body_center_L4"', f'isocenter_landmark = "body_center_{level}"')
    path = folder / f"{scenario_id}.toml"
    path.write_text(text)
    return path


def random_rotation(seed: int) -> np.ndarray:
    q = np.random.default_rng(seed).normal(size=4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
