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

from simulator._files import read_bytes
from simulator.anatomy.parameters import PARAMETER_RANGES, PatientParameters
from simulator.devices import CATALOGUE
from simulator.errors import FileFormatError, ParameterError
from simulator.rubric import CRITERIA, DEFAULT_WEIGHTS, REQUIRED_BY_DEFAULT

__all__ = ["Scenario", "load_scenario", "scenario_from_text", "find_scenario", "library_folder", "library", "json_schema",
           "read_text", "parse_toml", "first_validation_error", "SCHEMA_VERSION", "MODALITY_DEVICES"]

SCHEMA_VERSION = 1
#: Largest scenario file read (bytes): anything bigger is not a scenario.
MAX_FILE_BYTES = 1_000_000
#: The device kinds each modality works with.
MODALITY_DEVICES: dict[str, tuple[str, ...]] = {"rf": ("rf_cannula",), "cryo": ("cryoprobe",),
                                                "chemical": ("injection_needle", "rf_cannula")}
_TARGET_PATTERN = r"(medial_branch_L[1-4]|dorsal_ramus_L5)_(left|right)"
_LANDMARK_PATTERN = (r"body_center_(L[1-5]|sacrum)|(superior|inferior)_endplate_L[1-5]|superior_endplate_S1|spinous_tip_L[1-5]|"
                     r"pedicle_L[1-5]_(left|right)|sap_tp_junction_L[2-5]_(left|right)|ala_sap_groove_(left|right)")

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
    targets: Annotated[list[str], Field(min_length=1, max_length=6)]
    devices: Annotated[list[str], Field(max_length=60)] = []
    #: Allowed lesion settings by name (e.g. ``set_temperature_c = {min = 60, max = 90}``).
    allowed: dict[str, Range] = {}
    #: Agents a chemical neurolysis may use (empty: any).
    agents: list[Literal["ethanol", "phenol"]] = []

    @field_validator("targets")
    @classmethod
    def _known_and_distinct(cls, targets: list[str]) -> list[str]:
        for target in targets:
            if not isinstance(target, str) or not re.fullmatch(_TARGET_PATTERN, target):
                raise ValueError(f"unknown target {target!r}; a target is medial_branch_<L1..L4>_<left|right> or "
                                 "dorsal_ramus_L5_<left|right>")
        if len(set(targets)) != len(targets):
            raise ValueError("each target nerve at most once")
        return targets

    @model_validator(mode="after")
    def _allowed_settings_exist(self) -> "Procedure":
        from simulator.lesions import ALLOWED_KEYS

        for key in self.allowed:
            if key not in ALLOWED_KEYS[self.modality]:
                raise ValueError(f"{key!r} is not a {self.modality} setting a scenario can limit; known: "
                                 + ", ".join(ALLOWED_KEYS[self.modality]))
        if self.agents and self.modality != "chemical":
            raise ValueError("agents are for a chemical neurolysis only")
        return self

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
    isocenter_landmark: str = "body_center_L4"

    @field_validator("isocenter_landmark")
    @classmethod
    def _landmark(cls, value: str) -> str:
        if not re.fullmatch(_LANDMARK_PATTERN, value):
            raise ValueError(f"unknown landmark {value!r}; a landmark is body_center_<L1..L5|sacrum>, "
                             "superior_endplate_<L1..L5|S1>, pedicle_<L1..L5>_<side>, sap_tp_junction_<L2..L5>_<side> or "
                             "ala_sap_groove_<side>")
        return value


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
    """The rubric: criteria with weights, the pass mark (percent of the points of the criteria
    that apply to the session), and the criteria that must pass whatever the total."""

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
        if sum(c.weight for c in self.criteria) <= 0.0:
            raise ValueError("the criteria's weights must sum to more than 0")
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
    _text: str | None = PrivateAttr(default=None)

    @property
    def text(self) -> str | None:
        """The file's text (a session embeds it, so it can be scored when the library changes)."""
        return self._text

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


