"""Golden images of a phantom, named by pose: a change in the image chain or the projectors shows here.

The phantom is independent of the generated patient (which changes with the anatomy work): a
soft-tissue box with a bone sphere (cortical shell, cancellous core) and a 22 G needle. Images
are noiseless, 96², 8-bit. On a mismatch the test writes ``<name>_actual.png`` and
``<name>_diff.png`` (differences × 8) next to the pytest temporary folder and names them.
Regenerate after an intended change with ``RHIZOSIM_UPDATE_GOLDEN=1 make test``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import trimesh

from simulator.devices import device
from simulator.fluoro import CArmGeometry, CArmPose, Display, Fluoroscope, MeshAnatomy, ap, lateral, oblique
from simulator.fluoro.materials import Channel
from simulator.fluoro.reference import box_mesh
from simulator.mesh import TriangleMesh
from simulator.needle import Needle

GOLDEN = Path(__file__).with_name("golden")
POSES = {
    "ap": ap(),
    "oblique_right_25_caudal_30": oblique("right", 25.0, tilt_cranial_deg=-30.0),
    "lateral_left": lateral("left"),
    "tilt_cranial_20": CArmPose(tilt_cranial_deg=20.0),
}


def _sphere(radius: float) -> TriangleMesh:
    ico = trimesh.creation.icosphere(subdivisions=4, radius=radius)
    return TriangleMesh(np.asarray(ico.vertices, np.float32), np.asarray(ico.faces, np.int32))


@pytest.fixture(scope="module")
def phantom():
    anatomy = MeshAnatomy.from_surfaces([
        ("body", Channel("body", "soft_tissue", "air"), box_mesh((-80.0, -60.0, -80.0), (80.0, 60.0, 80.0))),
        ("bone", Channel("cortical_bone", "cortical_bone", "soft_tissue"), _sphere(20.0)),
        ("bone inside", Channel("cancellous_bone", "cancellous_bone", "cortical_bone"), _sphere(18.0)),
    ])
    entry = np.array([-30.0, 60.0, -40.0])
    direction = np.array([0.5, -0.8, 0.6]) / np.linalg.norm([0.5, -0.8, 0.6])
    needle = Needle("needle 1", device("spinal_22g_89mm"), entry, direction, depth_mm=45.0)
    geometry = CArmGeometry(pixels=96)
    return Fluoroscope(anatomy, geometry), needle


@pytest.mark.parametrize("name", list(POSES))
def test_phantom_matches_its_golden_image(phantom, name, tmp_path):
    from PIL import Image

    fluoroscope, needle = phantom
    shot = fluoroscope.shot(POSES[name], needles=[needle], display=Display(noise=False))
    actual = shot.to_uint8()
    path = GOLDEN / f"phantom_{name}.png"
    if os.environ.get("RHIZOSIM_UPDATE_GOLDEN") == "1" or not path.exists():
        if os.environ.get("RHIZOSIM_UPDATE_GOLDEN") != "1":
            pytest.fail(f"no golden image {path}; run with RHIZOSIM_UPDATE_GOLDEN=1 to create it")
        Image.fromarray(actual).save(path)
    expected = np.asarray(Image.open(path))
    difference = np.abs(actual.astype(int) - expected.astype(int))
    if difference.max() > 2:
        Image.fromarray(actual).save(tmp_path / f"phantom_{name}_actual.png")
        Image.fromarray(np.clip(difference * 8, 0, 255).astype(np.uint8)).save(tmp_path / f"phantom_{name}_diff.png")
        pytest.fail(f"phantom {name}: {int((difference > 2).sum())} pixels differ by up to {difference.max()} grey levels; "
                    f"see {tmp_path / f'phantom_{name}_actual.png'} and _diff.png")
