"""Snapshots of a cache directory and its database, to prove that nothing changed.

``snapshot(cache_dir)`` is the one cache-state helper of the tests (the chaos
suites' too); ``listing(root)`` is the one walk of a directory tree, for caches
and environments alike.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

TABLES = ("archives", "archive_files", "pointers", "environments", "installs", "events", "leases")
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
# An environment's lock file (as uv's) stays once made; it holds nothing.
ENV_LOCK = ".lock"
# simple-v0 caches index pages, interpreters-v0 interpreter queries, locks/ holds lock
# files: none of them registers anything.
CACHES = ("simple-v0", "interpreters-v0", "locks")


class CacheState(NamedTuple):
    """The parts of a cache a refused command must leave exactly as they were."""

    files: dict[str, str]
    rows: dict[str, list[tuple[object, ...]]]


def listing(root: Path, *, bytecode: bool = True, mtimes: bool = False) -> dict[str, str]:
    """Every entry under ``root``: files with their sha256, links with their target, dirs.

    Left out: lock files (``locks/``, an environment's ``.lock``), SQLite's side
    files, and with ``bytecode=False`` every ``__pycache__``. With ``mtimes``,
    files and directories carry their modification time too (a dry run must
    not even touch one). Nothing for a ``root`` that does not exist.
    """
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if rel.endswith(_SQLITE_SIDE_FILES) or rel == ENV_LOCK:
                continue
            if rel.startswith("locks/"):
                continue
            if not bytecode and "__pycache__" in rel.split("/"):
                continue
            if path.is_symlink():
                out[rel] = "link:" + os.readlink(path)
                continue
            if path.is_dir():
                out[rel] = "dir"
            elif rel.endswith(".sqlite3"):
                out[rel] = "db"  # compared by rows instead: WAL checkpoints move bytes around
                continue
            else:
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
            if mtimes:
                out[rel] += f" {path.stat().st_mtime_ns}"
    return out


def connect(cache_dir: Path) -> Any:
    """A DB-API connection to the cache's database: ``CACHEDB_DB_URL`` if set, else its SQLite.

    Tests write their statements once, in sqlite3's style (``?`` or ``:name``
    parameters); on PostgreSQL they are turned into psycopg's, and each statement
    commits (as ``with sqlite3_conn:`` blocks do).
    """
    url = os.environ.get("CACHEDB_DB_URL")
    if url:
        return PgConnection(url)
    return sqlite3.connect(cache_dir / "cachedb.sqlite3")


class PgConnection:
    """The part of sqlite3's connection the tests use, on psycopg (autocommit)."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)

    def execute(self, sql: str, params: Any = ()) -> Any:
        from cachedb.db.pg import to_pyformat

        return self.conn.execute(to_pyformat(sql), params or None)

    def executemany(self, sql: str, rows: Any) -> None:
        from cachedb.db.pg import to_pyformat

        with self.conn.cursor() as cursor:
            cursor.executemany(to_pyformat(sql), rows)

    def commit(self) -> None:
        pass

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> PgConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        pass  # as sqlite3's: the block commits, the connection stays open


def rows(
    cache_dir: Path, tables: Sequence[str] | None = TABLES
) -> dict[str, list[tuple[object, ...]]]:
    """The rows of ``tables`` (None: every table of the database), each table's sorted."""
    conn = connect(cache_dir)
    try:
        if tables is None:
            if isinstance(conn, sqlite3.Connection):
                listed = "SELECT name FROM sqlite_master WHERE type = 'table'"
            else:
                listed = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            tables = [str(r[0]) for r in conn.execute(listed).fetchall()]
        return {
            t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables
        }
    finally:
        conn.close()


def snapshot(
    cache_dir: Path,
    *,
    caches: bool = True,
    mtimes: bool = False,
    tables: Sequence[str] | None = TABLES,
) -> CacheState:
    """The cache's files (``listing``) and its database's rows (``rows``).

    ``caches=False`` leaves out the HTTP and interpreter caches and the lock
    directory, which a refused command may still fill (it asked an index, or the
    interpreter, or took a lock first).
    """
    files = listing(cache_dir, mtimes=mtimes)
    if not caches:
        files = {k: v for k, v in files.items() if k.split("/", 1)[0] not in CACHES}
    return CacheState(files, rows(cache_dir, tables))
