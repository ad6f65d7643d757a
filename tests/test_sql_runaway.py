"""``cachedb sql`` on runaway queries and read-only caches: Ctrl-C and ``--timeout`` stop it,
rows are streamed rather than gathered (on PostgreSQL through a server-side cursor),
table-valued pragmas read, and a read-only run leaves no ``-wal``/``-shm`` files behind."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cachedb.store import open_cache

RUNAWAY = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
ENDLESS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n"

# The runaway and streaming tests run on SQLite and on PostgreSQL; those about SQLite's
# files and pragmas on SQLite only.
pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    root = tmp_path / "cache"
    open_cache(root).close()
    for suffix in ("-wal", "-shm"):
        assert not (root / f"cachedb.sqlite3{suffix}").exists()
    return root


def _env() -> dict[str, str]:
    keep = ("CACHEDB_DB_URL",)  # the backend's database
    return {k: v for k, v in os.environ.items() if not k.startswith("CACHEDB_") or k in keep}


def _spawn(cache_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cachedb", "sql", "--cache-dir", str(cache_dir), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env() if env is None else env,
        start_new_session=True,  # its own process group, as a terminal's Ctrl-C reaches
    )


def _run(cache_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cachedb", "sql", "--cache-dir", str(cache_dir), *args],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )


def _has_database_open(pid: int, database: Path) -> bool:
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except FileNotFoundError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == str(database):
                return True
        except OSError:
            continue
    return False


def _pg_running(url: str) -> bool:
    """Whether a query runs in the database (the command's: the test runs no other)."""
    from cachestate import PgConnection

    with PgConnection(url) as conn:
        found = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
            " AND pid <> pg_backend_pid() AND datname = current_database()"
        ).fetchall()
    return bool(found[0][0])


def _query_runs(proc: subprocess.Popen[str], cache_dir: Path, backend: str | None) -> bool:
    if backend is not None:
        return _pg_running(backend)
    return _has_database_open(proc.pid, cache_dir / "cachedb.sqlite3")


@contextlib.contextmanager
def _reaped(proc: subprocess.Popen[str]) -> Iterator[subprocess.Popen[str]]:
    """``proc``, its process group killed if it still runs when the block ends."""
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _assert_interrupted(proc: subprocess.Popen[str], out: str, err: str) -> None:
    """Ended by Ctrl-C as a shell expects: 130, one line saying so, nothing printed."""
    assert proc.returncode == 130, err
    assert err.splitlines() == ["error: interrupted"], err
    assert out == ""


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to see the query run")
def test_ctrl_c_stops_a_runaway_query(cache_dir: Path, backend: str | None) -> None:
    with _reaped(_spawn(cache_dir, RUNAWAY)) as proc:
        # The query runs once the process holds the database open (bounded wait).
        for _ in range(1200):
            if _query_runs(proc, cache_dir, backend):
                break
            if proc.poll() is not None:
                pytest.fail(proc.stderr.read() if proc.stderr else "sql ended early")
            select.select([], [], [], 0.05)
        else:
            pytest.fail("the query never started")
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    _assert_interrupted(proc, out, err)
    if backend is not None:  # the server stopped it too
        for _ in range(200):
            if not _pg_running(backend):
                break
            select.select([], [], [], 0.05)
        else:
            pytest.fail("the query still runs on the server")


def test_timeout_stops_a_runaway_query(cache_dir: Path) -> None:
    result = _run(cache_dir, "--timeout", "0.5", RUNAWAY)
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == ["error: query timed out after 0.5s"]
    assert result.stdout == ""


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan"])
def test_bad_timeout_is_a_usage_error(cache_dir: Path, value: str) -> None:
    result = _run(cache_dir, "--timeout", value, "SELECT 1")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("fmt", ["tsv", "csv", "jsonl", "json"])
def test_rows_are_streamed_not_gathered(cache_dir: Path, fmt: str) -> None:
    # An endless result: only a command that streams can print its first rows.
    with _reaped(_spawn(cache_dir, "--format", fmt, ENDLESS)) as proc:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "no row came out"
        first = [proc.stdout.readline() for _ in range(3)]
    expected = {
        "tsv": ["i\n", "1\n", "2\n"],
        "csv": ["i\n", "1\n", "2\n"],
        "jsonl": ['{"i": 1}\n', '{"i": 2}\n', '{"i": 3}\n'],
    }
    if fmt == "json":
        assert first[0] == "[\n"
        assert json.loads(first[1].rstrip(",\n")) == {"i": 1}
    else:
        assert first == expected[fmt]


