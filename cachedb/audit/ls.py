"""``cachedb ls``: the distributions in the cache, one row per live archive."""

from __future__ import annotations

import itertools
import re
from dataclasses import asdict, dataclass
from fnmatch import fnmatchcase
from typing import Any

from packaging.version import InvalidVersion, Version

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
    rows = cache.read_sql(
        lambda run: run(
            "SELECT name, version, tags, filename, id, unpacked_size, last_used_at,"
            " last_used_iso, pointer_count, environment_count FROM v_archives"
        ),
    )
    glob = canonical_pattern(pattern) if pattern else None
    found = [Listed(*row) for row in rows if glob is None or fnmatchcase(row[0], glob)]
    found.sort(key=lambda r: (r.name, r.tags))
    out: list[Listed] = []
    for _name, group in itertools.groupby(found, key=lambda r: r.name):
        same = list(group)
        # Parsing versions is the slow part of a big listing: only names with several need it.
        if len(same) > 1:
            same.sort(key=lambda r: (_version_key(r.version), r.tags))
        out += same
    return out
