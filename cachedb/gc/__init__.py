"""Garbage collection: roots (pointers, living environments, leases), policies, sweep.

``run(cache, Options(...))`` is what ``cachedb gc`` and ``cachedb clean`` call;
``leases`` is the API the install pipeline uses to hold archives while it links them.
``leases`` is imported only when asked for (gc itself needs only ``held``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .policy import DEFAULT_GRACE, Options
from .report import Report
from .run import run
from .units import format_size, parse_duration, parse_size

if TYPE_CHECKING:
    from ..store import leases


def __getattr__(name: str) -> object:
    if name == "leases":
        from ..store import leases

        return leases
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_GRACE",
    "Options",
    "Report",
    "format_size",
    "leases",
    "parse_duration",
    "parse_size",
    "run",
]
