"""Scenario files: a case an instructor authors and a trainee loads (``scenarios/*.toml``).

A scenario names the patient (generator parameters, or a folder of patient data next to the
file), the procedure (targets, modality, the devices and lesion parameters allowed), the C-arm's
starting pose, the limits (dose budget, time) and the scoring rubric. :func:`load_scenario`
validates a file completely and raises :class:`~simulator.errors.FileFormatError` naming the
file, the field and what is allowed; :func:`json_schema` exports the schema for editors.

Example file (the whole format: ``docs/scenarios.md``)::

    schema_version = 1

    [meta]
    id = "l4_mb_right_rf"
    title = "Right L4 medial branch, radiofrequency"
    author = "Rhizosim team"
    version = "1.0"
    difficulty = "beginner"
    learning_objectives = ["Square the L5 endplate and find the SAP-TP junction"]

    [procedure]
    modality = "rf"
    targets = ["medial_branch_L4_right"]

    [limits]
    dose_budget_mgy = 20.0
    time_limit_s = 1800

Examples
--------
>>> scenario = load_scenario(library_folder() / "l4_medial_branch_right_rf.toml")   # doctest: +SKIP
>>> scenario.procedure.targets                                                     # doctest: +SKIP
['medial_branch_L4_right']
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from simulator.anatomy.parameters import PARAMETER_RANGES, PatientParameters
from simulator.devices import CATALOGUE
from simulator.errors import FileFormatError, ParameterError
from simulator.rubric import CRITERIA, DEFAULT_WEIGHTS, REQUIRED_BY_DEFAULT

__all__ = ["Scenario", "load_scenario", "library_folder", "library", "json_schema", "SCHEMA_VERSION", "MODALITY_DEVICES"]

SCHEMA_VERSION = 1
#: Largest scenario file read (bytes): anything bigger is not a scenario.
MAX_FILE_BYTES = 1_000_000
#: The device kinds each modality works with.
MODALITY_DEVICES: dict[str, tuple[str, ...]] = {"rf": ("rf_cannula",), "cryo": ("cryoprobe",),
                                                "chemical": ("injection_needle", "rf_cannula")}
_TARGET_PATTERN = r"(medial_branch_L[1-4]|dorsal_ramus_L5)_(left|right)"

Text = Annotated[str, Field(min_length=1, max_length=4000)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Meta(_Model):
    """Who made the case and what it teaches."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_]{0,63}$")]
    title: Text
    author: Text
    version: Annotated[str, Field(pattern=r"^\d+(\.\d+){0,2}$")]
    difficulty: Literal["beginner", "intermediate", "advanced"]
    learning_objectives: Annotated[list[Text], Field(min_length=1, max_length=20)]
    instructor_notes: Annotated[str, Field(max_length=10000)] = ""
    hints: Annotated[list[Text], Field(max_length=20)] = []


class Patient(_Model):
    """The patient: generator parameters (the default adult where omitted), or a folder."""

    size_scale: float | None = None
    lordosis_deg: float | None = None
    fat_thickness_mm: float | None = None
    scoliosis_cobb_deg: float | None = None
    scoliosis_rotation_deg: float | None = None
    folder: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    description: Annotated[str, Field(max_length=500)] = ""

    @model_validator(mode="after")
    def _parameters_in_range(self) -> "Patient":
        given = self.generator_values()
        if self.folder is not None and given:
            raise ValueError("give either generator parameters or a folder, not both")
        try:
            PatientParameters(**given)
        except ParameterError as error:
            raise ValueError(f"{error.name} = {error.value!r} is outside {error.allowed}") from None
        return self

    def generator_values(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in PARAMETER_RANGES if getattr(self, name) is not None}

    def parameters(self) -> PatientParameters:
        """The generator parameters (defaults for the ones the file leaves out)."""
        return PatientParameters(**self.generator_values())


class Range(_Model):
    """An allowed range, both ends included."""

    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> "Range":
        if not self.min <= self.max:
            raise ValueError(f"min ({self.min:g}) must not exceed max ({self.max:g})")
        return self

    def contains(self, value: float) -> bool:
        return self.min <= value <= self.max


