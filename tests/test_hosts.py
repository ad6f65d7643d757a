"""Several hosts, one database: hosts never evict or forget each other's things.

Each "host" is this machine under another ``CACHEDB_HOST_ID``, sharing one
PostgreSQL database and one cache directory (the design: a cache directory on
a shared file system, its database on a server). What another host's disk holds
cannot be seen from here, so its environments live at paths that do not exist
on this one, and its processes are ones that do not exist here either.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cachestate import connect
from wheelbuilder import dist_info_name, make_wheel

from cachedb.gc import Options, leases, run
from cachedb.store import WHEELS_BUCKET, Cache, InstallRecord, open_cache, pointer_key, source_key

SOURCE = source_key("https://x/simple")
HOUR = 3600.0

# On PostgreSQL, the database machines share; what one machine alone needs on SQLite too.
pytestmark = [pytest.mark.usefixtures("backend"), pytest.mark.backends("postgresql")]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cache]:
    monkeypatch.setenv("CACHEDB_HOST_ID", "host-a")
    with open_cache(tmp_path / "cache") as c:
        yield c


def as_host(monkeypatch: pytest.MonkeyPatch, host: str) -> None:
    monkeypatch.setenv("CACHEDB_HOST_ID", host)


def store(cache: Cache, wheels: Path, name: str) -> str:
    wheel = make_wheel(wheels, name, "1.0")
    key = pointer_key(SOURCE, name, wheel.name[: -len(".whl")])
    return cache.put(WHEELS_BUCKET, key, wheel).archive_id


def unpoint_and_backdate(cache: Cache) -> None:
    """Every archive past the grace period and without a pointer: only roots keep it."""
    with connect(cache.root) as conn:
        conn.execute("DELETE FROM pointers")
        conn.execute("UPDATE archives SET created_at = created_at - ?", (2 * HOUR,))


def live_ids(cache: Cache) -> set[str]:
    with connect(cache.root) as conn:
        return {r[0] for r in conn.execute("SELECT id FROM archives WHERE deleted_at IS NULL")}


def make_env(root: Path, names: list[str]) -> Path:
    site = root / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    for name in names:
        (site / dist_info_name(name, "1.0")).mkdir()
    return root


def record(cache: Cache, prefix: Path, archives: dict[str, str], mode: str = "symlink") -> None:
    cache.record_install(
        str(prefix),
        sys.executable,
        [InstallRecord(aid, name, "1.0", mode) for name, aid in archives.items()],
    )


# -- environments ----------------------------------------------------------------------


def test_two_hosts_with_an_environment_at_one_path_keep_both(
    cache: Cache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheels = tmp_path / "wheels"
    a, b = store(cache, wheels, "alpha"), store(cache, wheels, "beta")
    prefix = tmp_path / "srv-venv"  # /srv/app/.venv on each machine
    record(cache, prefix, {"alpha": a})
    as_host(monkeypatch, "host-b")
    record(cache, prefix, {"alpha": b})  # B's alpha is another build
    assert cache.installed_archives(str(prefix)) == {"alpha": b}
    as_host(monkeypatch, "host-a")
    assert cache.installed_archives(str(prefix)) == {"alpha": a}
    with connect(cache.root) as conn:
        rows = conn.execute(
            "SELECT h.machine_id, i.archive_id FROM environments e"
            " JOIN hosts h ON h.id = e.host_id JOIN installs i ON i.environment_id = e.id"
            " WHERE i.removed_at IS NULL ORDER BY h.machine_id"
        ).fetchall()
    assert rows == [("host-a", a), ("host-b", b)]


def test_gc_judges_only_its_own_hosts_environments(
    cache: Cache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheels = tmp_path / "wheels"
    a, b, c = (store(cache, wheels, n) for n in ("alpha", "beta", "gamma"))
    # A's environment is on A's disk: not here. B's is here, and loses gamma.
    record(cache, tmp_path / "on-host-a", {"alpha": a})
    as_host(monkeypatch, "host-b")
    mine = make_env(tmp_path / "on-host-b", ["beta"])
    record(cache, mine, {"beta": b, "gamma": c})
    unpoint_and_backdate(cache)
    report = run(cache, Options())
    assert report.stale_environments == []
    assert live_ids(cache) == {a, b}
    # A's gc, which cannot see B's environment, forgets nothing of B's either.
    as_host(monkeypatch, "host-a")
    make_env(tmp_path / "on-host-a", ["alpha"])
    report = run(cache, Options())
    assert report.stale_environments == [] and live_ids(cache) == {a, b}


# -- leases ----------------------------------------------------------------------------


def test_a_lease_of_another_host_protects_until_it_expires(
    cache: Cache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = store(cache, tmp_path / "wheels", "alpha")
    unpoint_and_backdate(cache)
    monkeypatch.setenv("CACHEDB_LEASE_TTL", "1")
    # Host A's install holds the archive, then A dies: its pid means nothing on B.
    held = cache.write_sql(lambda run: leases.acquire(run, [a]))
    with connect(cache.root) as conn:
        conn.execute("UPDATE leases SET pid = 999999999 WHERE id = ?", (held[0],))
    as_host(monkeypatch, "host-b")
    run(cache, Options(clean=()))
    assert live_ids(cache) == {a}
    time.sleep(1.5)  # the TTL, with no heartbeat from the dead host
    run(cache, Options(clean=()))
    assert live_ids(cache) == set()


@pytest.mark.backends("sqlite", "postgresql")
def test_a_long_install_keeps_its_leases_alive_with_heartbeats(
    cache: Cache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = store(cache, tmp_path / "wheels", "alpha")
    unpoint_and_backdate(cache)
    env = {**os.environ, "CACHEDB_LEASE_TTL": "2"}
    go = tmp_path / "leased"
    stop = tmp_path / "stop"
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(cache.root), a, str(go), str(stop)], env=env
    )
    try:
        deadline = time.monotonic() + 60
        while not go.exists():
            assert holder.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        as_host(monkeypatch, "host-b")
        # Well past the TTL: only the holder's heartbeats keep its lease alive.
        for _ in range(3):
            time.sleep(2)
            run(cache, Options(clean=()))
            assert live_ids(cache) == {a}
        with connect(cache.root) as conn:
            ((beat, created),) = conn.execute("SELECT heartbeat_at, created_at FROM leases")
        assert beat > created
    finally:
        stop.touch()
        assert holder.wait(timeout=60) == 0
    run(cache, Options(clean=()))
    assert live_ids(cache) == set()


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from cachedb.gc import leases
    from cachedb.store import open_cache

    root, archive, go, stop = sys.argv[1:]
    with open_cache(root) as cache, leases.holding(cache, [archive]):
        Path(go).touch()
        while not Path(stop).exists():
            time.sleep(0.05)
    """
)


