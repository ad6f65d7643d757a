"""The schema: migrations from empty, models agree with them, old upgraded, newer refused."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

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
