"""Bring a database to the newest schema revision when cachedb opens it.

The warm path only reads ``alembic_version`` with plain SQL. A new SQLite
database is created from ``schema.sql`` with sqlite3 alone (see ``db.schema``);
Alembic itself is imported only when an existing database needs an upgrade, or
for other databases.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DatabaseError
from .lite import BUSY_TIMEOUT_MS, sqlite_path
from .urls import POSTGRESQL, backend

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from .engine import Database

# Every revision this cachedb knows, oldest first. tests/test_migrations.py checks
# this against the scripts under alembic/versions.
REVISIONS: tuple[str, ...] = ("0001", "0002", "0003", "0004", "0005", "0006")
HEAD = REVISIONS[-1]


def script_location() -> str:
    """The directory holding env.py and versions/, whether installed or in a checkout."""
    from importlib.util import find_spec

    spec = find_spec("cachedb._alembic")
    if spec is not None and spec.submodule_search_locations:
        return str(next(iter(spec.submodule_search_locations)))
    return str(Path(__file__).resolve().parents[2] / "alembic")


def current_revision(db: Database) -> str | None:
    from sqlalchemy import inspect, text
    from sqlalchemy.exc import OperationalError

    try:
        with db.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
            return None if row is None else str(row[0])
    except OperationalError as exc:
        raise DatabaseError(f"cannot read the metadata database {db.url!r}: {exc.orig}") from exc


def check_revision(revision: str | None) -> bool:
    """True when ``revision`` is the head; raises when it is newer than this cachedb."""
    if revision == HEAD:
        return True
    if revision is not None and revision not in REVISIONS:
        raise DatabaseError(
            f"the cache database is at schema revision {revision!r}, newer than this "
            f"cachedb understands (newest known: {HEAD!r}); upgrade cachedb to use it"
        )
    return False


@contextmanager
def _migrate_lock(lock_path: Path | None) -> Iterator[None]:
    """The file lock held while a database is created or upgraded, so one process does it.

    The ``flock`` FileLock would take, taken directly where possible (``_flock``).
    """
    if lock_path is None:
        yield
        return
    from .._flock import file_lock

    with file_lock(lock_path):
        yield


# The key of the PostgreSQL advisory lock held while a database is created or upgraded
# (any constant; this one spells "cachedb" in ASCII).
PG_MIGRATE_LOCK = 0x63616368656462


def upgrade(db: Database, lock_path: Path | None) -> None:
    """Upgrade the database to HEAD, so that only one process migrates at a time.

    Processes sharing a cache directory hold ``lock_path``; on PostgreSQL, where
    processes on other machines may share the database, the migrating
    transaction also holds an advisory lock, and reads the revision again
    once it has it.
    """
    from sqlalchemy import text

    with _migrate_lock(lock_path), db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATE_LOCK})
        # Another process may have finished the upgrade while we waited.
        if check_revision(_revision_on(conn)):
            return
        from alembic.config import Config

        from alembic import command

        cfg = Config()
        cfg.set_main_option("script_location", script_location())
        cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
        cfg.attributes["connection_url"] = db.url
        os.environ.setdefault("CACHEDB_ALEMBIC_QUIET", "1")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def _revision_on(conn: Connection) -> str | None:
    from sqlalchemy import inspect, text

    if not inspect(conn).has_table("alembic_version"):
        return None
    row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    return None if row is None else str(row[0])


def _pg_revision(url: str) -> str | None:
    """The revision of a PostgreSQL database read with psycopg alone (no SQLAlchemy import)."""
    from .pg import PgDatabase

    db = PgDatabase(url)
    try:
        found = db.rows("SELECT to_regclass('alembic_version') IS NOT NULL")
        if not found[0][0]:
            return None
        row = db.rows("SELECT version_num FROM alembic_version")
    finally:
        db.close()
    return str(row[0][0]) if row else None


def _sqlite_revision(path: str) -> str | None:
    """The revision of a SQLite database read with sqlite3 alone (no SQLAlchemy import)."""
    import sqlite3

    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error:
        return None  # no file yet: ensure_schema creates it
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        if "no such table" in str(exc):
            return None
        raise DatabaseError(f"cannot read the metadata database {path!r}: {exc}") from exc
    finally:
        conn.close()
    return None if row is None else str(row[0])


def _create_sqlite(path: str, lock_path: Path | None) -> bool:
    """Create a new (or table-less) SQLite database from ``schema.sql``; True if it is at HEAD.

    False leaves the database to Alembic: it holds tables at an older revision
    (or none that cachedb knows).
    """
    from .schema import create_if_empty

    with _migrate_lock(lock_path):
        # Another process may have created or upgraded it while we waited.
        if check_revision(_sqlite_revision(path)):
            return True
        revision = create_if_empty(path, BUSY_TIMEOUT_MS)
    return revision is not None and check_revision(revision)


def ensure_schema(url: str, lock_path: Path | None) -> None:
    """Upgrade the database at ``url`` to HEAD if needed; refuse one newer than this cachedb."""
    path = sqlite_path(url)
    if path is not None and (
        check_revision(_sqlite_revision(path)) or _create_sqlite(path, lock_path)
    ):
        return
    if backend(url) == POSTGRESQL and check_revision(_pg_revision(url)):
        return
    from .engine import Database

    db = Database(url)
    try:
        if not check_revision(current_revision(db)):
            upgrade(db, lock_path)
    finally:
        db.close()
