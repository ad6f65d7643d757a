"""The schema: migrations from empty, models agree with them, old upgraded, newer refused."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cachedb.db.migrate import HEAD, REVISIONS
from cachedb.errors import DatabaseError
from cachedb.store import open_cache

ROOT = Path(__file__).resolve().parents[1]
ALEMBIC = [sys.executable, "-m", "alembic", "-c", str(ROOT / "migrations.ini")]


def alembic(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CACHEDB_DB_URL"}
    return subprocess.run(
        [*ALEMBIC, "-x", f"url={url}", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def test_upgrade_head_on_an_empty_file_and_check_reports_no_drift(tmp_path: Path) -> None:
    db = tmp_path / "empty.sqlite3"
    db.touch()
    url = f"sqlite:///{db}"
    up = alembic("upgrade", "head", url=url)
    assert up.returncode == 0, up.stderr
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (HEAD,)
    check = alembic("check", url=url)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr


def test_known_revisions_match_the_scripts(tmp_path: Path) -> None:
    history = alembic("history", url=f"sqlite:///{tmp_path / 'h.sqlite3'}")
    assert history.returncode == 0, history.stderr
    # "0001 -> 0002 (head), message" lines, newest first.
    scripts = [
        line.split("->")[1].split(",")[0].replace("(head)", "").strip()
        for line in history.stdout.splitlines()
        if "->" in line
    ]
    assert list(reversed(scripts)) == list(REVISIONS)


def test_open_upgrades_an_old_database(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    db = cache_dir / "cachedb.sqlite3"
    if len(REVISIONS) > 1:
        assert alembic("upgrade", REVISIONS[0], url=f"sqlite:///{db}").returncode == 0
    else:
        db.touch()  # the oldest state there is: no schema at all
    open_cache(cache_dir).close()
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (HEAD,)
    assert conn.execute("SELECT count(*) FROM archives").fetchone() == (0,)


def test_newer_database_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    open_cache(cache_dir).close()
    conn = sqlite3.connect(cache_dir / "cachedb.sqlite3")
    with conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.close()
    with pytest.raises(DatabaseError, match="newer than this cachedb"):
        open_cache(cache_dir)
    out = subprocess.run(
        [sys.executable, "-m", "cachedb", "ls", "--cache-dir", str(cache_dir)],
        capture_output=True,
        text=True,
    )
    if out.returncode != 2 or "No such command" not in out.stderr:
        assert out.returncode == 1
        assert out.stderr.startswith("error: ") and "newer than this cachedb" in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1


# --- new databases from schema.sql -----------------------------------------------


def sqlite_schema(db: Path) -> tuple[list[tuple[str, str, str, str | None]], list[tuple[str]]]:
    """sqlite_master (whitespace in the DDL normalised) and the alembic_version rows."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall()
        versions = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    finally:
        conn.close()
    entries = sorted(
        (t, n, tbl, None if sql is None else " ".join(sql.split())) for t, n, tbl, sql in rows
    )
    return entries, versions


def test_schema_file_makes_exactly_what_the_migrations_make(tmp_path: Path) -> None:
    migrated = tmp_path / "migrated.sqlite3"
    up = alembic("upgrade", "head", url=f"sqlite:///{migrated}")
    assert up.returncode == 0, up.stderr
    open_cache(tmp_path / "cache").close()
    fresh = tmp_path / "cache" / "cachedb.sqlite3"
    expected = sqlite_schema(migrated)
    assert expected[1] == [(HEAD,)]
    assert sqlite_schema(fresh) == expected, (
        "cachedb/db/schema.sql differs from the migrations; regenerate it with "
        "`python -m cachedb.db.schema > cachedb/db/schema.sql`"
    )
    conn = sqlite3.connect(fresh)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_schema_file_is_what_the_generator_prints() -> None:
    from cachedb.db.schema import SCHEMA_FILE, generate

    assert SCHEMA_FILE.read_text(encoding="utf-8") == generate(), (
        "regenerate it with `python -m cachedb.db.schema > cachedb/db/schema.sql`"
    )


def test_alembic_has_nothing_to_do_on_a_new_database(tmp_path: Path) -> None:
    open_cache(tmp_path / "cache").close()
    db = tmp_path / "cache" / "cachedb.sqlite3"
    url = f"sqlite:///{db}"
    before = sqlite_schema(db)
    check = alembic("check", url=url)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr
    up = alembic("upgrade", "head", url=url)
    assert up.returncode == 0, up.stderr
    assert "Running upgrade" not in up.stdout + up.stderr
    assert sqlite_schema(db) == before


