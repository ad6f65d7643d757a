"""The cache-root id: which database describes which cache directory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..db.lite import Executor
from ..db.urls import redacted
from ..errors import CacheError
from .layout import ROOT_ID_FILE

if TYPE_CHECKING:
    from .cache import Cache


def check_root_id(cache: Cache) -> None:
    """Refuse a database that describes another cache directory than this one.

    The cache directory and its database each hold the cache-root id (the file
    ``cachedb-id``, the ``meta`` row ``cache_root_id``); whichever lacks it gets
    the other's (a new cache: a new id). Two cache directories pointed at one
    database would each believe the other's archives are orphans.
    """
    path = cache.root / ROOT_ID_FILE
    mine = _read_root_id(path)
    if mine is None:
        import uuid

        mine = _create_root_id(path, uuid.uuid4().hex)
    key = "cache_root_id"

    def _claim(run: Executor) -> str:
        run(
            "INSERT INTO meta (key, value) VALUES (:k, :v) ON CONFLICT (key) DO NOTHING",
            {"k": key, "v": mine},
        )
        return str(run("SELECT value FROM meta WHERE key = :k", {"k": key})[0][0])

    found = cache.read_sql(lambda run: run("SELECT value FROM meta WHERE key = :k", {"k": key}))
    theirs = str(found[0][0]) if found else cache.write_sql(_claim)
    if theirs != mine:
        raise CacheError(
            f"the database {redacted(cache.db_url)} belongs to another cache directory than "
            f"{str(cache.root)!r} (cache-root ids {theirs} and {mine}); use the database made "
            f"for this directory, or, if they do belong together, write {theirs} into {path}"
        )


def _read_root_id(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise CacheError(f"cannot read {str(path)!r}: {exc}") from exc
    return text or None


def _create_root_id(path: Path, new: str) -> str:
    """Write ``new`` to ``path`` unless another process got there first; the id there."""
    import secrets

    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    temp.write_text(new + "\n", encoding="ascii")
    try:
        os.link(temp, path)  # appears whole, and never over another's
    except FileExistsError:
        pass
    finally:
        temp.unlink()
    found = _read_root_id(path)
    if found is None:
        raise CacheError(f"{str(path)!r} is empty")
    return found
