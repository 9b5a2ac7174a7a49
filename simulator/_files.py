"""Reading a user's file whole, with one clear error for every way it can fail."""

from __future__ import annotations

from pathlib import Path

from simulator.errors import FileFormatError

__all__ = ["read_bytes"]


def read_bytes(path: str | Path, noun: str, max_bytes: int) -> bytes:
    """The bytes of ``path``, at most ``max_bytes`` of them.

    ``noun`` names the file in the messages ("scenario file", "session log").

    Raises
    ------
    FileFormatError
        Naming the file: missing, a folder, too big, or unreadable.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise FileFormatError(path, f"{size:,} bytes is too big for a {noun}", allowed=f"up to {max_bytes:,} bytes")
        return path.read_bytes()
    except FileNotFoundError:
        raise FileFormatError(path, f"no such {noun}") from None
    except IsADirectoryError:
        raise FileFormatError(path, f"is a folder, not a {noun}") from None
    except OSError as error:
        raise FileFormatError(path, f"cannot read it ({error.strerror})") from None