def test_streamed_json_is_one_valid_array(cache_dir: Path) -> None:
    for query, rows in [("SELECT 1 AS a WHERE 1 = 0", []), ("SELECT 1 AS a UNION ALL SELECT 2", 2)]:
        result = _run(cache_dir, "--format", "json", query)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == ([] if rows == [] else [{"a": 1}, {"a": 2}])


@pytest.mark.backends("sqlite")
def test_table_valued_pragma_is_a_read(cache_dir: Path) -> None:
    result = _run(
        cache_dir, "--format", "csv", "SELECT name FROM pragma_table_info('archives') LIMIT 2"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["name", "id", "relpath"]
    # A real schema change is still refused.
    result = _run(cache_dir, "UPDATE sqlite_master SET sql = 'x'")
    assert result.returncode == 2
    assert result.stderr.startswith("error: refused: cachedb sql is read-only")


def _leftovers(cache_dir: Path) -> list[str]:
    return sorted(p.name for p in cache_dir.iterdir() if p.name.endswith(("-wal", "-shm")))


@pytest.mark.backends("sqlite")
def test_sql_leaves_no_wal_or_shm_files(cache_dir: Path) -> None:
    result = _run(cache_dir, "SELECT count(*) FROM archives")
    assert result.returncode == 0, result.stderr
    assert _leftovers(cache_dir) == []


@pytest.mark.backends("sqlite")
@pytest.mark.parametrize("as_user", [False, True], ids=["as-is", "permission-bits-apply"])
def test_sql_on_a_read_only_cache_creates_no_files(cache_dir: Path, as_user: bool) -> None:
    # As root, permission bits stop nothing unless the capabilities overriding them go.
    from chaos.chaoskit import unprivileged

    prefix = unprivileged() if as_user else []
    database = cache_dir / "cachedb.sqlite3"
    before = sorted(os.listdir(cache_dir))
    database.chmod(0o444)
    cache_dir.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
    try:
        query = ("--format", "csv", "SELECT count(*) AS n FROM archives")
        result = subprocess.run(
            [
                *prefix,
                sys.executable,
                "-m",
                "cachedb",
                "sql",
                "--cache-dir",
                str(cache_dir),
                *query,
            ],
            capture_output=True,
            text=True,
            env=_env(),
            timeout=120,
        )
        after = sorted(os.listdir(cache_dir))
    finally:
        cache_dir.chmod(0o755)
        database.chmod(0o644)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["n", "0"]
    assert after == before


@pytest.mark.backends("postgresql")
def test_postgresql_rows_come_through_a_server_side_cursor(backend: str) -> None:
    # Gathered, a million rows would be a million tuples at once; streamed, one batch.
    import tracemalloc

    from cachedb.audit.pgsql import ReadOnlyPgDatabase

    count = 1_000_000
    with ReadOnlyPgDatabase(backend) as db:
        tracemalloc.start()
        try:
            result = db.query(f"SELECT g, 'row ' || g AS label FROM generate_series(1, {count}) g")
            seen = sum(1 for _ in result.rows)
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert seen == count
        assert peak < 16 * 2**20, f"{peak} bytes held at once"
        # --limit reads no further than it shows: an endless query ends.
        assert list(db.query(ENDLESS, limit=5).rows) == [(1,), (2,), (3,), (4,), (5,)]
        # The session is usable after a stream left unfinished.
        assert list(db.query("SELECT 1 AS one").rows) == [(1,)]


@pytest.mark.backends("sqlite")
def test_ctrl_c_before_the_query_starts_still_says_interrupted(
    cache_dir: Path, tmp_path: Path
) -> None:
    """A Ctrl-C between opening the database and running the query stops the query with
    the same one line (it used to end the process silently, before the handler was set)."""
    pauses = tmp_path / "pauses"
    pauses.mkdir()
    env = {**_env(), "CACHEDB_PAUSE_AT": "sql-opened", "CACHEDB_PAUSE_DIR": str(pauses)}
    with _reaped(_spawn(cache_dir, RUNAWAY, env=env)) as proc:
        for _ in range(1200):
            if (pauses / "sql-opened.reached").exists() or proc.poll() is not None:
                break
            select.select([], [], [], 0.05)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        os.killpg(proc.pid, signal.SIGINT)
        (pauses / "sql-opened.go").touch()
        out, err = proc.communicate(timeout=30)
    _assert_interrupted(proc, out, err)