class Procedure(_Model):
    """What is to be done: the nerves, the modality, the equipment and its allowed settings."""

    modality: Literal["rf", "cryo", "chemical"]
    targets: Annotated[list[Annotated[str, Field(pattern=f"^{_TARGET_PATTERN}$")]], Field(min_length=1, max_length=6)]
    devices: Annotated[list[str], Field(max_length=60)] = []
    #: Allowed lesion settings by name (e.g. ``set_temperature_c = {min = 60, max = 90}``).
    allowed: dict[Annotated[str, Field(pattern=r"^[a-z_]{1,40}$")], Range] = {}

    @field_validator("targets")
    @classmethod
    def _distinct(cls, targets: list[str]) -> list[str]:
        if len(set(targets)) != len(targets):
            raise ValueError("each target nerve at most once")
        return targets

    @model_validator(mode="after")
    def _devices_fit_the_modality(self) -> "Procedure":
        kinds = MODALITY_DEVICES[self.modality]
        for device_id in self.devices:
            if device_id not in CATALOGUE:
                raise ValueError(f"unknown device {device_id!r}")
            if CATALOGUE[device_id].kind not in kinds:
                raise ValueError(f"{device_id} is a {CATALOGUE[device_id].kind}; a {self.modality} procedure uses "
                                 + " or ".join(kinds))
        return self

    def device_ids(self) -> list[str]:
        """The devices allowed: the file's list, or every device of the modality's kinds."""
        return list(self.devices) or [d for d, m in CATALOGUE.items() if m.kind in MODALITY_DEVICES[self.modality]]


class CArmStart(_Model):
    """The C-arm when the case starts: clinical angles (detector side) and where it points."""

    oblique_left_deg: Annotated[float, Field(ge=-110.0, le=110.0)] = 0.0
    tilt_cranial_deg: Annotated[float, Field(ge=-45.0, le=45.0)] = 0.0
    isocenter_landmark: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,64}$")] = "body_center_L4"


class Limits(_Model):
    """Budgets: dose (air kerma at the reference point), shots, beam-on time, procedure time."""

    dose_budget_mgy: Annotated[float, Field(gt=0.0, le=2000.0)] = 30.0
    shots_budget: Annotated[int, Field(gt=0, le=1000)] = 60
    fluoro_time_budget_s: Annotated[float, Field(gt=0.0, le=3600.0)] = 60.0
    time_limit_s: Annotated[float, Field(gt=0.0, le=4 * 3600.0)] = 2700.0


class Criterion(_Model):
    """A criterion of the rubric: its weight (points) and, optionally, its threshold."""

    id: str
    weight: Annotated[float, Field(ge=0.0, le=100.0)]
    threshold: Annotated[float, Field(ge=0.0, le=1e6)] | None = None

    @field_validator("id")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in CRITERIA:
            raise ValueError(f"unknown criterion {value!r}; known: {', '.join(CRITERIA)}")
        return value


def _default_criteria() -> list[Criterion]:
    return [Criterion(id=c, weight=w) for c, w in DEFAULT_WEIGHTS.items()]


class Scoring(_Model):
    """The rubric: criteria with weights, the pass mark (points out of the weights' sum), and the
    criteria that must pass whatever the total."""

    pass_mark: Annotated[float, Field(ge=0.0, le=100.0)] = 70.0
    criteria: Annotated[list[Criterion], Field(min_length=1, max_length=len(CRITERIA))] = Field(default_factory=_default_criteria)
    required: list[str] = list(REQUIRED_BY_DEFAULT)

    @model_validator(mode="after")
    def _consistent(self) -> "Scoring":
        ids = [c.id for c in self.criteria]
        if len(set(ids)) != len(ids):
            raise ValueError("each criterion at most once")
        for required in self.required:
            if required not in ids:
                raise ValueError(f"required criterion {required!r} is not in the rubric's criteria")
        total = sum(c.weight for c in self.criteria)
        if total <= 0.0:
            raise ValueError("the criteria's weights must sum to more than 0")
        if self.pass_mark > total:
            raise ValueError(f"pass mark {self.pass_mark:g} is above the weights' sum {total:g}")
        return self


