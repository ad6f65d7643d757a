"""Garbage collection: roots (pointers, living environments, held archives), policies, sweep.

``run(cache, Options(...))`` is what ``cachedb gc`` and ``cachedb clean`` call.
Leases are taken and released by ``store.leases`` (the install pipeline holds
archives with them while it links); gc only reads which archives they hold
(``held``). ``gc.leases`` is that store module, imported only when asked for.
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
