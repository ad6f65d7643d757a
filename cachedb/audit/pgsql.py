"""Read-only SQL over a PostgreSQL metadata database: ``cachedb sql`` there.

The server enforces it: the session starts with ``default_transaction_read_only``
on, the query runs in a transaction begun ``SET TRANSACTION READ ONLY`` and is
rolled back afterwards, and it is sent as one prepared statement, so a second
statement hidden after a ``;`` (``COMMIT; DROP ...``) is refused by the server
rather than run. ``statement_timeout`` bounds it. The audit functions and views
are the database's own (migrations 0002 and 0004), so the documented queries
run as they do on SQLite.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import re
from collections.abc import Iterator
from typing import Any

from ..db.pg import one_line
from ..db.urls import libpq_url
from ..errors import CachedbError, DatabaseError, UsageError
from .sql import Interrupted, ReadOnlyViolation, Result

# Seconds a query may run before the server cancels it.
DEFAULT_TIMEOUT = 300.0
# Rows fetched from the server-side cursor at a time.
_BATCH = 1000
# Statements a cursor can be declared for (comments and parentheses may come first).
_QUERY = re.compile(r"(?:\s|--[^\n]*\n|/\*.*?\*/|\()*(?:select|with|values|table)\b", re.I | re.S)


class ReadOnlyPgDatabase:
    """One read-only session on the database (the interface of ``sql.ReadOnlyDatabase``)."""

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        try:
            import psycopg
        except ImportError as exc:
            raise DatabaseError(
                "PostgreSQL needs psycopg: pip install 'cachedb[postgres]'"
            ) from exc
        self._psycopg = psycopg
        self.timeout = timeout
        try:
            self._conn: Any = psycopg.connect(
                libpq_url(url), options="-c default_transaction_read_only=on"
            )
        except psycopg.Error as exc:
            from .._redact import redact_url

            raise DatabaseError(
                f"cannot open the metadata database {redact_url(url)!r}: {one_line(exc)}"
            ) from exc

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ReadOnlyPgDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def query(self, sql: str, *, limit: int | None = None, timeout: float | None = None) -> Result:
        """Run one statement; its rows (at most ``limit``) are fetched as they are read.

        A query (``SELECT``, ``WITH``, ``VALUES``, ``TABLE``) runs through a
        server-side cursor, read a batch at a time, so a huge result never sits
        in memory and ``limit`` reads no further than it shows; anything else
        (``EXPLAIN``, ``SHOW``) runs as one prepared statement. ``timeout``
        (seconds; ``DEFAULT_TIMEOUT`` when None) becomes the transaction's
        ``statement_timeout``: the server cancels the query then.
        """
        if not sql.strip():
            raise UsageError("the query is empty")
        seconds = self.timeout if timeout is None else timeout
        statement = sql.strip().rstrip(";")
        try:
            self._conn.execute("SET TRANSACTION READ ONLY")
            milliseconds = str(max(1, math.ceil(seconds * 1000)))
            self._conn.execute("SELECT set_config('statement_timeout', %s, true)", (milliseconds,))
            if _QUERY.match(statement):
                # DECLARE goes by the extended protocol: exactly one statement, as prepared.
                cursor = self._conn.cursor(name="cachedb_sql")
                cursor.execute(statement)
            else:
                # Prepared: exactly one statement, whatever the text holds after a ';'.
                cursor = self._conn.execute(statement, prepare=True)
            columns = [d.name for d in cursor.description or ()]
            wanted = cursor.description is not None and (limit is None or limit > 0)
            first = cursor.fetchmany(_BATCH) if wanted else []
        except BaseException as exc:
            self._end()
            raise self._error(exc, seconds) from exc
        rows = self._stream(cursor, first, seconds) if first else self._done(cursor)
        return Result(columns, rows if limit is None else itertools.islice(rows, limit))

    def _stream(
        self, cursor: Any, batch: list[tuple[Any, ...]], seconds: float
    ) -> Iterator[tuple[Any, ...]]:
        try:
            while batch:
                yield from (tuple(_plain(v) for v in row) for row in batch)
                try:
                    batch = cursor.fetchmany(_BATCH)
                except BaseException as exc:
                    raise self._error(exc, seconds) from exc
        finally:
            self._end()

    def _done(self, cursor: Any) -> Iterator[tuple[Any, ...]]:
        self._end()
        yield from ()

    def _end(self) -> None:
        """Close the cursor (if any) and roll the read-only transaction back."""
        if not self._conn.closed:
            with contextlib.suppress(self._psycopg.Error):
                self._conn.rollback()

    def _error(self, exc: BaseException, seconds: float) -> BaseException:
        errors = self._psycopg.errors
        if isinstance(exc, KeyboardInterrupt):
            # psycopg has asked the server to cancel the query already.
            return Interrupted("interrupted")
        if isinstance(exc, errors.ReadOnlySqlTransaction):
            return ReadOnlyViolation(f"refused: cachedb sql is read-only ({one_line(exc)})")
        if isinstance(exc, errors.QueryCanceled):
            return CachedbError(f"query timed out after {seconds:g}s")
        if isinstance(exc, self._psycopg.Error):
            return UsageError(f"SQL error: {one_line(exc)}")
        return exc


def _plain(value: Any) -> Any:
    """Values as the output formats take them (numbers from NUMERIC, text from the rest)."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str | int | float | bytes | None):
        return value
    if isinstance(value, memoryview):
        return bytes(value)
    return str(value)
