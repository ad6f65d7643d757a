"""gc's way into the metadata database: plain SQL, on sqlite3 itself when the database is SQLite.

Importing SQLAlchemy costs more than a whole gc with nothing to collect, so gc
writes its statements in the named-parameter SQL of ``db.lite`` and runs them
on a sqlite3 connection of its own; other databases go through the ORM's
``read_sql``/``write_sql``, which take the same statements.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from ..db.lite import Executor, LiteDatabase, sqlite_path
from ..errors import DatabaseError

if TYPE_CHECKING:
    from ..store import Cache

T = TypeVar("T")


class GcDatabase:
    """Short read snapshots and ``BEGIN IMMEDIATE`` writes (retried while busy) in plain SQL."""

    def __init__(self, cache: Cache) -> None:
        self._cache = cache
        path = sqlite_path(cache.db_url)
        self._lite = LiteDatabase(path) if path is not None else None

    def close(self) -> None:
        if self._lite is not None:
            self._lite.close()

    def __enter__(self) -> GcDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, fn: Callable[[Executor], T]) -> T:
        """Run ``fn`` in one read transaction (it sees one snapshot)."""
        if self._lite is None:
            return self._cache.db.read_sql(fn)
        try:
            with self._lite.read() as run:
                return fn(run)
        except sqlite3.Error as exc:
            raise DatabaseError(f"database error: {exc}") from exc

    def write(self, fn: Callable[[Executor], T]) -> T:
        """Run ``fn`` in a write transaction; ``fn`` may run more than once, so only SQL in it."""
        if self._lite is None:
            return self._cache.db.write_sql(fn)
        try:
            return self._lite.write(fn)
        except sqlite3.Error as exc:
            # A full disk or a broken file mid-transaction: one line, like the ORM path.
            raise DatabaseError(f"database error: {exc}") from exc
