"""Durations and sizes as users type them (``10m``, ``30d``, ``5GB``, ``512MiB``) and print them."""

from __future__ import annotations

import re

from ..errors import UsageError

_DURATION_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0}
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_NUMBER_UNIT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")


def _split(text: str, what: str, example: str) -> tuple[float, str]:
    match = _NUMBER_UNIT.match(text)
    if match is None:
        raise UsageError(f"invalid {what} {text!r}: expected e.g. {example}")
    return float(match.group(1)), match.group(2).lower()


def parse_duration(text: str) -> float:
    """Seconds in ``text``: a number with an optional unit s, m, h, d or w (default s)."""
    value, unit = _split(text, "duration", "'90s', '10m', '1h' or '30d'")
    factor = _DURATION_UNITS.get(unit or "s")
    if factor is None:
        raise UsageError(f"invalid duration {text!r}: the unit must be one of s, m, h, d, w")
    return value * factor


def parse_size(text: str) -> int:
    """Bytes in ``text``: B, KB/MB/GB/TB (powers of 1000) or KiB/MiB/GiB/TiB (powers of 1024)."""
    value, unit = _split(text, "size", "'500MB', '5GB' or '2GiB'")
    factor = _SIZE_UNITS.get(unit or "b")
    if factor is None:
        raise UsageError(
            f"invalid size {text!r}: the unit must be one of B, KB, MB, GB, TB, KiB, MiB, GiB, TiB"
        )
    return int(value * factor)


def format_size(size: int) -> str:
    """``384.2 MiB``: binary units, one decimal, so numbers match what ``du -h`` users expect."""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")
