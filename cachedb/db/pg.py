"""The metadata database on PostgreSQL, through psycopg 3 directly.

The same interface as ``db.lite.LiteDatabase`` (``rows``, ``read_sql``, ``write``),
so every statement of the store, gc and the audits is written once, in SQL both
accept, with named ``:name`` parameters; this module turns them into psycopg's
``%(name)s``. What differs between the backends (row locks, advisory locks)
comes from ``db.dialect``.

Writes run READ COMMITTED; every check-then-act transaction locks what it
reads (``db.dialect``). A transaction PostgreSQL aborts as a deadlock (40P01)
or a serialization failure (40001) is run again; any other database error is
one line (``DatabaseError``).
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import DatabaseError
from .lite import Executor, Params, back_off
from .urls import POSTGRESQL, libpq_url, redacted

if TYPE_CHECKING:
    import psycopg

T = TypeVar("T")

# SQLSTATEs after which the whole transaction may simply run again.
RETRYABLE = frozenset({"40001", "40P01"})
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|(?<![:\w]):([A-Za-z_]\w*)|%|\?")


@functools.lru_cache(maxsize=512)
def to_pyformat(sql: str) -> str:
    """``sql`` with ``:name`` as ``%(name)s`` and ``?`` as ``%s`` (quoted text left alone)."""

    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        if match.group(1) is not None:
            return f"%({match.group(1)})s"
        if token == "%":
            return "%%"
        if token == "?":
            return "%s"
        return token

    return _TOKENS.sub(swap, sql)


def one_line(exc: BaseException) -> str:
    """A database error as one line: PostgreSQL's primary message (and its SQLSTATE)."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    text = str(primary or exc).strip().splitlines()
    state = getattr(exc, "sqlstate", None)
    first = text[0] if text else type(exc).__name__
    return f"{first} (SQLSTATE {state})" if state else first


def sqlite_like_numbers(conn: psycopg.Connection[Any]) -> None:
    """Load NUMERIC values as SQLite gives them: whole ones as ``int``, others as ``float``.

    PostgreSQL's ``sum()`` and ``avg()`` of integers are NUMERIC, which psycopg
    loads as ``Decimal``; the same statement on SQLite gives an ``int``, and the
    callers (JSON output, sizes) are written for that.
    """
    from decimal import Decimal

    from psycopg.types.numeric import NumericLoader

    class Loader(NumericLoader):
        def load(self, data: Any) -> Any:
            value: Decimal = super().load(data)
            if value.is_finite() and value == value.to_integral_value():
                return int(value)
            return float(value)

    conn.adapters.register_loader("numeric", Loader)


class _Runner:
    """A ``PgDatabase``'s Executor (see ``db.lite.Executor``)."""

    __slots__ = ("_conn",)
    dialect = POSTGRESQL

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def __call__(self, sql: str, params: Params = (), /) -> list[tuple[Any, ...]]:
        cursor = self._conn.execute(to_pyformat(sql), params or None)
        return cursor.fetchall() if cursor.description is not None else []

    def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self._conn.cursor() as cursor:
            cursor.executemany(to_pyformat(sql), rows)


class PgDatabase:
    """One psycopg connection; reads and locking write transactions with retry.

    Threads share the connection (wheels are stored from two threads), so one
    transaction at a time runs on it.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        try:
            import psycopg
        except ImportError as exc:
            raise DatabaseError(
                "PostgreSQL needs psycopg: pip install 'cachedb[postgres]'"
            ) from exc
        self._errors = psycopg
        try:
            self._conn = psycopg.connect(libpq_url(url), autocommit=True)
        except psycopg.Error as exc:
            raise DatabaseError(
                f"cannot open the metadata database {redacted(url)}: {one_line(exc)}"
            ) from exc
        sqlite_like_numbers(self._conn)
        self._run = _Runner(self._conn)

    def close(self) -> None:
        self._conn.close()

    def rows(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        """One statement in its own transaction."""
        with self._lock, self._failing():
            return self._run(sql, params)

    @contextmanager
    def read(self) -> Iterator[Executor]:
        """Several reads that see one snapshot."""
        with self._lock, self._failing(), self._conn.transaction():
            self._conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield self._run

    def read_sql(self, fn: Callable[[Executor], T]) -> T:
        with self.read() as run:
            return fn(run)

    def write(self, fn: Callable[[Executor], T], *, attempts: int = 8) -> T:
        """Run ``fn`` in one transaction; again after a deadlock or serialization failure.

        ``fn`` may run more than once, so it must only touch the database.
        """
        delay = 0.05
        for attempt in range(attempts):
            with self._lock:
                try:
                    with self._conn.transaction():
                        return fn(self._run)
                except self._errors.Error as exc:
                    if exc.sqlstate not in RETRYABLE or attempt == attempts - 1:
                        raise DatabaseError(f"database error: {one_line(exc)}") from exc
            delay = back_off(delay)
        raise AssertionError("unreachable")

    @contextmanager
    def _failing(self) -> Iterator[None]:
        try:
            yield
        except self._errors.Error as exc:
            raise DatabaseError(f"database error: {one_line(exc)}") from exc
