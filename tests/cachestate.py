"""Snapshots of a cache directory and its database, to prove that nothing changed."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path
from typing import Any

TABLES = ("archives", "archive_files", "pointers", "environments", "installs", "events", "leases")
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def listing(root: Path) -> dict[str, str]:
    """Every entry under ``root``: files with their sha256, links with their target, dirs."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if rel.endswith(_SQLITE_SIDE_FILES) or rel.startswith("locks/"):
                continue
            if path.is_symlink():
                out[rel] = "link:" + os.readlink(path)
            elif path.is_dir():
                out[rel] = "dir"
            elif rel.endswith(".sqlite3"):
                out[rel] = "db"  # compared by rows instead: WAL checkpoints move bytes around
            else:
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
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


def rows(cache_dir: Path) -> dict[str, list[tuple[object, ...]]]:
    conn = connect(cache_dir)
    try:
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES}
    finally:
        conn.close()


def snapshot(root: Path) -> tuple[dict[str, str], dict[str, list[tuple[object, ...]]]]:
    return listing(root), rows(root)