def first_validation_error(error: pydantic.ValidationError) -> tuple[str, str]:
    """The first problem of a pydantic error as (field, message), with a count of the others."""
    first = error.errors(include_url=False)[0]
    where = _where(first["loc"]) or "(top level)"
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] in ("extra_forbidden",):
        message = "unknown field"
    if "input" in first and first["type"] not in ("missing", "extra_forbidden") and not isinstance(first["input"], dict):
        message += f" (got {first['input']!r})"
    count = error.error_count()
    return where, message + (f" (and {count - 1} more problem{'s' if count > 2 else ''})" if count > 1 else "")


def read_text(path: str | Path, what: str) -> str:
    """Read a UTF-8 text file (at most :data:`MAX_FILE_BYTES`), raising :class:`FileFormatError` on any problem."""
    data = read_bytes(path, f"{what} file", MAX_FILE_BYTES)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise FileFormatError(path, "is not UTF-8 text") from None


def parse_toml(text: str, source: str | Path, what: str) -> dict:
    """Parse TOML text, raising :class:`FileFormatError` naming ``source`` (with the line)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise FileFormatError(source, f"is not valid TOML: {error}") from None
    except RecursionError:
        raise FileFormatError(source, f"is nested too deeply for a {what} file") from None


def scenario_from_text(text: str, path: str | Path) -> Scenario:
    """Validate a scenario's TOML ``text`` (read from ``path``: names it in errors, places the
    patient's folder)."""
    path = Path(path)
    values = parse_toml(text, path, "scenario")
    try:
        scenario = Scenario.model_validate(values)
    except pydantic.ValidationError as error:
        where, problem = first_validation_error(error)
        raise FileFormatError(path, problem, where) from None
    scenario._path, scenario._sha256 = path, hashlib.sha256(text.encode("utf-8")).hexdigest()
    scenario._text = text
    return scenario


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; a :class:`FileFormatError` names what is wrong."""
    path = Path(path)
    text = read_text(path, "scenario")
    scenario = scenario_from_text(text, path)
    folder = scenario.patient_folder()
    if folder is not None:
        base = path.parent.resolve()
        if base != folder and base not in folder.parents:
            raise FileFormatError(path, f"{scenario.patient.folder!r} leaves the scenario's folder", "patient.folder",
                                  "a folder inside the scenario's own folder")
        if not folder.is_dir():
            raise FileFormatError(path, f"no patient folder {scenario.patient.folder!r} next to the scenario", "patient.folder")
        _check_against_patient(scenario, path, folder)
    return scenario


def _check_against_patient(scenario: Scenario, path: Path, folder: Path) -> None:
    """Targets and the C-arm's landmark must exist in the scenario's patient folder: an imported
    patient may lack levels (its manifest says which structures it has, and why others are absent)."""
    from simulator.anatomy.assets import MANIFEST_NAME

    try:
        manifest = json.loads((folder / MANIFEST_NAME).read_text())
        structures = {entry["id"] for entry in manifest["structures"]}
        landmarks = set(manifest["landmarks_mm"])
    except (OSError, ValueError, KeyError, TypeError):
        return  # loading the patient names the damaged file; nothing to check against here
    absent = (manifest.get("source") or {}).get("absent_targets", {})
    for index, target in enumerate(scenario.procedure.targets):
        if target not in structures:
            why = absent.get(target, "not in its manifest")
            raise FileFormatError(path, f"target {target!r} is absent from the patient {scenario.patient.folder!r}: {why}",
                                  f"procedure.targets[{index}]", ", ".join(sorted(
                                      s for s in structures if s.startswith(("medial_branch_", "dorsal_ramus_L5")))) or "none")
    if scenario.carm.isocenter_landmark not in landmarks:
        raise FileFormatError(path, f"landmark {scenario.carm.isocenter_landmark!r} is not in the patient "
                                    f"{scenario.patient.folder!r}", "carm.isocenter_landmark",
                              ", ".join(sorted(k for k in landmarks if k.startswith("body_center_"))))


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
