"""Real patients: import meshes and CT scans into the simulator's patient frame.

- :func:`import_meshes`: a folder of mesh files (STL, OBJ, PLY, VTP/VTK, GLB) and its
  ``patient.toml`` (:mod:`.description`);
- :func:`import_ct`: a CT volume (NIfTI or a DICOM series) with an optional label map
  (:mod:`.ct`).

Both return an :class:`ImportedPatient` whose anatomy saves with
:func:`simulator.anatomy.assets.save_anatomy` and loads everywhere a generated patient does.
"""

from simulator.patient_import.build import ImportedPatient, import_meshes

__all__ = ["ImportedPatient", "import_meshes"]
