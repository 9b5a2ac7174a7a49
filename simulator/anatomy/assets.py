"""Saving and loading an anatomy as a folder of files.

Layout of a folder (the default patient ships in ``assets/meshes/default``)::

    manifest.json   structures (id, kind, level, side, tissue, role, files), landmarks,
                    patient parameters, generator version, SHA-256 of every file
    meshes/<id>.ply one closed triangle mesh per structure, binary PLY, mm, LPS
    fields.npz      signed-distance grids (int16 hundredths of a mm, delta-coded along z)
                    and tube centrelines
    ct.npz          (imported CT patients only) the CT in Hounsfield units, int16, and its
                    4x4 patient-from-index affine

Format version 1 is a generated patient. Version 2 adds what an imported patient has: the
spine fitted to its bones (``layout``: poses, measured shapes, neck grooves), the import's
report (``source``) and, for a CT patient, ``ct`` (the file holding the volume). A generated
patient is still written as version 1, and both versions load.

Every problem found on loading — a missing or corrupt file, a manifest that does not validate
— raises :class:`~simulator.errors.AssetError` naming the file and what is wrong.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Annotated, Literal, Union

import numpy as np
import pydantic

from simulator.anatomy.generator import Anatomy
from simulator.anatomy.parameters import PatientParameters
from simulator.errors import AssetError, ParameterError
from simulator.fields import QUANTUM_MM, GridField, LayerField, ShellField, TubeField
from simulator.mesh import read_ply, write_ply
from simulator.structure import KINDS, ROLES, Structure

__all__ = ["save_anatomy", "load_anatomy", "default_anatomy_folder", "MANIFEST_NAME", "CT_NAME"]

MANIFEST_NAME = "manifest.json"
FORMAT_NAME = "rhizosim-anatomy"
FORMAT_VERSION = 2
#: The CT volume of an imported CT patient.
CT_NAME = "ct.npz"
REBUILD_HINT = "regenerate it with `rhizosim anatomy build`"


def default_anatomy_folder() -> Path:
    """``assets/meshes/default`` of the source tree the package runs from."""
    return Path(__file__).resolve().parents[2] / "assets" / "meshes" / "default"


class _GridEntry(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    type: Literal["grid"]
    origin_mm: tuple[float, float, float]
    spacing_mm: float = pydantic.Field(gt=0)
    # Interpolation needs two nodes along every axis.
    shape: tuple[Annotated[int, pydantic.Field(ge=2)], Annotated[int, pydantic.Field(ge=2)], Annotated[int, pydantic.Field(ge=2)]]


class _TubeEntry(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    type: Literal["tube"]
    points: int = pydantic.Field(ge=2)


class _ShellEntry(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    type: Literal["shell"]
    base: str
    inner_mm: float
    outer_mm: float


class _LayerEntry(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    type: Literal["layer"]
    outer: str
    outer_level_mm: float
    inner: _GridEntry


class _StructureEntry(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    id: str = pydantic.Field(pattern=r"^[A-Za-z0-9_]+$")
    kind: str
    level: str | None
    side: Literal["left", "right"] | None
    tissue: str
    role: str
    priority: int
    shell_tissue: str | None
    shell_thickness_mm: float = pydantic.Field(ge=0)
    mesh: str
    field: Union[_GridEntry, _TubeEntry, _ShellEntry, _LayerEntry] = pydantic.Field(discriminator="type")

    @pydantic.field_validator("kind", "role")
    @classmethod
    def _known_value(cls, value: str, info: pydantic.ValidationInfo) -> str:
        allowed = {"kind": KINDS, "role": ROLES}[info.field_name]
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value


class _Manifest(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    format: Literal["rhizosim-anatomy"]
    format_version: Literal[1, 2]
    generator_version: str
    units: Literal["mm"]
    frame: str
    parameters: dict[str, float]
    structures: list[_StructureEntry]
    landmarks_mm: dict[str, tuple[float, float, float]]
    sha256: dict[str, str]
    # Version 2 (imported patients): the fitted spine, the import report, the CT's file.
    layout: dict | None = None
    source: dict | None = None
    ct: str | None = None


def _encode(values: np.ndarray) -> np.ndarray:
    """Grid values as int16 hundredths of a mm, delta-coded along z (compresses well)."""
    quanta = np.round(values / QUANTUM_MM).astype(np.int32)
    return np.diff(quanta, axis=2, prepend=0).astype(np.int16)


def _decode(deltas: np.ndarray) -> np.ndarray:
    # Summing whole z-planes at a time (axis 0 after moving z first) is about 4x faster than a
    # cumulative sum along the short, contiguous z rows.
    quanta = np.moveaxis(deltas, 2, 0).astype(np.int32)
    np.cumsum(quanta, axis=0, out=quanta)
    return np.ascontiguousarray(np.moveaxis(quanta, 0, 2)).astype(np.float32) * np.float32(QUANTUM_MM)


def _grid_entry(f: GridField) -> dict:
    return {"type": "grid", "origin_mm": list(f.origin_mm), "spacing_mm": f.spacing_mm, "shape": list(f.values.shape)}


def _origin(anatomy: Anatomy) -> str:
    """Where the patient frame's origin is, in words (the reference bone of an imported patient)."""
    if not anatomy.source:
        return "L3 body centre"
    reference = anatomy.source.get("alignment", {}).get("reference_bone")
    return f"{reference} body centre" if reference else "centre of the CT volume"


