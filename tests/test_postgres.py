"""PostgreSQL as the metadata database: sizes, migrations, concurrency, errors (issue 19).

Each test runs against a real server (``pgserver``); those parametrised over
``db_url`` run on SQLite too, which must behave the same.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pgserver import PgServer
from wheelbuilder import make_wheel

from cachedb.db.migrate import HEAD
from cachedb.errors import CachedbError, DatabaseError
from cachedb.store import WHEELS_BUCKET, open_cache, pointer_key, source_key
from cachedb.store.cache import PutItem
from cachedb.store.layout import Layout
from cachedb.store.unpack import unpack_wheel

SOURCE = source_key("https://pypi.example/simple")
THREE_GIB = 3 * 2**30 + 12345


def key_for(wheel: Path) -> str:
    name, version = wheel.name.split("-")[:2]
    return pointer_key(SOURCE, name, wheel.name[: -len(".whl")])


def scalar(cache_url: str | None, cache_dir: Path, sql: str) -> object:
    with open_cache(cache_dir, cache_url) as cache:
        rows = cache.read_sql(lambda run: run(sql))
    return rows[0][0] if rows else None


# -- P1: sizes and ids are 64-bit ----------------------------------------------------


def test_unpacked_size_over_2_gib_is_recorded_exactly(tmp_path: Path, db_url: str | None) -> None:
    wheel = make_wheel(tmp_path / "w", "huge", "1.0")
    cache_dir = tmp_path / "cache"
    with open_cache(cache_dir, db_url) as cache:
        sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
        tree = unpack_wheel(wheel, cache.layout.tmp, archive_id=sha)
        # The size as a 2.2+ GB wheel would report it; the disk holds the small tree.
        tree = dataclasses.replace(tree, unpacked_size=THREE_GIB)
        entry = cache.put_many([PutItem(WHEELS_BUCKET, key_for(wheel), wheel, sha, True, tree)])[0]
        assert entry.lease_id is not None
        rows = cache.read_sql(
            lambda run: run(
                "SELECT unpacked_size, human_bytes_input FROM (SELECT unpacked_size,"
                " unpacked_size AS human_bytes_input FROM v_archives) v"
            )
        )
    assert rows == [(THREE_GIB, THREE_GIB)]


def test_ids_past_32_bits(tmp_path: Path, pg_migrated_url: str) -> None:
    """Event and lease ids keep counting past 2**31 (a busy shared database gets there)."""
    import psycopg

    with psycopg.connect(pg_migrated_url, autocommit=True) as conn:
        for table in ("events", "leases", "pointers"):
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {2**31 + 5})"  # noqa: S608
            )
    wheel = make_wheel(tmp_path / "w", "demo", "1.0")
    with open_cache(tmp_path / "cache", pg_migrated_url) as cache:
        entry = cache.put(WHEELS_BUCKET, key_for(wheel), wheel, lease=True)
        assert entry.lease_id is not None and entry.lease_id > 2**31
        cache.release([entry.lease_id])
        (max_event,) = cache.read_sql(lambda run: run("SELECT max(id) FROM events"))[0]
    assert max_event > 2**31


# -- P2: migrations under an advisory lock ---------------------------------------------


def test_three_processes_migrating_a_fresh_database_all_succeed(pg_server: PgServer) -> None:
    for _round in range(2):
        url = pg_server.new_database()
        # Without the cache directory's file lock: the database alone must decide.
        code = (
            "import sys; from cachedb.db.migrate import ensure_schema; "
            "ensure_schema(sys.argv[1], None)"
        )
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", code, url],
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(3)
        ]
        results = [(p.wait(), p.stderr.read() if p.stderr else "") for p in procs]
        assert [r[0] for r in results] == [0, 0, 0], results
        import psycopg

        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]


# -- P3: gc and a lease, both paused at their decision points --------------------------

_LEASER = """
import sys
from cachedb.store import open_cache
cache_dir, url, bucket, key = sys.argv[1:]
with open_cache(cache_dir, url) as cache:
    hits, lease_ids = cache.lookup_leased([(bucket, key)])
    print(len(hits), len(lease_ids), flush=True)
"""


def _waiting_on_a_lock(url: str) -> bool:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchall()
    return bool(rows[0][0])


def _held(proc: subprocess.Popen[str], reached: Path, url: str) -> str:
    """Wait until ``proc`` is at its pause point or blocked by a lock; which one."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if reached.exists():
            return "paused"
        if _waiting_on_a_lock(url):
            return "blocked"
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError("the process neither paused nor blocked")


