"""The metadata database through the standard library's sqlite3: the warm path's way in.

Importing SQLAlchemy costs more than a whole warm install, so the few
statements a fully cached install needs run here, in plain SQL with named
parameters, which both sqlite3 and SQLAlchemy's ``text()`` accept. Anything
else (migrations, gc, audits, storing new archives) uses the ORM.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from ..errors import DatabaseError

T = TypeVar("T")
Params = Mapping[str, Any] | Sequence[Any]

BUSY_TIMEOUT_MS = 30_000


class Executor(Protocol):
    """Runs one statement and returns its rows (an empty list when it returns none)."""

    def __call__(self, sql: str, params: Params = ..., /) -> list[tuple[Any, ...]]: ...


def sqlite_path(url: str) -> str | None:
    """The file of a ``sqlite:///path`` URL, or None for other databases."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url:
        return None
    path = url[len(prefix) :]
    return None if path in ("", ":memory:") else path


class LiteDatabase:
    """One sqlite3 connection with cachedb's pragmas; reads and IMMEDIATE writes with retry."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self._conn = sqlite3.connect(
                path,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            raise DatabaseError(f"cannot open the metadata database {path!r}: {exc}") from exc

    def close(self) -> None:
        self._conn.close()

    def _run(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, params).fetchall()

    def rows(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        """One read statement in its own implicit transaction."""
        try:
            return self._run(sql, params)
        except sqlite3.Error as exc:
            raise DatabaseError(f"database error: {exc}") from exc

    @contextmanager
    def read(self) -> Iterator[Executor]:
        """Several reads that see one snapshot."""
        self._conn.execute("BEGIN")
        try:
            yield self._run
        finally:
            self._conn.execute("COMMIT")

    def write(self, fn: Callable[[Executor], T], *, attempts: int = 8) -> T:
        """Run ``fn`` in a ``BEGIN IMMEDIATE`` transaction, retrying while the database is busy."""
        delay = 0.05
        for attempt in range(attempts):
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if not is_busy(exc) or attempt == attempts - 1:
                    raise DatabaseError(f"database error: {exc}") from exc
                delay = back_off(delay)
                continue
            try:
                result = fn(self._run)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            return result
        raise AssertionError("unreachable")


def is_busy(error: object) -> bool:
    """Whether a database error only says another writer holds the lock: worth a retry."""
    text = str(error).lower()
    return "locked" in text or "busy" in text


def back_off(delay: float) -> float:
    """Sleep about ``delay`` (jittered so retrying writers spread out); return the next delay."""
    time.sleep(delay * (1 + random.random()))
    return min(delay * 2, 1.0)
