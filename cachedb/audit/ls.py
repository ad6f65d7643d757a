"""``cachedb ls``: the distributions in the cache, one row per live archive."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from fnmatch import fnmatchcase
from typing import Any

from packaging.version import InvalidVersion, Version
from sqlalchemy import text

from ..store import Cache

_SEPARATORS = re.compile(r"[-_.]+")


@dataclass(frozen=True)
class Listed:
    name: str
    version: str
    tags: str
    filename: str
    archive_id: str
    unpacked_size: int
    last_used_at: float
    last_used_iso: str
    pointer_count: int
    environment_count: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def canonical_pattern(pattern: str) -> str:
    """Canonicalize a glob like a name (``Foo_*`` matches ``foo-bar``), keeping its wildcards."""
    return _SEPARATORS.sub("-", pattern).lower()


def _version_key(version: str) -> tuple[int, Version | str]:
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


def list_archives(cache: Cache, pattern: str | None = None) -> list[Listed]:
    with cache.db.read() as session:
        rows = session.execute(
            text(
                "SELECT name, version, tags, filename, id, unpacked_size, last_used_at,"
                " last_used_iso, pointer_count, environment_count FROM v_archives"
            )
        ).all()
    glob = canonical_pattern(pattern) if pattern else None
    found = [Listed(*row) for row in rows if glob is None or fnmatchcase(row[0], glob)]
    found.sort(key=lambda r: (r.name, _version_key(r.version), r.tags))
    return found
