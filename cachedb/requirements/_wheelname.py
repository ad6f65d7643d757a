"""Wheel filenames, read by ``cachedb._filenames`` (packaging's answers), with
user-facing errors."""

from __future__ import annotations

from cachedb._filenames import WheelName, parse_wheel_filename
from cachedb.errors import UsageError


def parse_wheel_name(filename: str) -> WheelName:
    """``parse_wheel_filename`` raising UsageError for bad names."""
    try:
        return parse_wheel_filename(filename)
    except ValueError as exc:
        # packaging's message repeats the name on later lines; keep the first only.
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"invalid wheel filename {filename!r}: {reason}") from exc
