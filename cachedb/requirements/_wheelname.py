"""Wheel filenames, parsed by packaging, with user-facing errors."""

from __future__ import annotations

from packaging.tags import Tag
from packaging.utils import BuildTag, NormalizedName, parse_wheel_filename
from packaging.version import Version

from cachedb.errors import UsageError


def parse_wheel_name(
    filename: str,
) -> tuple[NormalizedName, Version, BuildTag, frozenset[Tag]]:
    """``packaging.utils.parse_wheel_filename`` raising UsageError for bad names."""
    try:
        return parse_wheel_filename(filename)
    except ValueError as exc:
        # packaging's message repeats the name on later lines; keep the first only.
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"invalid wheel filename {filename!r}: {reason}") from exc
