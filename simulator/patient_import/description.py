"""The description file of an imported patient: ``patient.toml`` beside its mesh files.

It names each file's structure and the units, and says how to align the bones::

    description = "Visible Human male, L1 to the sacrum"
    units = "auto"                  # "auto" (told by the bones' size), "mm", "cm" or "m"
    fat_thickness_mm = 15           # of the generated subcutaneous fat (default 15)

    [[structure]]
    file = "L1.obj"
    kind = "vertebra"               # vertebra, sacrum, disc, dural_sac, muscle, artery, vein
    level = "L1"                    # T1-T12, L1-L5 (a disc: its upper level); sacrum: none or "S1"

    [[structure]]
    file = "S1.obj"
    kind = "sacrum"
    units = "m"                     # this file's own units (overrides the top-level one)

    [alignment]
    method = "auto"                 # from the bones' order and shape, or "landmarks"
    # [alignment.landmarks]         # with method = "landmarks": points in the files' frame and units
    # body_center_L1 = [x, y, z]    # at least two body centres and one spinous tip

:func:`load_description` validates it all and raises :class:`~simulator.errors.FileFormatError`
naming the file, the field and what is allowed. A folder without the file is described from its
mesh files' names (:func:`describe_from_file_names`): ``L1.obj``, ``vertebrae_L1.stl`` (as
TotalSegmentator names its meshes), ``sacrum.ply`` or ``S1.obj``, ``disc_L4_L5.stl``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from simulator.errors import AssetError, FileFormatError
from simulator.patient_import.alignment import LANDMARK_PATTERN

__all__ = ["DESCRIPTION_NAME", "StructureEntry", "Alignment", "PatientDescription", "load_description",
           "describe_from_file_names", "structure_from_file_name", "IMPORTED_KINDS", "UNIT_CHOICES"]

#: The description file's name inside a patient folder.
DESCRIPTION_NAME = "patient.toml"
#: Kinds a mesh file may hold; bones are required, the others replace what would be generated.
IMPORTED_KINDS = ("vertebra", "sacrum", "disc", "dural_sac", "muscle", "artery", "vein")
UNIT_CHOICES = ("auto", "mm", "cm", "m")
_VERTEBRA = r"T([1-9]|1[0-2])|L[1-5]"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StructureEntry(_Model):
    """One mesh file and the structure it holds."""

    file: Annotated[str, Field(min_length=1, max_length=500)]
    kind: Literal["vertebra", "sacrum", "disc", "dural_sac", "muscle", "artery", "vein"]
    level: str | None = None
    side: Literal["left", "right"] | None = None
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]{1,64}$")] | None = None
    units: Literal["auto", "mm", "cm", "m"] | None = None

    @model_validator(mode="after")
    def _level_fits_kind(self) -> "StructureEntry":
        if self.kind in ("vertebra", "disc") and not (self.level and re.fullmatch(_VERTEBRA, self.level)):
            raise ValueError(f"a {self.kind} needs a level, T1-T12 or L1-L5 (got {self.level!r})")
        if self.kind == "sacrum" and self.level not in (None, "S1"):
            raise ValueError(f"the sacrum's level is S1 or omitted (got {self.level!r})")
        if self.kind in ("muscle", "artery", "vein") and self.id is None:
            raise ValueError(f"a {self.kind} needs an id (e.g. psoas_left, aorta, inferior_vena_cava)")
        return self

    @property
    def structure_id(self) -> str:
        """The id of the structure in the patient (``L4``, ``sacrum``, ``disc_L4_L5``, ...)."""
        if self.id is not None:
            return self.id
        if self.kind == "vertebra":
            return str(self.level)
        if self.kind == "disc":
            from simulator.patient_import.alignment import SPINE_ORDER

            below = SPINE_ORDER[SPINE_ORDER.index(str(self.level)) + 1]
            return f"disc_{self.level}_{'S1' if below == 'sacrum' else below}"
        return self.kind  # sacrum, dural_sac

    @property
    def bone(self) -> str | None:
        """The bone id for bones (``"L4"``, ``"sacrum"``), ``None`` otherwise."""
        return {"vertebra": self.level, "sacrum": "sacrum"}.get(self.kind)


class Alignment(_Model):
    """How the files' frame is turned into the patient's."""

    method: Literal["auto", "landmarks"] = "auto"
    landmarks: dict[str, Annotated[list[float], Field(min_length=3, max_length=3)]] = {}

    @field_validator("landmarks")
    @classmethod
    def _known_names(cls, value: dict[str, list[float]]) -> dict[str, list[float]]:
        for name in value:
            if not re.fullmatch(LANDMARK_PATTERN, name):
                raise ValueError(f"unknown landmark {name!r}; allowed: body_center_<level>, spinous_tip_<level>, "
                                 "pedicle_<level>_<left|right>")
        return value

    @model_validator(mode="after")
    def _landmarks_for_method(self) -> "Alignment":
        if self.method == "landmarks" and not self.landmarks:
            raise ValueError("method = \"landmarks\" needs an [alignment.landmarks] table")
        return self


class PatientDescription(_Model):
    """The whole description file."""

    description: Annotated[str, Field(max_length=500)] = ""
    units: Literal["auto", "mm", "cm", "m"] = "auto"
    fat_thickness_mm: Annotated[float, Field(ge=5.0, le=80.0)] = 15.0
    structure: Annotated[list[StructureEntry], Field(min_length=1, max_length=200)]
    alignment: Alignment = Alignment()

    @model_validator(mode="after")
    def _unique(self) -> "PatientDescription":
        ids = [entry.structure_id for entry in self.structure]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"structure {twice[0]!r} is given twice")
        if not any(entry.bone for entry in self.structure):
            raise ValueError("no bone: at least one structure must be a vertebra or the sacrum")
        return self

    def units_of(self, entry: StructureEntry) -> str:
        """The units of an entry's file: its own, else the file's default."""
        return entry.units or self.units


def load_description(path: str | Path) -> PatientDescription:
    """Read and validate a description file (``patient.toml``), or the one in a folder.

    Raises
    ------
    FileFormatError
        Naming the file, the field and what is allowed.
    """
    from simulator.scenario import first_validation_error, parse_toml, read_text

    path = Path(path)
    if path.is_dir():
        path = path / DESCRIPTION_NAME
    values = parse_toml(read_text(path, "patient description"), path, "patient description")
    try:
        description = PatientDescription.model_validate(values)
    except pydantic.ValidationError as error:
        where, problem = first_validation_error(error)
        allowed = {"units": ", ".join(UNIT_CHOICES)}.get(where.split("].")[-1].split(".")[-1])
        raise FileFormatError(path, problem, where, allowed) from None
    return description


#: A level in a file name: T1-T12, L1-L5 or S1, not inside a longer word or number.
_LEVEL_IN_NAME = re.compile(r"(?<![a-z0-9])(t1[0-2]|t[1-9]|l[1-5]|s1)(?![0-9])")


def structure_from_file_name(name: str) -> StructureEntry | None:
    """The structure a mesh file's name tells, or ``None`` when it tells none.

    One level names a vertebra (``S1`` the sacrum), ``sacrum`` the sacrum, two adjacent levels or
    a level with ``disc`` the disc below the upper level. Case and separators do not matter.

    Examples
    --------
    >>> structure_from_file_name("vertebrae_L1.stl").structure_id
    'L1'
    >>> structure_from_file_name("L4-L5.obj").structure_id
    'disc_L4_L5'
    >>> structure_from_file_name("S1_Schrumpfverpacken.obj").kind
    'sacrum'
    >>> structure_from_file_name("liver.stl") is None
    True
    """
    from simulator.patient_import.alignment import SPINE_ORDER

    stem = Path(name).name.lower().split(".")[0]
    levels = [level.upper() for level in _LEVEL_IN_NAME.findall(stem)]
    bones = ["sacrum" if level == "S1" else level for level in levels]
    is_disc = "disc" in stem or "disk" in stem or len(set(bones)) == 2
    if is_disc:
        order = sorted(set(bones), key=SPINE_ORDER.index)
        adjacent = len(order) == 2 and SPINE_ORDER.index(order[1]) == SPINE_ORDER.index(order[0]) + 1
        if (len(order) == 1 and order[0] != "sacrum") or adjacent:
            return StructureEntry(file=name, kind="disc", level=order[0])
        return None
    if "sacrum" in stem or bones == ["sacrum"]:
        return StructureEntry(file=name, kind="sacrum") if set(bones) <= {"sacrum"} else None
    if len(set(bones)) == 1:
        return StructureEntry(file=name, kind="vertebra", level=bones[0])
    return None


def describe_from_file_names(folder: str | Path) -> PatientDescription:
    """Describe a folder of meshes that has no ``patient.toml``: each file's structure from its name.

    Units are found from each bone's size and the alignment is automatic.

    Raises
    ------
    AssetError
        Naming the folder when it holds no mesh file, the files whose names tell no structure,
        or two files of one structure.
    """
    from simulator.patient_import.mesh_files import MESH_SUFFIXES
    from simulator.scenario import first_validation_error

    folder = Path(folder)
    files = sorted(p.name for p in folder.iterdir() if p.is_file() and p.suffix.lower() in MESH_SUFFIXES)
    if not files:
        raise AssetError(folder, f"no {DESCRIPTION_NAME} and no mesh file ({', '.join(MESH_SUFFIXES)}) in this folder")
    entries = {name: structure_from_file_name(name) for name in files}
    unknown = [name for name, entry in entries.items() if entry is None]
    if unknown:
        shown = ", ".join(repr(n) for n in unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        raise AssetError(folder, f"no {DESCRIPTION_NAME}, and the file name does not tell the structure of {shown}",
                         "name files like L1.obj, vertebrae_L1.stl, sacrum.obj, disc_L4_L5.stl, or write a "
                         f"{DESCRIPTION_NAME} (docs/import.md)")
    try:
        return PatientDescription(description=f"told from the file names in {folder.name}", structure=list(entries.values()))
    except pydantic.ValidationError as error:
        _, problem = first_validation_error(error)
        raise AssetError(folder, f"no {DESCRIPTION_NAME}, and the file names do not describe one patient: {problem}",
                         f"write a {DESCRIPTION_NAME} (docs/import.md)") from None
