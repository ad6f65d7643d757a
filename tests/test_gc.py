"""cachedb gc and cachedb clean: roots, leases, policies, crash safety, reports."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cachestate import snapshot
from installtools import cachedb
from sqlalchemy import text
from wheelbuilder import dist_info_name, make_wheel

from cachedb.gc import Options, leases, run
from cachedb.store import (
    WHEELS_BUCKET,
    Cache,
    InstallRecord,
    open_cache,
    pointer_key,
    source_key,
)

SOURCE = source_key("https://x/simple")
HOUR = 3600.0

# Every test runs on SQLite and on PostgreSQL (the fixture ``cache`` and the commands
# the tests run use the database ``backend`` names).
pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture
def cache(tmp_path: Path, db_url: str | None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cache]:
    """A cache on each backend (SQLite in the cache directory, or a PostgreSQL database).

    ``CACHEDB_DB_URL`` names the database, so commands run by the test find it too.
    """
    if db_url is not None:
        monkeypatch.setenv("CACHEDB_DB_URL", db_url)
    with open_cache(tmp_path / "cache", db_url) as c:
        yield c


def store(cache: Cache, wheels: Path, name: str, version: str = "1.0", nfiles: int = 1) -> str:
    """Put a wheel of ``name`` into the cache; returns its archive id."""
    files = {f"{name}/m{i}.py": f"X = {i}\n" * 50 for i in range(nfiles)}
    wheel = make_wheel(wheels, name, version, files=files)
    stem = wheel.name[: -len(".whl")]
    return cache.put(WHEELS_BUCKET, pointer_key(SOURCE, name, stem), wheel).archive_id


def make_env(root: Path, dists: list[tuple[str, str]]) -> Path:
    site = root / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    for name, version in dists:
        (site / dist_info_name(name, version)).mkdir()
    return root


def install(cache: Cache, env: Path, archives: dict[str, str], mode: str = "symlink") -> None:
    cache.record_install(
        str(env),
        sys.executable,
        [InstallRecord(aid, name, "1.0", mode) for name, aid in archives.items()],
    )


def sql(cache: Cache, statement: str, **params: object) -> None:
    cache.db.write(lambda s: s.execute(text(statement), params))


def backdate(cache: Cache, seconds: float = 2 * HOUR) -> None:
    """Make every archive older than the default grace period."""
    sql(cache, "UPDATE archives SET created_at = created_at - :s", s=seconds)


def live_ids(cache: Cache) -> set[str]:
    with cache.db.read() as s:
        return set(s.scalars(text("SELECT id FROM archives WHERE deleted_at IS NULL")))


def pointer_ids(cache: Cache) -> set[str]:
    with cache.db.read() as s:
        return set(s.scalars(text("SELECT archive_id FROM pointers")))


def event_kinds(cache: Cache) -> list[str]:
    with cache.db.read() as s:
        return list(s.scalars(text("SELECT kind FROM events ORDER BY id")))


def dirs(cache: Cache) -> set[str]:
    return {p.name for p in cache.layout.archives.iterdir()}


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = cachedb(*args)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def assert_consistent(cache: Cache) -> None:
    """No live row names a missing dir, no dir is unknown to rows, no pointer dangles."""
    with cache.db.read() as s:
        rows = {r[0]: r[1] for r in s.execute(text("SELECT id, deleted_at FROM archives"))}
        ptrs = [tuple(r) for r in s.execute(text("SELECT bucket, key, archive_id FROM pointers"))]
        orphan_files = s.scalar(
            text(
                "SELECT count(*) FROM archive_files"
                " WHERE archive_id NOT IN (SELECT id FROM archives)"
            )
        )
    live = {aid for aid, deleted in rows.items() if deleted is None}
    assert dirs(cache) == live
    for bucket, key, aid in ptrs:
        assert aid in live
        assert (cache.root / bucket / key).resolve() == cache.archive_path(aid).resolve()
    assert orphan_files == 0
    assert not [p for p in cache.layout.tmp.iterdir() if p.name.startswith("trash-")]


# -- roots: environments ---------------------------------------------------------


def test_deleting_an_environment_frees_exactly_its_archives(cache: Cache, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    a, b, c = (store(cache, wheels, n) for n in ("alpha", "beta", "gamma"))
    env1 = make_env(tmp_path / "env1", [("alpha", "1.0"), ("beta", "1.0")])
    env2 = make_env(tmp_path / "env2", [("beta", "1.0"), ("gamma", "1.0")])
    install(cache, env1, {"alpha": a, "beta": b})
    install(cache, env2, {"beta": b, "gamma": c})
    backdate(cache)

    # clean drops every pointer, but symlink installs of living environments keep the archives.
    report = run(cache, Options(clean=()))
    assert report.archives == [] and report.pointers == 3
    assert pointer_ids(cache) == set()
    assert live_ids(cache) == dirs(cache) == {a, b, c}

    shutil.rmtree(env1)
    report = run(cache, Options())
    assert [x.archive_id for x in report.archives] == [a]
    assert report.stale_environments == [str(env1)]
    assert live_ids(cache) == dirs(cache) == {b, c}
    with cache.db.read() as s:
        stale = s.execute(text("SELECT path FROM environments WHERE stale_at IS NOT NULL")).all()
        open_installs = s.scalar(
            text(
                "SELECT count(*) FROM installs JOIN environments e ON e.id = environment_id "
                "WHERE e.path = :p AND removed_at IS NULL"
            ),
            {"p": str(env1)},
        )
    assert stale == [(str(env1),)] and open_installs == 0
    assert "environment.stale" in event_kinds(cache)
    assert_consistent(cache)


def test_distribution_removed_from_living_environment_stops_being_a_root(
    cache: Cache, tmp_path: Path
) -> None:
    wheels = tmp_path / "wheels"
    a, b = store(cache, wheels, "alpha"), store(cache, wheels, "beta")
    env = make_env(tmp_path / "env", [("alpha", "1.0"), ("beta", "1.0")])
    install(cache, env, {"alpha": a, "beta": b})
    backdate(cache)
    run(cache, Options(clean=()))
    assert live_ids(cache) == {a, b}

    shutil.rmtree(env / "lib/python3.11/site-packages" / dist_info_name("alpha", "1.0"))
    report = run(cache, Options())
    assert [x.archive_id for x in report.archives] == [a]
    assert report.stale_environments == []
    assert live_ids(cache) == {b}


def test_copy_mode_installs_keep_archives_unless_evicted(cache: Cache, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    a, b = store(cache, wheels, "alpha"), store(cache, wheels, "beta")
    env = make_env(tmp_path / "env", [("alpha", "1.0"), ("beta", "1.0")])
    install(cache, env, {"alpha": a}, mode="copy")
    install(cache, env, {"beta": b}, mode="copy")
    backdate(cache)

    run(cache, Options(clean=["alpha"], keep_installed=True))
    assert live_ids(cache) == {a, b}  # --keep-installed protects every link mode
    run(cache, Options(clean=["alpha"]))
    assert live_ids(cache) == {b}
    # The install record of the living environment survives; its archive row is a tombstone.
    with cache.db.read() as s:
        tomb = s.execute(
            text("SELECT deleted_at IS NOT NULL FROM archives WHERE id = :a"), {"a": a}
        )
        assert tomb.scalar() == 1
    assert dirs(cache) == {b}
    assert_consistent(cache)


# -- policies --------------------------------------------------------------------


def _lru_cache(cache: Cache, tmp_path: Path) -> tuple[list[str], str]:
    """Five archives used 50, 40, 30, 20, 10 days ago, plus a protected one unused for 60 days."""
    wheels = tmp_path / "wheels"
    ids = [store(cache, wheels, f"pkg{i}", nfiles=3) for i in range(5)]
    protected = store(cache, wheels, "pinned", nfiles=3)
    env = make_env(tmp_path / "env", [("pinned", "1.0")])
    install(cache, env, {"pinned": protected})
    backdate(cache, 100 * 86400)
    for i, aid in enumerate(ids):
        sql(
            cache,
            "UPDATE archives SET last_used_at = :t WHERE id = :a",
            t=time.time() - (50 - 10 * i) * 86400,
            a=aid,
        )
    sql(
        cache,
        "UPDATE archives SET last_used_at = :t WHERE id = :a",
        t=time.time() - 60 * 86400,
        a=protected,
    )
    return ids, protected


def test_max_age_evicts_old_entries_but_not_protected_roots(cache: Cache, tmp_path: Path) -> None:
    ids, protected = _lru_cache(cache, tmp_path)
    report = run(cache, Options(max_age=25 * 86400))
    assert [x.archive_id for x in report.archives] == ids[:3]
    assert all(x.reason == "max-age" for x in report.archives)
    assert live_ids(cache) == {*ids[3:], protected}
    assert protected in dirs(cache)
    assert_consistent(cache)


def test_max_size_evicts_least_recently_used_first(cache: Cache, tmp_path: Path) -> None:
    ids, protected = _lru_cache(cache, tmp_path)
    with cache.db.read() as s:
        sizes = {r[0]: r[1] for r in s.execute(text("SELECT id, unpacked_size FROM archives"))}
    # Room for the protected archive and the two most recently used ones.
    limit = sizes[protected] + sizes[ids[3]] + sizes[ids[4]]
    report = run(cache, Options(max_size=limit))
    assert [x.archive_id for x in report.archives] == ids[:3]
    assert report.freed == sum(sizes[a] for a in ids[:3])
    assert live_ids(cache) == {*ids[3:], protected}
    # Even a zero budget never evicts a living symlink root.
    run(cache, Options(max_size=0))
    assert live_ids(cache) == dirs(cache) == {protected}
    assert_consistent(cache)


def test_dry_run_changes_nothing(cache: Cache, tmp_path: Path) -> None:
    ids, protected = _lru_cache(cache, tmp_path)
    shutil.rmtree(tmp_path / "env")  # a stale environment it would mark
    leftover = cache.layout.tmp / "unpack-leftover"
    leftover.mkdir()
    os.utime(leftover, (time.time() - 2 * HOUR,) * 2)
    # Every file with its mtime, every row of every table.
    before = snapshot(cache.root, mtimes=True, tables=None)
    root = str(cache.root)
    cache.close()

    proc = cli("gc", "--cache-dir", root, "--max-size", "0", "--dry-run")
    assert "would remove" in proc.stdout
    summary = proc.stdout.splitlines()[-1]
    assert summary.startswith("Would remove 6 archives (")
    assert ", 1 stale environment, 1 orphan directory in " in summary
    # The environment is gone, so its archive is no longer protected either.
    data = json.loads(cli("clean", "--cache-dir", root, "--dry-run", "--json").stdout)
    assert data["dry_run"] is True and len(data["archives"]) == 6
    assert data["stale_environments"] == [str(tmp_path / "env")]

    with open_cache(root) as again:
        assert snapshot(again.root, mtimes=True, tables=None) == before


# -- crash leftovers and the grace period ------------------------------------------


def test_crash_leftovers_survive_the_grace_period_then_go(cache: Cache, tmp_path: Path) -> None:
    kept = store(cache, tmp_path / "wheels", "alpha")
    half = cache.layout.tmp / "unpack-0123456789abcdef-x"
    (half / "pkg").mkdir(parents=True)
    (half / "pkg" / "mod.py").write_text("partial")
    unregistered = cache.layout.archives / ("f" * 64)
    unregistered.mkdir()
    (unregistered / "file.py").write_text("x")

    report = run(cache, Options(grace=600))
    assert report.orphans == [] and half.exists() and unregistered.exists()
    assert live_ids(cache) == {kept}  # new archives are never collected either

    old = time.time() - 700
    for path in (half, unregistered):
        os.utime(path, (old, old))
    report = run(cache, Options(grace=600))
    assert sorted(report.orphans) == sorted(
        [f"archive-v0/{'f' * 64}", "tmp/unpack-0123456789abcdef-x"]
    )
    assert not half.exists() and not unregistered.exists()
    assert live_ids(cache) == dirs(cache) == {kept}
    assert event_kinds(cache).count("orphan.delete") == 2


def test_rows_whose_directory_vanished_and_links_without_rows(cache: Cache, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    a, b = store(cache, wheels, "alpha"), store(cache, wheels, "beta")
    shutil.rmtree(cache.archive_path(a))
    stray = cache.root / WHEELS_BUCKET / SOURCE / "ghost" / "ghost-1.0-py3-none-any"
    stray.parent.mkdir(parents=True)
    os.symlink("../../../archive-v0/" + b, stray)
    report = run(cache, Options())
    assert live_ids(cache) == {b}
    assert pointer_ids(cache) == {b}
    assert not os.path.lexists(stray)
    assert report.orphan_links == [f"{WHEELS_BUCKET}/{SOURCE}/ghost/ghost-1.0-py3-none-any"]
    assert "archive.vanished" in event_kinds(cache)
    assert_consistent(cache)


# -- leases ----------------------------------------------------------------------


def test_lease_of_live_process_protects_dead_one_does_not(cache: Cache, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    a, b = store(cache, wheels, "alpha"), store(cache, wheels, "beta")
    backdate(cache)
    held = cache.write_sql(lambda run: leases.acquire(run, [a, b]))
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    sql(cache, "UPDATE leases SET pid = :p WHERE id = :i", p=int(dead.stdout), i=held[1])

    run(cache, Options(clean=()))
    assert live_ids(cache) == {a}
    with cache.db.read() as s:
        assert list(s.scalars(text("SELECT archive_id FROM leases"))) == [a]

    leases.release(cache, held[:1])
    run(cache, Options())
    assert live_ids(cache) == dirs(cache) == set()


def test_expired_lease_does_not_protect(cache: Cache, tmp_path: Path) -> None:
    a = store(cache, tmp_path / "wheels", "alpha")
    backdate(cache)
    with leases.holding(cache, [a], ttl=-1):
        run(cache, Options(clean=()))
        assert live_ids(cache) == set()


def test_acquire_pointed_leases_in_the_reading_transaction(cache: Cache, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "wheels", "alpha")
    key = pointer_key(SOURCE, "alpha", wheel.name[:-4])
    aid = cache.put(WHEELS_BUCKET, key, wheel).archive_id
    got = cache.write_sql(lambda run: leases.acquire_pointed(run, WHEELS_BUCKET, key))
    assert got is not None and got[0] == aid
    assert cache.write_sql(lambda run: leases.acquire_pointed(run, WHEELS_BUCKET, "x/y/z")) is None
    backdate(cache)
    run(cache, Options(clean=()))
    assert live_ids(cache) == {aid} and pointer_ids(cache) == set()
    leases.release(cache, [got[1]])
    run(cache, Options())
    assert live_ids(cache) == set()


# -- clean -----------------------------------------------------------------------


def test_clean_name_removes_only_that_distribution(cache: Cache, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    a1 = store(cache, wheels, "foo-bar", "1.0")
    a2 = store(cache, wheels, "foo-bar", "2.0")
    other = store(cache, wheels, "other")
    root = str(cache.root)
    proc = cli("clean", "Foo_Bar", "--cache-dir", root)
    assert proc.stdout.startswith("Removed 2 archives (")
    assert live_ids(cache) == dirs(cache) == {other}
    assert pointer_ids(cache) == {other}
    assert {a1, a2}.isdisjoint(dirs(cache))
    assert_consistent(cache)


# -- report and events -----------------------------------------------------------


def test_report_line_and_events(cache: Cache, tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    ids = [store(cache, wheels, f"p{i}", nfiles=4) for i in range(3)]
    env = make_env(tmp_path / "env", [("p0", "1.0")])
    install(cache, env, {"p0": ids[0]}, mode="copy")
    shutil.rmtree(env)
    orphan = cache.layout.tmp / "unpack-old"
    orphan.mkdir()
    os.utime(orphan, (0, 0))
    backdate(cache)
    with cache.db.read() as s:
        total = sum(s.scalars(text("SELECT unpacked_size FROM archives")))
    sql(cache, "DELETE FROM pointers")

    proc = cli("gc", "--cache-dir", str(cache.root))
    line = proc.stdout.strip()
    from cachedb.gc import format_size

    assert line.startswith(
        f"Removed 3 archives ({format_size(total)}), 1 stale environment, 1 orphan directory in "
    )
    assert line.endswith("s") and float(line.rsplit(" in ", 1)[1][:-1]) >= 0
    kinds = event_kinds(cache)
    assert kinds.count("archive.delete") == 3
    assert kinds.count("environment.stale") == 1
    # The orphan directory plus the three on-disk links whose rows the test deleted.
    assert kinds.count("orphan.delete") == 4
    assert not any((cache.root / WHEELS_BUCKET / SOURCE).rglob("*-py3-none-any"))
    with cache.db.read() as s:
        cmd = s.scalar(text("SELECT command FROM events WHERE kind = 'archive.delete' LIMIT 1"))
    assert cmd.startswith("cachedb gc")


@pytest.mark.backends("sqlite")  # no database involved
@pytest.mark.parametrize(
    ("text_", "expected"),
    [("5GB", 5 * 10**9), ("2GiB", 2 * 1024**3), ("512kb", 512_000), ("0", 0), ("1.5MB", 1_500_000)],
)
def test_sizes(text_: str, expected: int) -> None:
    from cachedb.gc import parse_size

    assert parse_size(text_) == expected


@pytest.mark.backends("sqlite")  # no database involved
def test_bad_units_are_one_line_errors(tmp_path: Path) -> None:
    proc = cli("gc", "--cache-dir", str(tmp_path / "c"), "--grace", "10x", check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: invalid duration '10x'")
    assert len(proc.stderr.strip().splitlines()) == 1
    from cachedb.gc import format_size, parse_duration

    assert parse_duration("10m") == 600 and parse_duration("30d") == 30 * 86400
    assert format_size(402_653_184) == "384.0 MiB" and format_size(12) == "12 B"


# -- crash safety ------------------------------------------------------------------


def _kill_rounds(tmp_path: Path, rounds: int, seed: int) -> None:
    rng = random.Random(seed)
    root = tmp_path / "cache"
    wheels = tmp_path / "wheels"
    for rnd in range(rounds):
        with open_cache(root) as cache:
            for i in range(40):
                store(cache, wheels, f"r{rnd}p{i}", nfiles=20)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cachedb",
                "gc",
                "--cache-dir",
                str(root),
                "--max-size",
                "0",
                "--grace",
                "0s",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(rng.uniform(0.3, 1.0))  # start-up, then the sweep itself
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        cli("gc", "--cache-dir", str(root), "--grace", "0s")
        with open_cache(root) as cache:
            assert_consistent(cache)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_gc_killed_mid_sweep_is_finished_by_the_next_run(tmp_path: Path) -> None:
    _kill_rounds(tmp_path, rounds=2, seed=1)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_gc_killed_many_times(tmp_path: Path) -> None:
    _kill_rounds(tmp_path, rounds=8, seed=7)


# -- end to end with the real installer -----------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")
def test_gc_after_deleting_one_of_two_symlinked_venvs(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    for name in ("alpha", "beta", "gamma"):
        make_wheel(wheels, name)
    root = str(tmp_path / "cache")
    common = [
        "--cache-dir",
        root,
        "--link-mode",
        "symlink",
        "--find-links",
        str(wheels),
        "--no-index",
    ]
    cli("install", *common, "--venv", str(tmp_path / "v1"), "alpha", "beta")
    cli("install", *common, "--venv", str(tmp_path / "v2"), "beta", "gamma")

    data = json.loads(cli("clean", "--cache-dir", root, "--json").stdout)
    assert data["archives"] == [] and data["pointers_dropped"] == 3

    shutil.rmtree(tmp_path / "v1")
    data = json.loads(cli("gc", "--cache-dir", root, "--grace", "0s", "--json").stdout)
    assert [a["filename"] for a in data["archives"]] == ["alpha-1.0-py3-none-any.whl"]
    assert data["stale_environments"] == [str(tmp_path / "v1")]
    v2_python = tmp_path / "v2" / "bin" / "python"
    check = subprocess.run([str(v2_python), "-c", "import beta, gamma"], capture_output=True)
    assert check.returncode == 0, check.stderr
    with open_cache(root) as cache:
        assert _names(cache) == {"beta", "gamma"}
        assert_consistent(cache)


def _names(cache: Cache) -> set[str]:
    with cache.db.read() as s:
        return set(s.scalars(text("SELECT name FROM archives WHERE deleted_at IS NULL")))
