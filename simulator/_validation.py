"""Single-purpose input checks shared by the whole package.

Each ``check_*`` function takes the value and the ``name`` to put in its message, returns the
value normalised (e.g. as a float array) and raises :class:`~simulator.errors.ParameterError`
naming the parameter and what is allowed. Never ``assert`` for input checking.
"""

from __future__ import annotations

import math

import numpy as np

from simulator.errors import ParameterError

__all__ = ["check_range", "check_points"]


def check_range(value: float, name: str, low: float, high: float, unit: str = "") -> float:
    """Return ``value`` as a float if it is finite and within ``[low, high]``.

    Parameters
    ----------
    value : float
        The value to check.
    name : str
        Parameter name used in the error message.
    low, high : float
        Inclusive bounds.
    unit : str, optional
        Unit appended to the allowed range in the message (``"mm"``, ``"deg"``).

    Examples
    --------
    >>> check_range(12.0, "fat_thickness_mm", 5, 80, "mm")
    12.0
    """
    allowed = f"{low:g} to {high:g}{' ' + unit if unit else ''}"
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(name, value, f"a number, {allowed}") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise ParameterError(name, value, allowed)
    return number


def check_points(points: object, name: str = "points") -> np.ndarray:
    """Return ``points`` as a float64 array of shape ``(n, 3)`` (one point also accepted).

    Parameters
    ----------
    points : array_like, shape (n, 3) or (3,)
        Point coordinates in mm.
    name : str
        Parameter name used in the error message.

    Examples
    --------
    >>> check_points([1, 2, 3]).shape
    (1, 3)
    """
    array = np.asarray(points, dtype=float)
    if array.ndim == 1 and array.shape[0] == 3:
        array = array[np.newaxis, :]
    if array.ndim != 2 or array.shape[1] != 3:
        raise ParameterError(name, f"array of shape {array.shape}", "an array of shape (n, 3) in mm")
    if not np.all(np.isfinite(array)):
        raise ParameterError(name, "non-finite coordinates", "finite coordinates in mm")
    return array