def test_lease_times_come_from_the_database_clock(
    cache: Cache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = store(cache, tmp_path / "wheels", "alpha")
    unpoint_and_backdate(cache)
    # Host A's clock is an hour behind: its lease would look long expired to B.
    skewed = textwrap.dedent(
        """
        import sys, time
        real = time.time
        time.time = lambda: real() - 3600
        from cachedb.gc import leases
        from cachedb.store import open_cache
        with open_cache(sys.argv[1]) as cache:
            cache.write_sql(lambda run: leases.acquire(run, [sys.argv[2]]))
        """
    )
    subprocess.run([sys.executable, "-c", skewed, str(cache.root), a], check=True)
    with connect(cache.root) as conn:
        conn.execute("UPDATE leases SET pid = 999999999")  # A's process, as B cannot see it
    as_host(monkeypatch, "host-b")
    run(cache, Options(clean=()))
    assert live_ids(cache) == {a}


@pytest.mark.backends("sqlite", "postgresql")
def test_a_reused_pid_does_not_keep_a_dead_processes_lease(cache: Cache, tmp_path: Path) -> None:
    a = store(cache, tmp_path / "wheels", "alpha")
    unpoint_and_backdate(cache)
    held = cache.write_sql(lambda run: leases.acquire(run, [a]))
    # Same host, same pid as a living process (ours), but another start time.
    with connect(cache.root) as conn:
        conn.execute("UPDATE leases SET started_at = started_at - 100 WHERE id = ?", (held[0],))
    run(cache, Options(clean=()))
    assert live_ids(cache) == set()


# -- the interpreter cache -------------------------------------------------------------


def test_the_interpreter_cache_is_kept_per_host(
    cache: Cache, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cachedb.store.layout import Layout

    mine = Layout(cache.root).interpreters
    as_host(monkeypatch, "host-b")
    theirs = Layout(cache.root).interpreters
    assert mine != theirs and mine.parent == theirs.parent
