"""Simulated fluoroscopy (issue 4): C-arm geometry, image formation and dose.

The pieces, one module each:

- :mod:`~simulator.fluoro.carm`: the pose in clinical angles (``CArmPose``, presets ``ap``,
  ``oblique``, ``lateral``), the geometry (``CArmGeometry``) and the table collision check;
- :mod:`~simulator.fluoro.projection`: points to pixels and pixels to rays;
- :mod:`~simulator.fluoro.squaring`: the pose that squares a level's superior endplate;
- :mod:`~simulator.fluoro.materials`, :mod:`~simulator.fluoro.raster`: the scene's surfaces
  as attenuation channels and their path lengths (mesh L-buffer);
- :mod:`~simulator.fluoro.cylinders`: exact needle chords; :mod:`~simulator.fluoro.volume`:
  attenuation volumes (CT) by ray-marching; :mod:`~simulator.fluoro.reference`: slow exact
  references for tests;
- :mod:`~simulator.fluoro.image`: the detector and display chain;
- :mod:`~simulator.fluoro.dose`: technique, exposures and the dose record;
- :mod:`~simulator.fluoro.fluoroscope`: shots, with the anatomy cached per pose.

Conventions are in ``docs/fluoroscopy.md`` and :mod:`simulator.fluoro.carm`.
"""

import os

# The compiled kernels run on numba's OpenMP threads. libgomp's default busy-waiting between
# parallel regions stalled every kernel launch by about 8 ms on the 2-core VM (a 0.07 ms map
# took 8 ms; docs/benchmarks.md), so threads wait passively unless the user chose otherwise.
# It must be set before the OpenMP runtime starts, i.e. before the first kernel runs.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from simulator.fluoro.carm import CArmGeometry, CArmPose, Table, ap, check_reachable, lateral, oblique, pose_from_beam
from simulator.fluoro.dose import DoseRecord, Exposure, ExposureDose, Technique, exposure_dose, record_exposure
from simulator.fluoro.fluoroscope import Fluoroscope, Shot
from simulator.fluoro.image import DetectorModel, Display
from simulator.fluoro.materials import MeshAnatomy
from simulator.fluoro.projection import Projection, pixel_rays, project_points
from simulator.fluoro.squaring import squared_endplate_pose, superior_endplate_normal
from simulator.fluoro.volume import AttenuationVolume

__all__ = [
    "CArmGeometry", "CArmPose", "Table", "ap", "oblique", "lateral", "pose_from_beam", "check_reachable",
    "Projection", "project_points", "pixel_rays",
    "squared_endplate_pose", "superior_endplate_normal",
    "MeshAnatomy", "AttenuationVolume",
    "Fluoroscope", "Shot", "Display", "DetectorModel",
    "Technique", "Exposure", "ExposureDose", "DoseRecord", "exposure_dose", "record_exposure",
]
