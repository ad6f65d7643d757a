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

import math
from typing import Any

from ..db.pg import one_line
from ..db.urls import libpq_url
from ..errors import CachedbError, DatabaseError, UsageError
from .sql import Interrupted, ReadOnlyViolation, Result

# Seconds a query may run before the server cancels it.
DEFAULT_TIMEOUT = 300.0


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
        """Run one statement and fetch at most ``limit`` rows.

        ``timeout`` (seconds; ``DEFAULT_TIMEOUT`` when None) becomes the
        transaction's ``statement_timeout``: the server cancels the query then.
        """
        if not sql.strip():
            raise UsageError("the query is empty")
        errors = self._psycopg.errors
        try:
            self._conn.execute("SET TRANSACTION READ ONLY")
            seconds = self.timeout if timeout is None else timeout
            milliseconds = str(max(1, math.ceil(seconds * 1000)))
            self._conn.execute("SELECT set_config('statement_timeout', %s, true)", (milliseconds,))
            # Prepared: exactly one statement, whatever the text holds after a ';'.
            cursor = self._conn.execute(sql.strip().rstrip(";"), prepare=True)
            columns = [d.name for d in cursor.description or ()]
            if cursor.description is None:
                rows: list[tuple[Any, ...]] = []
            elif limit is None:
                rows = cursor.fetchall()
            else:
                rows = cursor.fetchmany(limit) if limit > 0 else []
        except KeyboardInterrupt:
            # psycopg has asked the server to cancel the query already.
            raise Interrupted("interrupted") from None
        except errors.ReadOnlySqlTransaction as exc:
            raise ReadOnlyViolation(f"refused: cachedb sql is read-only ({one_line(exc)})") from exc
        except errors.QueryCanceled as exc:
            raise CachedbError(f"query timed out after {seconds:g}s") from exc
        except self._psycopg.Error as exc:
            raise UsageError(f"SQL error: {one_line(exc)}") from exc
        finally:
            if not self._conn.closed:
                self._conn.rollback()
        return Result(columns, iter([tuple(_plain(v) for v in row) for row in rows]))


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
