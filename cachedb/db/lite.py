"""The metadata database through the standard library's sqlite3: the usual way in.

Importing SQLAlchemy costs more than a whole warm install, so what installs, gc
and the read-only audits need (reading and leasing entries, storing new
archives, recording installs, collecting) runs here, in plain SQL with named
parameters, which both sqlite3 and SQLAlchemy's ``text()`` accept. Migrations,
PostgreSQL has its own backend with the same interface (``db.pg``); migrations
and other databases go through SQLAlchemy.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ..errors import DatabaseError
from .urls import POSTGRESQL, backend

if TYPE_CHECKING:
    from .pg import PgDatabase

T = TypeVar("T")
Params = Mapping[str, Any] | Sequence[Any]

BUSY_TIMEOUT_MS = 30_000


class Executor(Protocol):
    """Runs one statement and returns its rows (an empty list when it returns none)."""

    def __call__(self, sql: str, params: Params = ..., /) -> list[tuple[Any, ...]]: ...


class _Runner:
    """A ``LiteDatabase``'s Executor; also runs batches (see ``insert_rows``)."""

    __slots__ = ("_conn",)
    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __call__(self, sql: str, params: Params = (), /) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, params).fetchall()

    def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)


# Rows per multi-row INSERT on other databases: far below PostgreSQL's 65535 parameters.
_CHUNK = 500


def insert_rows(
    run: Executor, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert ``rows`` (values in ``columns`` order) inside the caller's transaction.

    On sqlite3 and psycopg this is one ``executemany``; through an ORM session, multi-row
    ``VALUES`` in chunks, so a wheel's thousands of file rows stay a few statements.
    """
    if not rows:
        return
    names = ", ".join(columns)
    many = getattr(run, "many", None)
    if many is not None:
        marks = ", ".join("?" * len(columns))
        many(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)
        return
    for start in range(0, len(rows), _CHUNK):
        params: dict[str, Any] = {}
        values = []
        for i, row in enumerate(rows[start : start + _CHUNK]):
            keys = [f"v{i}_{j}" for j in range(len(columns))]
            params.update(zip(keys, row, strict=True))
            values.append("(" + ", ".join(f":{k}" for k in keys) + ")")
        run(f"INSERT INTO {table} ({names}) VALUES " + ", ".join(values), params)


def sqlite_path(url: str) -> str | None:
    """The file of a ``sqlite:///path`` URL, or None for other databases."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or "?" in url:
        return None
    path = url[len(prefix) :]
    return None if path in ("", ":memory:") else path


def plain_database(url: str) -> LiteDatabase | PgDatabase | None:
    """The database without SQLAlchemy: sqlite3 for a SQLite file, psycopg for PostgreSQL."""
    path = sqlite_path(url)
    if path is not None:
        return LiteDatabase(path)
    if backend(url) == POSTGRESQL:
        from .pg import PgDatabase

        return PgDatabase(url)
    return None


class LiteDatabase:
    """One sqlite3 connection with cachedb's pragmas; reads and IMMEDIATE writes with retry.

    Threads share the connection (wheels are stored from two threads), so one
    transaction at a time runs on it; SQLite lets only one writer in anyway.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
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
            # Statement journals and sorts past their memory share would otherwise spill
            # to a file in /var/tmp: nothing outside the cache is written.
            self._conn.execute("PRAGMA temp_store = MEMORY")
            # A cold install stores ~1100 pages in one transaction: with the default 2 MiB
            # cache, dirty pages spill to the WAL mid-transaction and are written again. The
            # cache grows only as pages are used.
            self._conn.execute("PRAGMA cache_size = -8192")
        except sqlite3.Error as exc:
            raise DatabaseError(f"cannot open the metadata database {path!r}: {exc}") from exc
        self._run = _Runner(self._conn)

    def close(self) -> None:
        self._conn.close()

    def rows(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        """One read statement in its own implicit transaction."""
        try:
            with self._lock:
                return self._run(sql, params)
        except sqlite3.Error as exc:
            raise DatabaseError(f"database error: {exc}") from exc

    def read_sql(self, fn: Callable[[Executor], T]) -> T:
        """Run ``fn`` in one read transaction."""
        try:
            with self.read() as run:
                return fn(run)
        except sqlite3.Error as exc:
            raise DatabaseError(f"database error: {exc}") from exc

    @contextmanager
    def read(self) -> Iterator[Executor]:
        """Several reads that see one snapshot."""
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                yield self._run
            finally:
                self._conn.execute("COMMIT")

    def write(self, fn: Callable[[Executor], T], *, attempts: int = 8) -> T:
        """Run ``fn`` in a ``BEGIN IMMEDIATE`` transaction, retrying while the database is busy.

        ``fn`` may run more than once, so it must only touch the database.
        """
        delay = 0.05
        for attempt in range(attempts):
            with self._lock:
                try:
                    return self._transaction(fn)
                except sqlite3.OperationalError as exc:
                    if not is_busy(exc) or attempt == attempts - 1:
                        raise DatabaseError(f"database error: {exc}") from exc
                except sqlite3.Error as exc:
                    # A full disk or a broken file mid-transaction: one line, like db.pg.
                    raise DatabaseError(f"database error: {exc}") from exc
            delay = back_off(delay)  # without the lock, so the other thread gets on meanwhile
        raise AssertionError("unreachable")

    def _transaction(self, fn: Callable[[Executor], T]) -> T:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(self._run)
            self._conn.execute("COMMIT")
        except BaseException:
            # SQLite may have rolled back already (a full disk, an interrupted statement).
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        return result


def is_busy(error: object) -> bool:
    """Whether a database error only says another writer holds the lock: worth a retry."""
    text = str(error).lower()
    return "locked" in text or "busy" in text


def back_off(delay: float) -> float:
    """Sleep about ``delay`` (jittered so retrying writers spread out); return the next delay."""
    import random  # only when contended: not worth loading on every run

    time.sleep(delay * (1 + random.random()))
    return min(delay * 2, 1.0)
