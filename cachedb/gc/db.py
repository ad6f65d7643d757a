"""gc's way into the metadata database: the cache's plain-SQL transactions.

Importing SQLAlchemy costs more than a whole gc with nothing to collect, so gc
writes its statements in the named-parameter SQL of ``db.lite``; the cache runs
them on sqlite3 itself when the database is SQLite, and through the ORM otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from ..db.lite import Executor

if TYPE_CHECKING:
    from ..store import Cache

T = TypeVar("T")


class GcDatabase:
    """Short read snapshots and ``BEGIN IMMEDIATE`` writes (retried while busy) in plain SQL."""

    def __init__(self, cache: Cache) -> None:
        self._cache = cache

    def __enter__(self) -> GcDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        pass  # the cache owns the connection

    def read(self, fn: Callable[[Executor], T]) -> T:
        """Run ``fn`` in one read transaction (it sees one snapshot)."""
        return self._cache.read_sql(fn)

    def write(self, fn: Callable[[Executor], T]) -> T:
        """Run ``fn`` in a write transaction; ``fn`` may run more than once, so only SQL in it."""
        return self._cache.write_sql(fn)
