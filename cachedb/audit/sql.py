"""Read-only SQL over the metadata database, enforced by SQLite rather than by parsing.

Three independent locks: the file is opened with ``mode=ro``, ``query_only`` is
on, and an authorizer refuses every action that is not reading (writes, schema
changes, ATTACH, transactions, writable pragmas, ``load_extension``). VACUUM is
refused too, because it is carried out as an internal ATTACH. Python's sqlite3
is used directly so nothing (no migration, no pragma set-up) touches the file.
"""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from ..db.lite import sqlite_path
from ..errors import CachedbError, DatabaseError, UsageError
from . import functions


class ReadOnlyViolation(UsageError):
    """A query tried to change the database (or escape it); ``cachedb sql`` is read-only."""


class Interrupted(CachedbError):
    """Ctrl-C stopped the query; the exit status a shell gives SIGINT."""

    exit_code = 130


# SQLite virtual-machine steps between two looks at Ctrl-C and the deadline.
_PROGRESS_STEPS = 10_000
# Rows fetched at once while streaming.
_BATCH = 500


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
        self.denied = False  # whether anything was actually refused

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
        if action == sqlite3.SQLITE_UPDATE and arg1 in _SCHEMA_TABLES:
            # SQLite asks this of its own when a table-valued pragma (pragma_table_info())
            # is set up; a real schema write still fails (mode=ro, query_only, and no
            # writable_schema): it is named as such if the statement then fails.
            self.refused.append(_describe(action, arg1, arg2))
            return sqlite3.SQLITE_OK
        if action == sqlite3.SQLITE_FUNCTION:
            if (arg2 or "").lower() not in _DENIED_FUNCTIONS:
                return sqlite3.SQLITE_OK
        elif action == sqlite3.SQLITE_PRAGMA:
            name = (arg1 or "").lower()
            if name in _INTROSPECTION_PRAGMAS or (name in _READABLE_PRAGMAS and arg2 is None):
                return sqlite3.SQLITE_OK
        self.refused.append(_describe(action, arg1, arg2))
        self.denied = True
        return sqlite3.SQLITE_DENY


def database_file(url: str) -> Path:
    """The file ``cachedb sql`` opens for an SQLite URL; any other database is refused.

    A plain ``sqlite:///path`` is ``db.lite.sqlite_path``'s (the one reading of it);
    other spellings (a driver, a query) are SQLAlchemy's.
    """
    plain = sqlite_path(url)
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
    rows: Iterator[tuple[Any, ...]]  # streamed from the database: iterate inside the ``with``


def _sidecars(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in ("-wal", "-shm")]


