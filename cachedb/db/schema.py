"""A new SQLite database straight from ``schema.sql``, without importing Alembic.

Running the migrations on an empty cache costs more than a third of a second
(SQLAlchemy, Alembic and the migration scripts are imported for it), so a new
database is created from the DDL that ``alembic upgrade head`` produces,
checked in as ``schema.sql``. Databases at older revisions still upgrade
through Alembic. ``tests/test_migrations.py`` keeps the file equal to the
migrations; regenerate it after adding one with::

    python -m cachedb.db.schema > cachedb/db/schema.sql
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

from ..errors import DatabaseError

SCHEMA_FILE = Path(__file__).with_name("schema.sql")

_HEADER = """\
-- The newest cachedb schema for SQLite, exactly as `alembic upgrade head` creates it.
-- cachedb creates a new database from this file with sqlite3 alone (cachedb/db/schema.py);
-- databases at older revisions still upgrade through the migrations in alembic/.
-- Generated; do not edit. After adding a migration, regenerate it with
--     python -m cachedb.db.schema > cachedb/db/schema.sql
-- (tests/test_migrations.py fails while this file and the migrations disagree).
"""


def statements(text: str | None = None) -> list[str]:
    """The statements of ``schema.sql`` (or ``text``), in order, without comments."""
    if text is None:
        text = SCHEMA_FILE.read_text(encoding="utf-8")
    out: list[str] = []
    pending = ""
    for line in text.splitlines(keepends=True):
        if not pending and (not line.strip() or line.lstrip().startswith("--")):
            continue  # comments and blank lines between statements
        pending += line
        if sqlite3.complete_statement(pending):
            out.append(pending.strip().rstrip(";").rstrip())
            pending = ""
    if pending.strip():
        raise ValueError(f"{SCHEMA_FILE.name} ends inside a statement: {pending.strip()[:60]!r}")
    return out


def create_if_empty(path: str, busy_timeout_ms: int) -> str | None:
    """Create the schema in the SQLite database at ``path`` if it has no tables at all.

    One transaction creates everything (a crash leaves an empty database, which
    the next run fills), and the emptiness check runs inside it, so of two
    processes racing on a new cache exactly one creates the tables. Returns the
    database's revision afterwards (None when it holds tables but no revision:
    left to Alembic).
    """
    try:
        conn = sqlite3.connect(path, timeout=busy_timeout_ms / 1000, isolation_level=None)
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot open the metadata database {path!r}: {exc}") from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
        # Persistent, and only settable outside a transaction: before the tables exist.
        if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            if not tables:
                for statement in statements():
                    conn.execute(statement)
                tables.add("alembic_version")
            row = (
                conn.execute("SELECT max(version_num) FROM alembic_version").fetchone()
                if "alembic_version" in tables
                else None
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot create the metadata database {path!r}: {exc}") from exc
    finally:
        conn.close()
    return None if row is None or row[0] is None else str(row[0])


def dump(conn: sqlite3.Connection) -> str:
    """``schema.sql`` for the database behind ``conn``: its DDL in creation order and revision."""
    parts = [_HEADER]
    for (sql,) in conn.execute(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
    ):
        # Whitespace only changes the stored text, not the schema; keep the file tidy.
        lines = [line.rstrip().replace("\t", "    ") for line in str(sql).splitlines()]
        parts.append("\n" + "\n".join(lines) + ";\n")
    for (revision,) in conn.execute("SELECT version_num FROM alembic_version"):
        parts.append(f"\nINSERT INTO alembic_version (version_num) VALUES ('{revision}');\n")
    return "".join(parts)


def generate() -> str:
    """Run the migrations on a scratch database and dump the result (imports Alembic)."""
    import tempfile

    from .engine import Database
    from .migrate import upgrade

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "schema.sqlite3"
        db = Database(f"sqlite:///{path}")
        try:
            upgrade(db, None)
        finally:
            db.close()
        conn = sqlite3.connect(path)
        try:
            return dump(conn)
        finally:
            conn.close()


if __name__ == "__main__":
    sys.stdout.write(generate())