def test_gc_never_collects_an_archive_leased_while_it_decides(
    tmp_path: Path, pg_migrated_url: str
) -> None:
    url = pg_migrated_url
    cache_dir = tmp_path / "cache"
    wheel = make_wheel(tmp_path / "w", "demo", "1.0")
    key = key_for(wheel)
    with open_cache(cache_dir, url) as cache:
        archive = cache.put(WHEELS_BUCKET, key, wheel).archive_id
    pauses = tmp_path / "pauses"
    pauses.mkdir()

    def env(point: str) -> dict[str, str]:
        return {**os.environ, "CACHEDB_PAUSE_AT": point, "CACHEDB_PAUSE_DIR": str(pauses)}

    # The install reads the pointer and stops just before taking its lease.
    leaser = subprocess.Popen(
        [sys.executable, "-c", _LEASER, str(cache_dir), url, WHEELS_BUCKET, key],
        env=env("lease.decide"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert _held(leaser, pauses / "lease.decide.reached", url) == "paused"
    # clean would drop the entry and collect the archive, unless a lease holds it.
    cleaner = subprocess.Popen(
        [sys.executable, "-m", "cachedb", "clean", "demo"]
        + ["--cache-dir", str(cache_dir), "--db-url", url],
        env=env("gc.decide"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _held(cleaner, pauses / "gc.decide.reached", url)
    (pauses / "lease.decide.go").touch()
    out, err = leaser.communicate(timeout=120)
    assert leaser.returncode == 0, err
    assert out.split() == ["1", "1"]  # a hit, leased
    (pauses / "gc.decide.go").touch()
    _out, err = cleaner.communicate(timeout=120)
    assert cleaner.returncode == 0, err
    # The leased archive survives: its tree and its live row.
    assert (cache_dir / "archive-v0" / archive).is_dir()
    with open_cache(cache_dir, url) as cache:
        rows = cache.read_sql(
            lambda run: run("SELECT deleted_at FROM archives WHERE id = :a", {"a": archive})
        )
    assert rows == [(None,)]


# -- P4: database errors are retried or one line ---------------------------------------


def test_a_deadlock_is_retried(tmp_path: Path, pg_migrated_url: str) -> None:
    """Two writers locking two rows in opposite orders: PostgreSQL aborts one, it retries."""
    cache_dir = tmp_path / "cache"
    with open_cache(cache_dir, pg_migrated_url) as cache:
        cache.record_install("/env/a", "python", [])
        cache.record_install("/env/b", "python", [])
    barrier = threading.Barrier(2, timeout=30)
    calls = {"a": 0, "b": 0}
    errors: list[BaseException] = []

    def writer(first: str, second: str) -> None:
        def fn(run):  # type: ignore[no-untyped-def]
            calls[first] += 1
            run("UPDATE environments SET python = 'x' WHERE path = :p", {"p": f"/env/{first}"})
            if calls[first] == 1:
                barrier.wait()
            run("UPDATE environments SET python = 'y' WHERE path = :p", {"p": f"/env/{second}"})

        try:
            with open_cache(cache_dir, pg_migrated_url) as own:
                own.write_sql(fn)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [
        threading.Thread(target=writer, args=("a", "b")),
        threading.Thread(target=writer, args=("b", "a")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(calls.values()) == [1, 2]  # the one PostgreSQL chose ran again


def test_a_serialization_failure_is_retried(tmp_path: Path, pg_migrated_url: str) -> None:
    """Two SERIALIZABLE writers each inserting what the other's read would have seen (40001)."""
    cache_dir = tmp_path / "cache"
    open_cache(cache_dir, pg_migrated_url).close()
    barrier = threading.Barrier(2, timeout=30)
    calls = {"a": 0, "b": 0}
    errors: list[BaseException] = []

    def writer(me: str) -> None:
        def fn(run):  # type: ignore[no-untyped-def]
            calls[me] += 1
            run("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
            (count,) = run("SELECT count(*) FROM environments")[0]
            if calls[me] == 1:
                barrier.wait()
            run(
                "INSERT INTO environments (path, python, created_at, last_used_at)"
                " VALUES (:p, :c, 0, 0)",
                {"p": f"/env/{me}", "c": str(count)},
            )

        try:
            with open_cache(cache_dir, pg_migrated_url) as own:
                own.write_sql(fn)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(me,)) for me in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(calls.values()) == [1, 2]
    with open_cache(cache_dir, pg_migrated_url) as cache:
        seen = cache.read_sql(lambda run: run("SELECT python FROM environments ORDER BY python"))
    assert seen == [("0",), ("1",)]  # the retried one saw the other's row


def test_integrity_and_data_errors_are_one_line(tmp_path: Path, db_url: str | None) -> None:
    with open_cache(tmp_path / "cache", db_url) as cache:
        with pytest.raises(DatabaseError) as caught:
            cache.write_sql(lambda run: run("INSERT INTO archives (id) VALUES ('x')"))
        assert len(str(caught.value).splitlines()) == 1
        if db_url is not None:
            with pytest.raises(CachedbError) as caught:
                cache.write_sql(
                    lambda run: run("UPDATE archives SET file_count = :n", {"n": 2**70})
                )
            assert len(str(caught.value).splitlines()) == 1


# -- the schema on PostgreSQL: models, migrations and upgrades agree -------------------


def test_alembic_check_reports_no_drift_on_postgresql(pg_url: str) -> None:
    from test_migrations import alembic

    up = alembic("upgrade", "head", url=pg_url)
    assert up.returncode == 0, up.stderr
    check = alembic("check", url=pg_url)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr


def test_an_old_postgresql_database_is_upgraded_with_its_rows(tmp_path: Path, pg_url: str) -> None:
    import psycopg
    from test_migrations import alembic

    assert alembic("upgrade", "0002", url=pg_url).returncode == 0
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO archives (id, relpath, filename, name, version, tags, unpacked_size,"
            " file_count, wheel_size, created_at, last_used_at)"
            " VALUES ('a', 'archive-v0/a', 'a-1-py3-none-any.whl', 'a', '1', 'py3-none-any',"
            " 10, 1, 5, 0, 0)"
        )
    open_cache(tmp_path / "cache", pg_url).close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE archives SET unpacked_size = %s", (THREE_GIB,))
        assert conn.execute("SELECT id, unpacked_size FROM v_archives").fetchall() == [
            ("a", THREE_GIB)
        ]
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]


# -- several hosts, one database ---------------------------------------------------------


def _gc_as(host: str, cache_dir: Path, url: str, *args: str) -> dict[str, object]:
    import json

    env = {**os.environ, "CACHEDB_HOST_ID": host}
    proc = subprocess.run(
        [sys.executable, "-m", "cachedb", *args, "--json", "--cache-dir", str(cache_dir)]
        + ["--db-url", url],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    data: dict[str, object] = json.loads(proc.stdout)
    return data


def test_two_hosts_keep_each_others_environments_and_leases(
    tmp_path: Path, pg_migrated_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cachedb.gc import leases
    from cachedb.store import InstallRecord

    url, cache_dir = pg_migrated_url, tmp_path / "cache"
    monkeypatch.setenv("CACHEDB_HOST_ID", "host-a")
    elsewhere = "/hosts/a/venv"  # host A's disk, which host B cannot see
    with open_cache(cache_dir, url) as cache:
        ids = {}
        for name in ("alpha", "beta"):
            wheel = make_wheel(tmp_path / "w", name, "1.0")
            ids[name] = cache.put(WHEELS_BUCKET, key_for(wheel), wheel).archive_id
        cache.record_install(
            elsewhere, "python", [InstallRecord(ids["alpha"], "alpha", "1.0", "symlink")]
        )
        # An install in flight on host A holds beta; its pid means nothing on host B.
        (lease_id,) = cache.write_sql(lambda run: leases.acquire(run, [ids["beta"]]))
        gone = subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True,
            text=True,
            check=True,
        )
        cache.write_sql(
            lambda run: run(
                "UPDATE leases SET pid = :p, created_at = 0 WHERE id = :i",
                {"p": int(gone.stdout), "i": lease_id},
            )
        )
        cache.write_sql(lambda run: run("UPDATE archives SET created_at = created_at - 7200"))
    a_dir = Layout(cache_dir).interpreters
    monkeypatch.setenv("CACHEDB_HOST_ID", "host-b")
    assert Layout(cache_dir).interpreters != a_dir  # interpreter answers are kept per host

    report = _gc_as("host-b", cache_dir, url, "clean")
    assert report["archives"] == [] and report["stale_environments"] == []
    for aid in ids.values():
        assert (cache_dir / "archive-v0" / aid).is_dir()
    # Host A's own gc judges its environment (gone from its disk) and its dead install.
    report = _gc_as("host-a", cache_dir, url, "clean")
    assert report["stale_environments"] == [elsewhere]
    assert {a["id"] for a in report["archives"]} == set(ids.values())  # type: ignore[union-attr]


def test_a_second_cache_directory_on_one_database_is_refused(
    tmp_path: Path, pg_migrated_url: str
) -> None:
    open_cache(tmp_path / "one", pg_migrated_url).close()
    open_cache(tmp_path / "one", pg_migrated_url).close()  # the same pair again: fine
    proc = subprocess.run(
        [sys.executable, "-m", "cachedb", "ls", "--cache-dir", str(tmp_path / "two")]
        + ["--db-url", pg_migrated_url],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: the database ")
    assert "belongs to another cache directory" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