def test_a_new_database_is_made_without_sqlalchemy_or_alembic(tmp_path: Path) -> None:
    code = (
        "import sys; from cachedb.store import open_cache; "
        f"open_cache({str(tmp_path / 'cache')!r}).close(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'alembic'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert sqlite_schema(tmp_path / "cache" / "cachedb.sqlite3")[1] == [(HEAD,)]


def test_an_empty_database_file_gets_the_schema(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    db = cache_dir / "cachedb.sqlite3"
    sqlite3.connect(db).close()  # a file with no tables, as a crashed creation leaves
    open_cache(cache_dir).close()
    migrated = tmp_path / "migrated.sqlite3"
    assert alembic("upgrade", "head", url=f"sqlite:///{migrated}").returncode == 0
    assert sqlite_schema(db) == sqlite_schema(migrated)


@pytest.mark.parametrize("file_lock", [True, False], ids=["open_cache", "no-file-lock"])
def test_processes_racing_to_create_a_cache_make_one_database(
    tmp_path: Path, file_lock: bool
) -> None:
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    if file_lock:
        code = f"from cachedb.store import open_cache; open_cache({str(cache_dir)!r}).close()"
    else:
        # Without the migrate lock, the transaction alone decides who creates the tables.
        url = f"sqlite:///{cache_dir / 'cachedb.sqlite3'}"
        code = f"from cachedb.db.migrate import ensure_schema; ensure_schema({url!r}, None)"
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(4)]
    assert [p.wait() for p in procs] == [0, 0, 0, 0]
    migrated = tmp_path / "migrated.sqlite3"
    assert alembic("upgrade", "head", url=f"sqlite:///{migrated}").returncode == 0
    assert sqlite_schema(cache_dir / "cachedb.sqlite3") == sqlite_schema(migrated)


def test_schema_file_statements_parse() -> None:
    from cachedb.db.schema import statements

    found = statements()
    assert found[0].startswith("CREATE TABLE alembic_version")
    assert found[-1] == f"INSERT INTO alembic_version (version_num) VALUES ('{HEAD}')"
    assert all(sqlite3.complete_statement(s + ";") for s in found)
    with pytest.raises(ValueError, match="ends inside a statement"):
        statements("CREATE TABLE x (\n  a INTEGER\n")


_ROWS_AT_0005 = [
    "INSERT INTO archives (id, relpath, filename, name, version, tags, unpacked_size,"
    " file_count, wheel_size, created_at, last_used_at)"
    " VALUES ('a', 'archive-v0/a', 'a-1-py3-none-any.whl', 'a', '1', 'py3-none-any',"
    " 1, 1, 1, 0, 0)",
    "INSERT INTO environments (id, path, python, created_at, last_used_at)"
    " VALUES (7, '/srv/venv', '/usr/bin/python3', 0, 0)",
    "INSERT INTO installs (id, environment_id, archive_id, name, version, link_mode,"
    " installed_at) VALUES (9, 7, 'a', 'a', '1', 'symlink', 0)",
    "INSERT INTO leases (archive_id, pid, host, created_at, expires_at) VALUES ('a', 1, 'h', 0, 1)",
]


@pytest.mark.parametrize("backend_name", ["sqlite", "postgresql"])
def test_environments_keyed_by_host_keep_every_row_on_upgrade(
    tmp_path: Path, backend_name: str, request: pytest.FixtureRequest
) -> None:
    # 0006 rebuilds environments and installs on SQLite, whose installs cascade from it.
    from cachestate import PgConnection

    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    if backend_name == "postgresql":
        url: str = request.getfixturevalue("pg_url")  # empty
        db_url: str | None = url
    else:
        url, db_url = f"sqlite:///{cache_dir / 'cachedb.sqlite3'}", None

    def connect() -> Any:
        return PgConnection(url) if db_url else sqlite3.connect(cache_dir / "cachedb.sqlite3")

    assert alembic("upgrade", "0005", url=url).returncode == 0
    with connect() as conn:
        for statement in _ROWS_AT_0005:
            conn.execute(statement)
    open_cache(cache_dir, db_url).close()
    with connect() as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
        assert conn.execute("SELECT id, path, host_id FROM environments").fetchall() == [
            (7, "/srv/venv", None)
        ]
        assert conn.execute("SELECT id, environment_id FROM installs").fetchall() == [(9, 7)]
        assert conn.execute("SELECT started_at, heartbeat_at FROM leases").fetchall() == [
            (None, None)
        ]
        assert conn.execute("SELECT path, active_installs FROM v_environments").fetchall() == [
            ("/srv/venv", 1)
        ]
