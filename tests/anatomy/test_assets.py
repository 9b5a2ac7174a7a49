"""Loading an anatomy folder: every damaged or missing file gives an AssetError naming it."""

from __future__ import annotations

import shutil

import pytest

from simulator.anatomy.assets import default_anatomy_folder, load_anatomy
from simulator.errors import AssetError
from tests.helpers import CORRUPTIONS, damaged_copy


def test_an_undamaged_copy_loads(tmp_path):
    """Control for the damage tests: the copied folder itself is valid."""
    folder = tmp_path / "anatomy"
    shutil.copytree(default_anatomy_folder(), folder)
    anatomy = load_anatomy(folder)
    assert "medial_branch_L4_left" in anatomy.structures


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_damaged_folder_raises_asset_error_naming_the_file(tmp_path, corruption):
    folder, name = damaged_copy(tmp_path, corruption)
    with pytest.raises(AssetError) as caught:
        load_anatomy(folder)
    message = str(caught.value)
    assert name in message, f"{corruption}: the error does not name {name}: {message}"
    assert caught.value.path.name == name, f"{corruption}: error path {caught.value.path}, expected {name}"
    assert "\n" not in message and "Traceback" not in message


def test_missing_folder_raises_asset_error(tmp_path):
    with pytest.raises(AssetError, match="does not exist"):
        load_anatomy(tmp_path / "nowhere")