class Scenario(_Model):
    """A whole scenario file."""

    schema_version: Literal[1]
    meta: Meta
    patient: Patient = Patient()
    procedure: Procedure
    carm: CArmStart = CArmStart()
    limits: Limits = Limits()
    scoring: Scoring = Scoring()

    # Where the file was read from and the SHA-256 of its bytes (set by :func:`load_scenario`).
    _path: Path | None = PrivateAttr(default=None)
    _sha256: str | None = PrivateAttr(default=None)

    @property
    def path(self) -> Path | None:
        """The file the scenario was read from."""
        return self._path

    @property
    def sha256(self) -> str | None:
        """SHA-256 of the file's bytes: a session records it, so a changed file is noticed."""
        return self._sha256

    def patient_folder(self) -> Path | None:
        """The patient's folder, resolved next to the scenario file (``None``: generated)."""
        if self.patient.folder is None:
            return None
        base = (self.path.parent if self.path else Path.cwd()).resolve()
        return (base / self.patient.folder).resolve()


def _where(location: tuple[Any, ...]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _first_error(error: pydantic.ValidationError) -> tuple[str, str]:
    first = error.errors(include_url=False)[0]
    where = _where(first["loc"]) or "(top level)"
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] in ("extra_forbidden",):
        message = "unknown field"
    if "input" in first and first["type"] not in ("missing", "extra_forbidden") and not isinstance(first["input"], dict):
        message += f" (got {first['input']!r})"
    count = error.error_count()
    return where, message + (f" (and {count - 1} more problem{'s' if count > 2 else ''})" if count > 1 else "")


def read_toml(path: str | Path, what: str) -> tuple[dict, bytes]:
    """Read a TOML file (at most :data:`MAX_FILE_BYTES`), raising :class:`FileFormatError` on any problem."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise FileFormatError(path, f"{size:,} bytes is too big for a {what} file", allowed=f"up to {MAX_FILE_BYTES:,} bytes")
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileFormatError(path, f"no such {what} file") from None
    except IsADirectoryError:
        raise FileFormatError(path, f"is a folder, not a {what} file") from None
    except OSError as error:
        raise FileFormatError(path, f"cannot read it ({error.strerror})") from None
    try:
        return tomllib.loads(data.decode("utf-8")), data
    except UnicodeDecodeError:
        raise FileFormatError(path, "is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise FileFormatError(path, f"is not valid TOML: {error}") from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; a :class:`FileFormatError` names what is wrong."""
    path = Path(path)
    values, data = read_toml(path, "scenario")
    try:
        scenario = Scenario.model_validate(values)
    except pydantic.ValidationError as error:
        where, problem = _first_error(error)
        raise FileFormatError(path, problem, where) from None
    scenario._path, scenario._sha256 = path, hashlib.sha256(data).hexdigest()
    folder = scenario.patient_folder()
    if folder is not None:
        base = path.parent.resolve()
        if base != folder and base not in folder.parents:
            raise FileFormatError(path, f"{scenario.patient.folder!r} leaves the scenario's folder", "patient.folder",
                                  "a folder inside the scenario's own folder")
        if not folder.is_dir():
            raise FileFormatError(path, f"no patient folder {scenario.patient.folder!r} next to the scenario", "patient.folder")
    return scenario


def library_folder() -> Path:
    """``scenarios/`` of the source tree the package runs from: the shipped library."""
    return Path(__file__).resolve().parents[1] / "scenarios"


def library(folder: str | Path | None = None) -> dict[str, Path]:
    """Scenario id -> file for every ``*.toml`` in ``folder`` (default: the shipped library).

    Files that do not validate are left out here; :func:`load_scenario` says why.
    """
    found = {}
    for path in sorted(Path(folder or library_folder()).glob("*.toml")):
        try:
            found[load_scenario(path).meta.id] = path
        except FileFormatError:
            continue
    return found


def find_scenario(name: str, folder: str | Path | None = None) -> Scenario:
    """A scenario by library id (``"l4_mb_right_rf"``) or by file path."""
    path = Path(name)
    if path.suffix == ".toml" or path.exists():
        return load_scenario(path)
    known = library(folder)
    if name not in known:
        import difflib

        close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.4)
        raise FileFormatError(Path(folder or library_folder()), f"no scenario with id {name!r}",
                              allowed=", ".join(close) if close else ", ".join(known))
    return load_scenario(known[name])


def json_schema() -> dict:
    """The JSON Schema of scenario files (for editors' completion and checks)."""
    schema = Scenario.model_json_schema(mode="validation")
    schema["$id"] = "https://rhizosim.org/schema/scenario-1.json"
    schema["title"] = "Rhizosim scenario"
    return json.loads(json.dumps(schema))
