"""Reads for ``ls`` and ``info`` in plain SQL: on sqlite3 itself when the database is SQLite.

A listing of the cache should not pay for importing SQLAlchemy (more than the
query and the printing together); other databases are read through the ORM's
``read_sql``, which takes the same statements.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TypeVar

from ..db.lite import Executor, LiteDatabase, sqlite_path
from ..errors import DatabaseError
from ..store import Cache

T = TypeVar("T")


def read(cache: Cache, fn: Callable[[Executor], T]) -> T:
    """Run ``fn`` in one read transaction of ``cache``'s database."""
    path = sqlite_path(cache.db_url)
    if path is None:
        return cache.db.read_sql(fn)
    db = LiteDatabase(path)
    try:
        with db.read() as run:
            return fn(run)
    except sqlite3.Error as exc:
        raise DatabaseError(f"database error: {exc}") from exc
    finally:
        db.close()
