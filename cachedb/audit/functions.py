"""SQL functions registered on ``cachedb sql`` connections.

They let queries speak the language of packaging: specifier membership,
version ordering, canonical names. Invalid input yields NULL rather than an
error, so one odd row never aborts a whole audit query.
"""

from __future__ import annotations

import sqlite3

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB")


def version_in(version: object, specifier: object) -> int | None:
    """1 if ``version`` satisfies ``specifier`` (pre-releases count), 0 if not, NULL if invalid."""
    if not isinstance(version, str) or not isinstance(specifier, str):
        return None
    try:
        spec = SpecifierSet(specifier, prereleases=True)
        return int(Version(version) in spec)
    except (InvalidSpecifier, InvalidVersion):
        return None


def version_cmp(a: object, b: object) -> int | None:
    """-1, 0 or 1 comparing two versions by PEP 440; NULL if either is invalid."""
    if not isinstance(a, str) or not isinstance(b, str):
        return None
    try:
        va, vb = Version(a), Version(b)
    except InvalidVersion:
        return None
    return (va > vb) - (va < vb)


def canonical_name(name: object) -> str | None:
    if not isinstance(name, str):
        return None
    return str(canonicalize_name(name))


def human_bytes(n: object) -> str | None:
    """``1536`` → ``"1.5 KiB"``; binary units, as ``du -h`` and uv print them."""
    if isinstance(n, bool) or not isinstance(n, int | float):
        return None
    size = float(n)
    if abs(size) < 1024:
        return f"{int(size)} B"
    for unit in _UNITS:
        size /= 1024
        if abs(size) < 1024 or unit == _UNITS[-1]:
            break
    return f"{size:.1f} {unit}"


def register(conn: sqlite3.Connection) -> None:
    if sqlite3.sqlite_version_info < (3, 38, 0):
        # Built in from SQLite 3.38 (and created by migration 0004 on PostgreSQL).
        import time

        conn.create_function("unixepoch", 0, lambda: int(time.time()))
    conn.create_function("version_in", 2, version_in, deterministic=True)
    conn.create_function("version_cmp", 2, version_cmp, deterministic=True)
    conn.create_function("canonical_name", 1, canonical_name, deterministic=True)
    conn.create_function("human_bytes", 1, human_bytes, deterministic=True)
