"""Read-only SQL over the metadata database, enforced by SQLite rather than by parsing.

Three independent locks: the file is opened with ``mode=ro``, ``query_only`` is
on, and an authorizer refuses every action that is not reading (writes, schema
changes, ATTACH, transactions, writable pragmas, ``load_extension``). VACUUM is
refused too, because it is carried out as an internal ATTACH. Python's sqlite3
is used directly so nothing (no migration, no pragma set-up) touches the file.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ..errors import DatabaseError, UsageError
from . import functions


class ReadOnlyViolation(UsageError):
    """A query tried to change the database (or escape it); ``cachedb sql`` is read-only."""


# Pragmas that only report and have no setter form, so their argument is harmless.
_INTROSPECTION_PRAGMAS = frozenset(
    {
        "table_info",
        "table_xinfo",
        "table_list",
        "index_list",
        "index_info",
        "index_xinfo",
        "foreign_key_list",
        "database_list",
        "collation_list",
        "function_list",
        "module_list",
        "pragma_list",
        "compile_options",
    }
)
# Pragmas that may be read but never assigned.
_READABLE_PRAGMAS = frozenset(
    {
        "user_version",
        "schema_version",
        "application_id",
        "journal_mode",
        "page_size",
        "page_count",
        "freelist_count",
        "encoding",
        "foreign_keys",
        "data_version",
        "query_only",
        "integrity_check",
        "quick_check",
        "foreign_key_check",
    }
)
# Functions that reach outside the database or alter the engine.
_DENIED_FUNCTIONS = frozenset({"load_extension", "fts3_tokenizer", "readfile", "writefile", "edit"})
_ALLOWED_ACTIONS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE})

_LABELS = {
    sqlite3.SQLITE_INSERT: "INSERT into {0}",
    sqlite3.SQLITE_UPDATE: "UPDATE of {0}",
    sqlite3.SQLITE_DELETE: "DELETE from {0}",
    sqlite3.SQLITE_ATTACH: "ATTACH or VACUUM",
    sqlite3.SQLITE_DETACH: "DETACH",
    sqlite3.SQLITE_TRANSACTION: "transaction control ({0})",
    sqlite3.SQLITE_SAVEPOINT: "SAVEPOINT",
    sqlite3.SQLITE_ALTER_TABLE: "ALTER TABLE {1}",
    sqlite3.SQLITE_ANALYZE: "ANALYZE",
    sqlite3.SQLITE_REINDEX: "REINDEX",
    sqlite3.SQLITE_CREATE_VTABLE: "CREATE VIRTUAL TABLE {0}",
    sqlite3.SQLITE_DROP_VTABLE: "DROP VIRTUAL TABLE {0}",
    **{
        value: name.removeprefix("SQLITE_").replace("_", " ") + " {0}"
        for name, value in vars(sqlite3).items()
        if name.startswith(("SQLITE_CREATE_", "SQLITE_DROP_")) and "VTABLE" not in name
    },
}
_SCHEMA_TABLES = ("sqlite_master", "sqlite_temp_master", "sqlite_schema")
_WRITES = (sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE)


def _describe(action: int, arg1: str | None, arg2: str | None) -> str:
    if action == sqlite3.SQLITE_PRAGMA:
        return f"PRAGMA {arg1}" + (f" = {arg2}" if arg2 is not None else "")
    if action == sqlite3.SQLITE_FUNCTION:
        return f"function {arg2}()"
    if arg1 in _SCHEMA_TABLES and action in _WRITES:
        return "a schema change (CREATE, DROP or ALTER)"
    if action in _LABELS:
        return _LABELS[action].format(arg1, arg2)
    return f"action {action}"


class Authorizer:
    """The sqlite3 authorizer: allow reading, deny everything else, and remember what was denied."""

    def __init__(self) -> None:
        self.refused: list[str] = []

    def reason(self) -> str | None:
        """What was refused, preferring the user's statement over SQLite's own schema writes."""
        for what in self.refused:
            if not what.startswith("a schema change"):
                return what
        return self.refused[0] if self.refused else None

    def __call__(
        self, action: int, arg1: str | None, arg2: str | None, _db: str | None, _trig: str | None
    ) -> int:
        if action in _ALLOWED_ACTIONS:
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION:
            if (arg2 or "").lower() not in _DENIED_FUNCTIONS:
                return sqlite3.SQLITE_OK
        elif action == sqlite3.SQLITE_PRAGMA:
            name = (arg1 or "").lower()
            if name in _INTROSPECTION_PRAGMAS or (name in _READABLE_PRAGMAS and arg2 is None):
                return sqlite3.SQLITE_OK
        self.refused.append(_describe(action, arg1, arg2))
        return sqlite3.SQLITE_DENY


def sqlite_path(url: str) -> Path:
    """The database file of an SQLite URL; other databases are not supported by ``cachedb sql``."""
    from ..db.lite import sqlite_path as plain_sqlite_path

    plain = plain_sqlite_path(url)
    if plain is not None:
        # The common case, answered without importing SQLAlchemy.
        return Path(plain).expanduser().absolute()
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UsageError(f"invalid database URL: {exc}") from exc
    if parsed.get_backend_name() != "sqlite":
        raise UsageError(
            f"cachedb sql supports only SQLite and PostgreSQL, not {parsed.get_backend_name()!r}; "
            "use that database's own client"
        )
    if not parsed.database or parsed.database == ":memory:":
        raise UsageError("cachedb sql needs an SQLite database file, not an in-memory database")
    return Path(parsed.database).expanduser().absolute()


@dataclass(frozen=True)
class Result:
    columns: list[str]
    rows: list[tuple[Any, ...]]


class ReadOnlyDatabase:
    """One read-only connection to the metadata database, with the audit functions installed."""

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise DatabaseError(f"no metadata database at {str(path)!r} (nothing cached yet?)")
        self.path = path
        self._authorizer = Authorizer()
        try:
            conn = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True, isolation_level=None)
            conn.execute("PRAGMA query_only = ON")
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA schema_version").fetchone()  # fail now on a non-database file
        except sqlite3.DatabaseError as exc:
            raise DatabaseError(f"cannot open the metadata database {str(path)!r}: {exc}") from exc
        # Defence in depth: even a case the authorizer missed cannot attach another file.
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        conn.set_authorizer(self._authorizer)
        functions.register(conn)
        self._conn = conn

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ReadOnlyDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def query(self, sql: str, *, limit: int | None = None) -> Result:
        """Run one statement and fetch at most ``limit`` rows."""
        if not sql.strip():
            raise UsageError("the query is empty")
        self._authorizer.refused.clear()
        try:
            cursor = self._conn.execute(sql)
            if limit is None:
                rows = cursor.fetchall()
            else:
                rows = cursor.fetchmany(limit) if limit > 0 else []
        except sqlite3.ProgrammingError as exc:  # e.g. more than one statement
            raise UsageError(f"SQL error: {exc}") from exc
        except sqlite3.Error as exc:
            reason = self._authorizer.reason()
            if reason or "readonly" in str(exc) or "not authorized" in str(exc):
                what = reason or str(exc)
                raise ReadOnlyViolation(f"refused: cachedb sql is read-only ({what})") from exc
            raise UsageError(f"SQL error: {exc}") from exc
        columns = [d[0] for d in cursor.description or ()]
        cursor.close()
        return Result(columns, rows)


def read_query(query: str | None, file: Path | None, stdin: TextIO | None) -> str:
    """The query text from the argument, ``--file``, or standard input (``-`` or absent)."""
    if file is not None:
        if query not in (None, "-"):
            raise UsageError("give the query either as an argument or with --file, not both")
        try:
            return file.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read {str(file)!r}: {exc.strerror}") from exc
    if query is not None and query != "-":
        return query
    if stdin is None or stdin.isatty():
        raise UsageError("no query: give one as an argument, with --file, or on standard input")
    return stdin.read()
