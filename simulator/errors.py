"""Every error the simulator raises on purpose.

Each error subclasses the built-in exception it refines (``ValueError`` for a bad value,
``KeyError`` for an unknown name) so callers may catch either, and carries the facts a
user needs to fix the input: which parameter or file, what was received, what is allowed.
The command line prints ``str(error)`` and exits non-zero, never a traceback.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "SimulatorError",
    "ParameterError",
    "AssetError",
    "UnknownStructureError",
    "AbsentStructureError",
    "FileFormatError",
    "CollisionError",
    "SimulationCancelled",
]


class SimulatorError(Exception):
    """Base class of all errors raised on purpose by Rhizosim."""


class ParameterError(SimulatorError, ValueError):
    """A parameter is outside its allowed values.

    Parameters
    ----------
    name : str
        Name of the parameter as the user wrote it (e.g. ``"fat_thickness_mm"``).
    value : object
        The value received.
    allowed : str
        Human-readable description of what is allowed (e.g. ``"5.0 to 80.0 mm"``).
    source : str, optional
        Where the value came from (a file path), if not from a function call.
    """

    def __init__(self, name: str, value: object, allowed: str, source: str | None = None) -> None:
        self.name = name
        self.value = value
        self.allowed = allowed
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}parameter '{name}' = {value!r} is not allowed; allowed: {allowed}")


class AssetError(SimulatorError, ValueError):
    """An asset file (mesh, field, manifest) is missing, corrupt or inconsistent.

    Parameters
    ----------
    path : str or Path
        The offending file or folder.
    problem : str
        What is wrong with it.
    hint : str, optional
        What the user can do about it.
    """

    def __init__(self, path: str | Path, problem: str, hint: str | None = None) -> None:
        self.path = Path(path)
        self.problem = problem
        self.hint = hint
        message = f"{self.path}: {problem}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


class UnknownStructureError(SimulatorError, KeyError):
    """A structure or tissue id is not in the scene.

    Parameters
    ----------
    name : str
        The id asked for.
    known : list of str
        Ids that exist, to list the closest ones in the message.
    """

    def __init__(self, name: str, known: list[str], what: str = "structure") -> None:
        import difflib

        self.name = name
        close = difflib.get_close_matches(name, known, n=5, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; {len(known)} {what}s exist"
        self.message = f"unknown {what} id '{name}'{hint}"
        super().__init__(self.message)

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class AbsentStructureError(UnknownStructureError):
    """A structure an imported patient lacks because a bone it needs was not imported.

    Parameters
    ----------
    name : str
        The id asked for (``"medial_branch_L4_right"``).
    reason : str
        Why it is absent (``"L5 absent (the nerve runs from L4 over L5)"``).
    present : list of str
        The bones the patient has.
    """

    def __init__(self, name: str, reason: str, present: list[str]) -> None:
        self.name = name
        self.reason = reason
        self.message = (f"'{name}' is absent from this imported patient: {reason}; its bones are "
                        f"{', '.join(present) or 'none'}")
        KeyError.__init__(self, self.message)


class FileFormatError(SimulatorError, ValueError):
    """A user file (scenario, plan, session log) cannot be read or does not validate.

    Parameters
    ----------
    path : str or Path
        The file.
    problem : str
        What is wrong, e.g. ``"procedure.targets[0].nerve: 'medial_branch_L9_left' is not allowed"``.
    where : str, optional
        The field (``"procedure.targets[0].nerve"``) or line (``"line 12"``) at fault.
    allowed : str, optional
        What would be accepted there.
    """

    def __init__(self, path: str | Path, problem: str, where: str | None = None, allowed: str | None = None) -> None:
        self.path = Path(path)
        self.problem = problem
        self.where = where
        self.allowed = allowed
        message = f"{self.path}: " + (f"{where}: " if where else "") + problem
        if allowed:
            message += f"; allowed: {allowed}"
        super().__init__(message)


class CollisionError(SimulatorError, ValueError):
    """A C-arm pose the machine cannot take: a housing would pass through the table.

    Parameters
    ----------
    pose : str
        The pose, in clinical words ("caudal 75°").
    part : str
        What collides ("X-ray tube housing").
    depth_mm : float
        How far the part would be inside the table, mm.
    """

    def __init__(self, pose: str, part: str, depth_mm: float) -> None:
        self.pose = pose
        self.part = part
        self.depth_mm = depth_mm
        super().__init__(f"pose {pose} is not reachable: the {part} would be {depth_mm:.0f} mm inside the table "
                         "(allowed: poses whose tube and detector clear the table; tilt or turn less, or move the "
                         "isocentre)")


class SimulationCancelled(SimulatorError):
    """A long computation (an ablation model) was cancelled by its progress callback.

    Parameters
    ----------
    what : str
        What was running (``"rf lesion"``).
    fraction : float
        How far it had got, 0 to 1.
    """

    def __init__(self, what: str, fraction: float) -> None:
        self.what = what
        self.fraction = fraction
        super().__init__(f"{what} cancelled at {100.0 * fraction:.0f} %")
