"""Garbage collection: roots (pointers, living environments, leases), policies, sweep.

``run(cache, Options(...))`` is what ``cachedb gc`` and ``cachedb clean`` call;
``leases`` is the API the install pipeline uses to hold archives while it links them.
"""

from __future__ import annotations

from ..store import leases
from .policy import DEFAULT_GRACE, Options
from .report import Report
from .run import run
from .units import format_size, parse_duration, parse_size

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