class ReadOnlyDatabase:
    """One read-only connection to the metadata database, with the audit functions installed.

    Used as a context manager, Ctrl-C stops a running query (SIGINT interrupts the
    connection instead of waiting for SQLite to return), and the ``-wal``/``-shm``
    files a read-only connection to a WAL database makes are not left behind.
    """

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise DatabaseError(f"no metadata database at {str(path)!r} (nothing cached yet?)")
        self.path = path
        self._authorizer = Authorizer()
        self._interrupted = False
        self._deadline: float | None = None
        self._timeout: float | None = None
        self._previous_handler: Any = None
        # No -wal or -shm: no connection is open and nothing waits to be checkpointed.
        self._quiet = not any(p.exists() for p in _sidecars(path))
        # Ctrl-C is ours from before the database opens: one pressed before the query
        # starts stops it as the progress handler's first question (not a silent exit).
        if threading.current_thread() is threading.main_thread():
            self._previous_handler = signal.signal(signal.SIGINT, self._on_sigint)
        try:
            self._conn = self._open(path)
        except BaseException:
            self._restore_handler()
            raise
        from .._pause import point

        point("sql-opened")

    def _open(self, path: Path) -> sqlite3.Connection:
        uri = path.as_uri() + "?mode=ro"
        if self._quiet and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
            # A cache we may not write: nobody changes it under us, and SQLite need not
            # create the -shm file it could not anyway.
            uri += "&immutable=1"
        try:
            conn = sqlite3.connect(uri, uri=True, isolation_level=None)
            conn.execute("PRAGMA query_only = ON")
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA schema_version").fetchone()  # fail now on a non-database file
        except sqlite3.DatabaseError as exc:
            raise DatabaseError(f"cannot open the metadata database {str(path)!r}: {exc}") from exc
        # Defence in depth: even a case the authorizer missed cannot attach another file.
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        conn.set_authorizer(self._authorizer)
        conn.set_progress_handler(self._should_stop, _PROGRESS_STEPS)
        functions.register(conn)
        return conn

    def close(self) -> None:
        self._conn.close()
        if self._quiet:
            self._remove_sidecars()

    def _remove_sidecars(self) -> None:
        """Let SQLite remove the -wal/-shm files this connection made, if no other uses them.

        A read-only connection cannot; a read-write one that closes last checkpoints
        (nothing was written: a no-op) and deletes both, and SQLite's locks make sure
        it is the last. It writes nothing else.
        """
        if not any(p.exists() for p in _sidecars(self.path)):
            return
        try:
            cleaner = sqlite3.connect(self.path.as_uri() + "?mode=rw", uri=True)
            try:
                cleaner.execute("PRAGMA schema_version").fetchone()
            finally:
                cleaner.close()
        except sqlite3.Error:
            pass  # a reader of a cache it cannot write: the files stay, as SQLite wants

    def __enter__(self) -> ReadOnlyDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self._restore_handler()
        self.close()

    def _restore_handler(self) -> None:
        if self._previous_handler is not None:
            signal.signal(signal.SIGINT, self._previous_handler)
            self._previous_handler = None

    def _on_sigint(self, _signum: int, _frame: FrameType | None) -> None:
        self._interrupted = True
        conn = getattr(self, "_conn", None)  # None while the database is being opened
        if conn is not None:
            conn.interrupt()

    def _should_stop(self) -> int:
        if self._interrupted:
            return 1
        return int(self._deadline is not None and time.monotonic() > self._deadline)

    def query(self, sql: str, *, limit: int | None = None, timeout: float | None = None) -> Result:
        """Run one statement; its rows (at most ``limit``) are fetched as they are read.

        ``timeout`` (seconds) bounds the whole run, reading included.
        """
        if not sql.strip():
            raise UsageError("the query is empty")
        self._authorizer.refused.clear()
        self._authorizer.denied = False
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._timeout = timeout
        try:
            cursor = self._conn.execute(sql)
            first = cursor.fetchmany(_BATCH) if limit is None or limit > 0 else []
        except sqlite3.ProgrammingError as exc:  # e.g. more than one statement
            raise UsageError(f"SQL error: {exc}") from exc
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        columns = [d[0] for d in cursor.description or ()]
        rows = self._stream(cursor, first)
        return Result(columns, rows if limit is None else itertools.islice(rows, limit))

    def _stream(
        self, cursor: sqlite3.Cursor, batch: list[tuple[Any, ...]]
    ) -> Iterator[tuple[Any, ...]]:
        try:
            while batch:
                yield from batch
                if self._interrupted:
                    raise Interrupted("interrupted")
                try:
                    batch = cursor.fetchmany(_BATCH)
                except sqlite3.Error as exc:
                    raise self._error(exc) from exc
        finally:
            cursor.close()

    def _error(self, exc: sqlite3.Error) -> CachedbError:
        if self._interrupted:
            return Interrupted("interrupted")
        if self._deadline is not None and time.monotonic() > self._deadline:
            return CachedbError(f"query timed out after {self._timeout:g}s")
        message = str(exc)
        if self._authorizer.denied or any(
            words in message for words in ("readonly", "not authorized", "may not be modified")
        ):
            what = self._authorizer.reason() or message
            return ReadOnlyViolation(f"refused: cachedb sql is read-only ({what})")
        return UsageError(f"SQL error: {exc}")


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
