"""Generated patients kept on disk, so a scenario's patient is generated once, not at every run.

The default patient ships in ``assets/meshes/default``. Any other set of parameters (an obese
patient, a scoliosis) is generated the first time it is asked for (10-20 s) and saved in the
cache folder, named after the generator version and the parameters, then loaded from there
(about half a second). The folder is ``$RHIZOSIM_CACHE/patients``, by default
``~/.cache/rhizosim/patients``. A folder is written under a temporary name and renamed when
complete, so two processes asking for the same patient at once, or one killed half-way, never
leave a half-written patient behind.

Examples
--------
>>> from simulator.anatomy.parameters import PatientParameters
>>> folder = patient_folder(PatientParameters(fat_thickness_mm=45))   # doctest: +SKIP
>>> folder.name                                                       # doctest: +SKIP
'v4-9c1f3a27e0b4'
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from simulator.anatomy.assets import MANIFEST_NAME, default_anatomy_folder, save_anatomy
from simulator.anatomy.generator import GENERATOR_VERSION, generate_patient
from simulator.anatomy.parameters import PatientParameters

__all__ = ["patient_folder", "is_prepared", "cache_folder", "CACHE_ENVIRONMENT_VARIABLE"]

#: Environment variable naming the cache's root folder.
CACHE_ENVIRONMENT_VARIABLE = "RHIZOSIM_CACHE"


def cache_folder() -> Path:
    """Where generated patients are kept: ``$RHIZOSIM_CACHE/patients`` or ``~/.cache/rhizosim/patients``."""
    root = os.environ.get(CACHE_ENVIRONMENT_VARIABLE)
    return (Path(root) if root else Path.home() / ".cache" / "rhizosim") / "patients"


def _key(parameters: PatientParameters) -> str:
    text = json.dumps(parameters.to_dict(), sort_keys=True)
    return f"v{GENERATOR_VERSION}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def is_prepared(parameters: PatientParameters) -> bool:
    """Whether :func:`patient_folder` can return at once (the default patient, or one generated
    before) rather than generating the patient (10-20 s)."""
    return parameters == PatientParameters() or (cache_folder() / _key(parameters) / MANIFEST_NAME).exists()


def patient_folder(parameters: PatientParameters, *, workers: int | None = None) -> Path:
    """The anatomy folder of the patient with these parameters, generating it if needed.

    The default parameters give the shipped default patient.
    """
    if parameters == PatientParameters():
        return default_anatomy_folder()
    folder = cache_folder() / _key(parameters)
    if is_prepared(parameters):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        save_anatomy(generate_patient(parameters, workers=workers), staging)
        try:
            staging.rename(folder)
        except OSError:
            if not (folder / MANIFEST_NAME).exists():  # not another process's complete copy
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder
