"""Choosing versions: a resolvelib provider over a ``Finder``, and a pinned fast path.

Importing this package does not import resolvelib; only ``resolve()`` does.
"""

from __future__ import annotations

from cachedb.resolve._model import CandidateInfo, Finder, Pin, Resolution, exact_pin
from cachedb.resolve._pinned import resolve_pinned
from cachedb.resolve._resolver import resolve

__all__ = [
    "CandidateInfo",
    "Finder",
    "Pin",
    "Resolution",
    "exact_pin",
    "resolve",
    "resolve_pinned",
]