def _plain(value):
    """JSON-ready copy of a report (NumPy numbers and arrays as Python ones)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def save_anatomy(anatomy: Anatomy, folder: str | Path) -> Path:
    """Write ``anatomy`` to ``folder`` (created; existing files of a previous anatomy replaced)."""
    folder = Path(folder)
    (folder / "meshes").mkdir(parents=True, exist_ok=True)
    for old in (folder / "meshes").glob("*.ply"):
        old.unlink()
    arrays: dict[str, np.ndarray] = {}
    entries = []
    for s in anatomy.structures.values():
        mesh_name = f"meshes/{s.id}.ply"
        write_ply(s.mesh, folder / mesh_name, comment=f"{s.id}; mm, LPS patient frame, prone")
        f = s.field
        if isinstance(f, GridField):
            arrays[f"{s.id}/values"] = _encode(f.values)
            field_entry = _grid_entry(f)
        elif isinstance(f, TubeField):
            arrays[f"{s.id}/points"] = f.points_mm
            arrays[f"{s.id}/radii"] = f.radii_mm
            field_entry = {"type": "tube", "points": len(f.points_mm)}
        elif isinstance(f, ShellField):
            base = next(t.id for t in anatomy.structures.values() if t.field is f.base)
            field_entry = {"type": "shell", "base": base, "inner_mm": f.inner_mm, "outer_mm": f.outer_mm}
        elif isinstance(f, LayerField):
            outer = next(t.id for t in anatomy.structures.values() if t.field is f.outer)
            arrays[f"{s.id}/inner"] = _encode(f.inner.values)
            field_entry = {"type": "layer", "outer": outer, "outer_level_mm": f.outer_level_mm, "inner": _grid_entry(f.inner)}
        else:  # pragma: no cover - the generator makes only these
            raise TypeError(f"cannot save field of type {type(f).__name__}")
        entries.append({"id": s.id, "kind": s.kind, "level": s.level, "side": s.side, "tissue": s.tissue,
                        "role": s.role, "priority": s.priority, "shell_tissue": s.shell_tissue,
                        "shell_thickness_mm": s.shell_thickness_mm, "mesh": mesh_name, "field": field_entry})
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    (folder / "fields.npz").write_bytes(buffer.getvalue())
    files = ["fields.npz"] + [entry["mesh"] for entry in entries]
    imported = anatomy.layout is not None or anatomy.ct is not None or bool(anatomy.source)
    (folder / CT_NAME).unlink(missing_ok=True)
    if anatomy.ct is not None:
        anatomy.ct.save(folder / CT_NAME)
        files.append(CT_NAME)
    manifest = {
        "format": FORMAT_NAME, "format_version": FORMAT_VERSION if imported else 1, "generator_version": anatomy.generator_version,
        "units": "mm", "frame": "LPS (x patient left, y posterior, z superior), patient prone, origin at the " + _origin(anatomy),
        "parameters": anatomy.parameters.to_dict(), "structures": entries,
        "landmarks_mm": {k: [round(float(c), 4) for c in v] for k, v in anatomy.landmarks_mm.items()},
        "sha256": {name: _sha256((folder / name).read_bytes()) for name in files},
    }
    if imported:
        manifest.update(layout=anatomy.layout.to_dict() if anatomy.layout is not None else None,
                        source=_plain(anatomy.source), ct=CT_NAME if anatomy.ct is not None else None)
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1) + "\n")
    return folder


def _read_manifest(folder: Path) -> _Manifest:
    path = folder / MANIFEST_NAME
    if not folder.is_dir():
        raise AssetError(folder, "anatomy folder does not exist", REBUILD_HINT)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise AssetError(path, "manifest is missing", REBUILD_HINT) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise AssetError(path, f"manifest is not valid JSON ({error})", REBUILD_HINT) from None
    try:
        return _Manifest.model_validate(raw)
    except pydantic.ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise AssetError(path, f"field '{where}': {first['msg']} ({len(error.errors())} problem(s))", REBUILD_HINT) from None


def _verified_bytes(folder: Path, name: str, manifest: _Manifest) -> bytes:
    path = folder / name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise AssetError(path, "file listed in the manifest is missing", REBUILD_HINT) from None
    expected = manifest.sha256.get(name)
    if expected is None:
        raise AssetError(folder / MANIFEST_NAME, f"no checksum for '{name}'", REBUILD_HINT)
    if _sha256(data) != expected:
        raise AssetError(path, "checksum does not match the manifest (file corrupt or edited)", REBUILD_HINT)
    return data


def load_anatomy(folder: str | Path | None = None) -> Anatomy:
    """Load an anatomy folder (the default patient when ``folder`` is omitted).

    Raises
    ------
    AssetError
        If a file is missing, corrupt, or the manifest is invalid.
    """
    folder = Path(folder) if folder is not None else default_anatomy_folder()
    manifest = _read_manifest(folder)
    try:
        parameters = PatientParameters.from_dict(manifest.parameters, source=str(folder / MANIFEST_NAME))
    except ParameterError as error:
        raise AssetError(folder / MANIFEST_NAME, str(error)) from None
    fields_bytes = _verified_bytes(folder, "fields.npz", manifest)
    try:
        arrays = dict(np.load(io.BytesIO(fields_bytes)))
    except Exception as error:  # numpy raises several types for damaged archives
        raise AssetError(folder / "fields.npz", f"cannot read field archive ({error})", REBUILD_HINT) from None

    structures: dict[str, Structure] = {}
    shells = []
    for entry in manifest.structures:
        mesh_bytes_path = folder / entry.mesh
        _verified_bytes(folder, entry.mesh, manifest)
        mesh = read_ply(mesh_bytes_path)
        f = entry.field
        try:
            if isinstance(f, _GridEntry):
                values = _decode(arrays[f"{entry.id}/values"])
                if values.shape != tuple(f.shape):
                    raise AssetError(folder / "fields.npz", f"grid of '{entry.id}' has shape {values.shape}, manifest says {f.shape}")
                field = GridField(values, tuple(f.origin_mm), f.spacing_mm)
            elif isinstance(f, _TubeEntry):
                field = TubeField(arrays[f"{entry.id}/points"], arrays[f"{entry.id}/radii"])
            else:
                shells.append(entry)
                continue
        except KeyError as missing:
            raise AssetError(folder / "fields.npz", f"no array {missing} for structure '{entry.id}'", REBUILD_HINT) from None
        structures[entry.id] = _from_entry(entry, field, mesh)
    for entry in shells:
        f = entry.field
        name = f.base if isinstance(f, _ShellEntry) else f.outer
        base = structures.get(name)
        if base is None or not isinstance(base.field, GridField):
            raise AssetError(folder / MANIFEST_NAME, f"'{entry.id}' is a layer of '{name}', which is not a grid structure")
        if isinstance(f, _ShellEntry):
            field = ShellField(base.field, f.inner_mm, f.outer_mm)
        else:
            try:
                inner = _decode(arrays[f"{entry.id}/inner"])
            except KeyError:
                raise AssetError(folder / "fields.npz", f"no inner grid for structure '{entry.id}'", REBUILD_HINT) from None
            field = LayerField(base.field, f.outer_level_mm, GridField(inner, tuple(f.inner.origin_mm), f.inner.spacing_mm))
        structures[entry.id] = _from_entry(entry, field, read_ply(folder / entry.mesh))
    order = [entry.id for entry in manifest.structures]
    landmarks = {k: np.array(v) for k, v in manifest.landmarks_mm.items()}
    structures = {k: structures[k] for k in order}
    layout = ct = None
    if manifest.layout is not None:
        from simulator.patient_import.fitted_spine import FittedSpine

        try:
            layout = FittedSpine.from_dict(manifest.layout, parameters,
                                           {s.id: s.field for s in structures.values() if s.role == "bone"})
        except (KeyError, TypeError, ValueError) as error:
            raise AssetError(folder / MANIFEST_NAME, f"field 'layout': {type(error).__name__}: {error}") from None
    if manifest.ct is not None:
        from simulator.patient_import.ct import CTVolume

        ct = CTVolume.load(folder / manifest.ct, _verified_bytes(folder, manifest.ct, manifest))
    return Anatomy(parameters, structures, landmarks, manifest.generator_version, layout=layout, ct=ct,
                   source=manifest.source or {})


def _from_entry(entry: _StructureEntry, field, mesh) -> Structure:
    return Structure(id=entry.id, kind=entry.kind, tissue=entry.tissue, role=entry.role, field=field, mesh=mesh,
                     level=entry.level, side=entry.side, shell_tissue=entry.shell_tissue,
                     shell_thickness_mm=entry.shell_thickness_mm, priority=entry.priority)
