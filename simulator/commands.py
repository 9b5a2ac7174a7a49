"""The commands of a procedure: every user action, in the one vocabulary of the GUI, plans and logs.

Each command is a small validated value (a pydantic model) named by its ``do`` field. They are
*canonical*: everything needed to apply them again is in them (the needle's entry point and
direction, the C-arm's angles), so a session log replays exactly. A plan may use shorthands
(aim by the textbook approach, square an endplate); :mod:`simulator.plan` turns those into
these commands before they are applied and logged.

Examples
--------
>>> parse_command({"do": "advance", "needle": "needle 1", "distance_mm": 2.0})
Advance(do='advance', needle='needle 1', distance_mm=2.0)
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from simulator.errors import ParameterError
from simulator.rubric import CHECKLIST_STEPS

__all__ = ["Command", "parse_command", "COMMAND_NAMES", "Tick", "Note", "Insert", "Advance", "Withdraw", "Reaim",
           "Rotate", "Remove", "MoveCArm", "Shot", "Stimulate", "Inject", "Ablate", "End"]

Label = Annotated[str, Field(pattern=r"^[A-Za-z0-9 _-]{1,32}$")]
Vector = tuple[Annotated[float, Field(ge=-1e4, le=1e4)], Annotated[float, Field(ge=-1e4, le=1e4)],
               Annotated[float, Field(ge=-1e4, le=1e4)]]
#: Local anaesthetics (through the cannula before a heat lesion: procedure.md step 13).
ANAESTHETICS = ("lidocaine", "bupivacaine")


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tick(_Command):
    """Tick a checklist step."""

    do: Literal["tick"] = "tick"
    step: Literal[CHECKLIST_STEPS]  # type: ignore[valid-type]


class Note(_Command):
    """Write a note into the record."""

    do: Literal["note"] = "note"
    text: Annotated[str, Field(min_length=1, max_length=2000)]


class Insert(_Command):
    """Put a new needle on the skin at ``entry_mm`` (snapped to the skin), aimed along ``direction``."""

    do: Literal["insert"] = "insert"
    needle: Label
    device: Annotated[str, Field(min_length=1, max_length=64)]
    entry_mm: Vector
    direction: Vector


class Advance(_Command):
    """Push a needle deeper (it stops on bone)."""

    do: Literal["advance"] = "advance"
    needle: Label
    distance_mm: Annotated[float, Field(gt=0.0, le=200.0)]


class Withdraw(_Command):
    """Pull a needle back."""

    do: Literal["withdraw"] = "withdraw"
    needle: Label
    distance_mm: Annotated[float, Field(gt=0.0, le=200.0)]


class Reaim(_Command):
    """Point a needle along a new direction (only near the skin)."""

    do: Literal["reaim"] = "reaim"
    needle: Label
    direction: Vector


class Rotate(_Command):
    """Turn a needle's hub (steers a curved tip)."""

    do: Literal["rotate"] = "rotate"
    needle: Label
    by_deg: Annotated[float, Field(ge=-360.0, le=360.0)]


class Remove(_Command):
    """Take a needle out."""

    do: Literal["remove"] = "remove"
    needle: Label


class MoveCArm(_Command):
    """Move the C-arm: clinical angles of the detector and the isocentre (mm, patient frame)."""

    do: Literal["carm"] = "carm"
    oblique_left_deg: Annotated[float, Field(ge=-110.0, le=110.0)]
    tilt_cranial_deg: Annotated[float, Field(ge=-90.0, le=90.0)]
    isocenter_mm: Vector


class Shot(_Command):
    """Press the pedal: a single shot or a pulsed/continuous run of ``duration_s``."""

    do: Literal["shot"] = "shot"
    mode: Literal["single", "pulsed", "continuous"] = "single"
    duration_s: Annotated[float, Field(ge=0.0, le=600.0)] = 0.0


class Stimulate(_Command):
    """Test through a needle: sensory 50 Hz (the patient's threshold) or motor 2 Hz at ``voltage_v``."""

    do: Literal["stimulate"] = "stimulate"
    needle: Label
    test: Literal["sensory", "motor"]
    voltage_v: Annotated[float, Field(gt=0.0, le=10.0)] | None = None


class Inject(_Command):
    """Inject local anaesthetic through a needle (mL)."""

    do: Literal["inject"] = "inject"
    needle: Label
    agent: Literal[ANAESTHETICS]  # type: ignore[valid-type]
    volume_ml: Annotated[float, Field(gt=0.0, le=10.0)]


class End(_Command):
    """End the procedure: the session is complete (a session without it was cut off)."""

    do: Literal["end"] = "end"


class Ablate(_Command):
    """Make a lesion through a needle with the scenario's modality and these settings."""

    do: Literal["ablate"] = "ablate"
    needle: Label
    settings: dict[Annotated[str, Field(pattern=r"^[a-z_]{1,40}$")], Union[float, int, bool, str, list[list[float]]]] = {}


Command = Annotated[Union[Tick, Note, Insert, Advance, Withdraw, Reaim, Rotate, Remove, MoveCArm, Shot, Stimulate, Inject,
                          Ablate, End], Field(discriminator="do")]
COMMAND_NAMES: tuple[str, ...] = ("tick", "note", "insert", "advance", "withdraw", "reaim", "rotate", "remove", "carm", "shot",
                                  "stimulate", "inject", "ablate", "end")
_ADAPTER = pydantic.TypeAdapter(Command)


def parse_command(values: Any, source: str = "command") -> Command:
    """Validate a command from plain values (a log line, a plan action, the GUI).

    Raises :class:`~simulator.errors.ParameterError` naming the field and what is allowed.
    """
    if not isinstance(values, dict) or values.get("do") not in COMMAND_NAMES:
        kind = values.get("do") if isinstance(values, dict) else type(values).__name__
        raise ParameterError("do", kind, ", ".join(COMMAND_NAMES), source)
    try:
        return _ADAPTER.validate_python(values)
    except pydantic.ValidationError as error:
        first = error.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first["loc"][1:]) or "do"
        raise ParameterError(field, first.get("input"), first["msg"].removeprefix("Value error, "), source) from None
