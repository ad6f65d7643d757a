"""The cache store: archives, pointers, lookups, and what survives concurrency."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cachestate import connect, snapshot
from wheelbuilder import make_wheel

from cachedb.store import WHEELS_BUCKET, open_cache, pointer_key, source_key

# Every test runs on SQLite and on PostgreSQL but those about SQLite itself.
pytestmark = pytest.mark.usefixtures("backend")

SOURCE = source_key("https://pypi.example/simple")


def key_for(wheel: Path) -> str:
    from packaging.utils import parse_wheel_filename

    name = parse_wheel_filename(wheel.name)[0]
    return pointer_key(SOURCE, name, wheel.name[: -len(".whl")])


def tree_digest(path: Path) -> dict[str, str]:
    return {
        p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def test_put_then_lookup_returns_canonical_archive(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "demo", "1.0")
    with open_cache(tmp_path / "cache") as cache:
        entry = cache.put(WHEELS_BUCKET, key_for(wheel), wheel)
        found = cache.lookup(WHEELS_BUCKET, key_for(wheel))
    assert found == tmp_path / "cache" / "archive-v0" / entry.archive_id
    assert entry.archive_id == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert (found / "demo" / "__init__.py").read_text() == "VERSION = '1.0'\n"
    link = tmp_path / "cache" / WHEELS_BUCKET / key_for(wheel)
    assert link.is_symlink() and not os.path.isabs(os.readlink(link))
    assert link.resolve() == found.resolve()
    assert (
        (tmp_path / "cache" / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172")
    )


def test_archive_rows_describe_the_wheel(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "Demo_Pkg", "2.0.1", executable=["demo_pkg/__init__.py"])
    with open_cache(tmp_path / "cache") as cache:
        entry = cache.put(WHEELS_BUCKET, key_for(wheel), wheel)
    conn = connect(tmp_path / "cache")
    name, version, tags, count, wheel_size = conn.execute(
        "SELECT name, version, tags, file_count, wheel_size FROM archives"
    ).fetchone()
    assert (name, version, tags, count) == ("demo-pkg", "2.0.1", "py3-none-any", 4)
    assert wheel_size == wheel.stat().st_size
    files = dict(conn.execute("SELECT path, executable FROM archive_files").fetchall())
    assert files["demo_pkg/__init__.py"] == 1
    kinds = [r[0] for r in conn.execute("SELECT kind FROM events ORDER BY id")]
    assert kinds == ["archive.insert", "pointer.insert"]
    assert os.access(entry.path / "demo_pkg" / "__init__.py", os.X_OK)


def test_file_counts_are_the_archives_numbers_of_files(tmp_path: Path) -> None:
    small = make_wheel(tmp_path / "w", "small", "1.0")
    files = {f"big/m{i}.py": "" for i in range(30)}
    big = make_wheel(tmp_path / "w", "big", "1.0", files=files)
    with open_cache(tmp_path / "cache") as cache:
        ids = [cache.put(WHEELS_BUCKET, key_for(w), w).archive_id for w in (small, big)]
        counts = cache.file_counts([*ids, "0" * 64])  # an id without a row: absent
    assert counts == {ids[0]: 4, ids[1]: 33}  # with METADATA, WHEEL and RECORD


def test_replace_swaps_pointer_and_keeps_old_tree_for_its_reader(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    old = make_wheel(tmp_path / "old", "demo", "1.0", files={"demo/__init__.py": "X = 'old'\n"})
    new = make_wheel(tmp_path / "new", "demo", "1.0", files={"demo/__init__.py": "X = 'new'\n"})
    key = key_for(old)
    with open_cache(cache_dir) as cache:
        cache.put(WHEELS_BUCKET, key, old)
        held = cache.lookup(WHEELS_BUCKET, key)
    assert held is not None
    before = tree_digest(held)
    # Another process replaces the entry while we hold the canonical path.
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from cachedb.store import open_cache
        with open_cache({str(cache_dir)!r}) as c:
            c.replace("wheels-v0", {key!r}, Path({str(new)!r}))
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True)
    assert tree_digest(held) == before
    assert (held / "demo" / "__init__.py").read_text() == "X = 'old'\n"
    with open_cache(cache_dir) as cache:
        now = cache.lookup(WHEELS_BUCKET, key)
    assert now is not None and now != held
    assert (now / "demo" / "__init__.py").read_text() == "X = 'new'\n"
    assert os.readlink(cache_dir / WHEELS_BUCKET / key).endswith(now.name)
    conn = connect(cache_dir)
    swap = conn.execute(
        "SELECT old_archive, new_archive FROM events WHERE kind = 'pointer.swap'"
    ).fetchall()
    assert swap == [(held.name, now.name)]


def test_reader_sees_complete_tree_during_concurrent_replacements(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    wheels = [
        make_wheel(
            tmp_path / f"v{i}",
            "demo",
            "1.0",
            files={f"demo/m{j}.py": f"# {i}-{j}\n" * 50 for j in range(30)},
        )
        for i in range(4)
    ]
    key = key_for(wheels[0])
    with open_cache(cache_dir) as cache:
        cache.put(WHEELS_BUCKET, key, wheels[0])
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from cachedb.store import open_cache
        wheels = {[str(w) for w in wheels]!r}
        with open_cache({str(cache_dir)!r}) as c:
            for round in range(3):
                for w in wheels:
                    c.replace("wheels-v0", {key!r}, Path(w))
        """
    )
    writer = subprocess.Popen([sys.executable, "-c", script])
    seen = 0
    try:
        with open_cache(cache_dir) as cache:
            while writer.poll() is None or seen == 0:
                path = cache.lookup(WHEELS_BUCKET, key)
                assert path is not None
                files = sorted(p.name for p in (path / "demo").iterdir())
                assert len(files) == 30
                seen += 1
    finally:
        writer.wait()
    assert writer.returncode == 0
    assert seen > 0


def test_two_processes_storing_same_wheel_make_one_archive(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    wheel = make_wheel(
        tmp_path / "w", "demo", "1.0", files={f"demo/m{j}.py": "x = 1\n" * 200 for j in range(50)}
    )
    open_cache(cache_dir).close()
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from cachedb.store import open_cache, pointer_key
        with open_cache({str(cache_dir)!r}) as c:
            c.put("wheels-v0", pointer_key("src-" + sys.argv[1], "demo", "demo-1.0-py3-none-any"),
                  Path({str(wheel)!r}))
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", script, str(i)]) for i in range(4)]
    assert [p.wait() for p in procs] == [0, 0, 0, 0]
    conn = connect(cache_dir)
    assert conn.execute("SELECT count(*) FROM archives").fetchone() == (1,)
    assert conn.execute("SELECT count(*) FROM pointers").fetchone() == (4,)
    assert len(list((cache_dir / "archive-v0").iterdir())) == 1
    assert list((cache_dir / "tmp").iterdir()) == []


def test_moved_cache_keeps_every_lookup(tmp_path: Path) -> None:
    wheels = [make_wheel(tmp_path / "w", f"pkg{i}", "1.0") for i in range(3)]
    with open_cache(tmp_path / "a" / "cache") as cache:
        for wheel in wheels:
            cache.put(WHEELS_BUCKET, key_for(wheel), wheel)
    shutil.move(tmp_path / "a" / "cache", tmp_path / "b")
    with open_cache(tmp_path / "b") as cache:
        for wheel in wheels:
            found = cache.lookup(WHEELS_BUCKET, key_for(wheel))
            assert found is not None and found.parent == tmp_path / "b" / "archive-v0"
            assert (tmp_path / "b" / WHEELS_BUCKET / key_for(wheel)).resolve() == found


def test_tampered_link_is_a_miss(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "demo", "1.0")
    key = key_for(wheel)
    with open_cache(tmp_path / "cache") as cache:
        cache.put(WHEELS_BUCKET, key, wheel)
        link = tmp_path / "cache" / WHEELS_BUCKET / key
        link.unlink()
        os.symlink("/etc", link)
        assert cache.lookup(WHEELS_BUCKET, key) is None
        assert not link.is_symlink() or os.readlink(link) != "/etc"
        # Storing again repairs the entry without a second archive.
        entry = cache.put(WHEELS_BUCKET, key, wheel)
        assert cache.lookup(WHEELS_BUCKET, key) == entry.path


def test_row_pointing_outside_archive_bucket_is_a_miss(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "demo", "1.0")
    key = key_for(wheel)
    with open_cache(tmp_path / "cache") as cache:
        cache.put(WHEELS_BUCKET, key, wheel)
    conn = connect(tmp_path / "cache")
    with conn:
        conn.execute("UPDATE archives SET relpath = '../../../../etc'")
    conn.close()
    with open_cache(tmp_path / "cache") as cache:
        assert cache.lookup(WHEELS_BUCKET, key) is None


def test_archive_symlinked_elsewhere_is_a_miss(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "demo", "1.0")
    key = key_for(wheel)
    with open_cache(tmp_path / "cache") as cache:
        entry = cache.put(WHEELS_BUCKET, key, wheel)
        shutil.rmtree(entry.path)
        os.symlink("/etc", entry.path)
        assert cache.lookup(WHEELS_BUCKET, key) is None


def test_vanished_archive_is_a_miss_and_is_repaired(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "demo", "1.0")
    key = key_for(wheel)
    with open_cache(tmp_path / "cache") as cache:
        entry = cache.put(WHEELS_BUCKET, key, wheel)
        shutil.rmtree(entry.path)
        assert cache.lookup(WHEELS_BUCKET, key) is None
        again = cache.put(WHEELS_BUCKET, key, wheel)
        assert cache.lookup(WHEELS_BUCKET, key) == again.path
        assert (again.path / "demo" / "__init__.py").exists()


def test_removed_link_is_restored_from_row(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "demo", "1.0")
    key = key_for(wheel)
    with open_cache(tmp_path / "cache") as cache:
        entry = cache.put(WHEELS_BUCKET, key, wheel)
        (tmp_path / "cache" / WHEELS_BUCKET / key).unlink()
        assert cache.lookup(WHEELS_BUCKET, key) == entry.path
        assert (tmp_path / "cache" / WHEELS_BUCKET / key).resolve() == entry.path


def test_pointer_files_where_links_are_unavailable(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "demo", "1.0")
    key = key_for(wheel)
    with open_cache(tmp_path / "cache", pointer_kind="file") as cache:
        entry = cache.put(WHEELS_BUCKET, key, wheel)
        pointer = tmp_path / "cache" / WHEELS_BUCKET / key
        assert pointer.is_file() and not pointer.is_symlink()
        assert pointer.read_text().strip() == f"../../../archive-v0/{entry.archive_id}"
        assert cache.lookup(WHEELS_BUCKET, key) == entry.path
        pointer.write_text("../../../../../etc\n")
        assert cache.lookup(WHEELS_BUCKET, key) is None


@pytest.mark.backends("sqlite")
def test_cache_dir_from_environment(tmp_path: Path) -> None:
    env = {**os.environ, "CACHEDB_CACHE_DIR": str(tmp_path / "envcache")}
    out = subprocess.run(
        [sys.executable, "-m", "cachedb", "dir"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == str(tmp_path / "envcache")
    out = subprocess.run(
        [sys.executable, "-m", "cachedb", "dir", "--cache-dir", str(tmp_path / "flag")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == str(tmp_path / "flag")


@pytest.mark.backends("sqlite")
def test_db_url_is_configurable(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "demo", "1.0")
    url = f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}"
    with open_cache(tmp_path / "cache", db_url=url) as cache:
        cache.put(WHEELS_BUCKET, key_for(wheel), wheel)
    assert not (tmp_path / "cache" / "cachedb.sqlite3").exists()
    conn = sqlite3.connect(tmp_path / "elsewhere.sqlite3")
    assert conn.execute("SELECT count(*) FROM archives").fetchone() == (1,)


@pytest.mark.backends("sqlite")
def test_sqlite_pragmas(tmp_path: Path) -> None:
    with open_cache(tmp_path / "cache") as cache, cache.db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000


def test_unknown_key_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    from cachedb.errors import UsageError

    wheel = make_wheel(tmp_path / "w", "demo", "1.0")
    with open_cache(tmp_path / "cache") as cache:
        before = snapshot(tmp_path / "cache")
        with pytest.raises(UsageError):
            cache.put(WHEELS_BUCKET, "../../escape/x/y", wheel)
        assert snapshot(tmp_path / "cache") == before


# --- storing in plain SQL, already-unpacked trees ----------------------------------


def events_of_db(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [r[0] for r in conn.execute("SELECT kind FROM events ORDER BY id")]
    finally:
        conn.close()


def events_of(cache_dir: Path) -> list[str]:
    conn = connect(cache_dir)
    try:
        return [r[0] for r in conn.execute("SELECT kind FROM events ORDER BY id")]
    finally:
        conn.close()


def test_storing_imports_neither_sqlalchemy_nor_alembic(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "demo", "1.0")
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from cachedb.store import open_cache
        with open_cache({str(tmp_path / "cache")!r}) as c:
            entry = c.put("wheels-v0", {key_for(wheel)!r}, Path({str(wheel)!r}), lease=True)
            c.release([entry.lease_id])
            assert c.lookup("wheels-v0", {key_for(wheel)!r}) == entry.path
        print(sorted({{m.split(".")[0] for m in sys.modules}} & {{"sqlalchemy", "alembic"}}))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    assert events_of(tmp_path / "cache") == ["archive.insert", "pointer.insert"]


def test_put_uses_an_already_unpacked_tree(tmp_path: Path) -> None:
    from cachedb.store.unpack import unpack_wheel

    wheel = make_wheel(tmp_path / "w", "demo", "1.0", executable=["demo/__init__.py"])
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    with open_cache(tmp_path / "cache") as cache:
        unpacked = unpack_wheel(wheel, cache.layout.tmp, archive_id=sha)
        wheel.unlink()  # so storing cannot have unpacked it again
        entry = cache.put(WHEELS_BUCKET, key_for(wheel), wheel, unpacked=unpacked, lease=True)
        assert entry.archive_id == sha and entry.lease_id is not None
        cache.release([entry.lease_id])
        assert cache.lookup(WHEELS_BUCKET, key_for(wheel)) == entry.path
        assert not unpacked.directory.exists()
        assert list(cache.layout.tmp.iterdir()) == []
    assert (entry.path / "demo" / "__init__.py").read_text() == "VERSION = '1.0'\n"
    conn = connect(tmp_path / "cache")
    files = dict(conn.execute("SELECT path, executable FROM archive_files").fetchall())
    assert files["demo/__init__.py"] == 1 and len(files) == 4
    assert conn.execute("SELECT count(*) FROM leases").fetchone() == (0,)
    assert events_of(tmp_path / "cache") == ["archive.insert", "pointer.insert"]


def test_an_unpacked_tree_is_consumed_whatever_happens(tmp_path: Path) -> None:
    from cachedb.errors import UsageError
    from cachedb.store.unpack import unpack_wheel

    wheel = make_wheel(tmp_path / "w", "demo", "1.0")
    with open_cache(tmp_path / "cache") as cache:
        first = cache.put(WHEELS_BUCKET, key_for(wheel), wheel)
        # Already stored: the tree is discarded and the entry stays as it was.
        again = unpack_wheel(wheel, cache.layout.tmp)
        assert cache.put(WHEELS_BUCKET, key_for(wheel), wheel, unpacked=again) == first
        assert not again.directory.exists()
        # Refused before anything is written: the tree goes too.
        before = snapshot(tmp_path / "cache")
        bad = unpack_wheel(wheel, cache.layout.tmp)
        with pytest.raises(UsageError):
            cache.put(WHEELS_BUCKET, "../../escape/x/y", wheel, unpacked=bad)
        assert snapshot(tmp_path / "cache") == before
    assert events_of(tmp_path / "cache") == ["archive.insert", "pointer.insert"]


def test_a_vanished_tree_is_restored_and_a_collected_row_revived(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "demo", "1.0")
    key = key_for(wheel)
    with open_cache(tmp_path / "cache") as cache:
        entry = cache.put(WHEELS_BUCKET, key, wheel)
        # The tree vanished behind a live row: storing again puts it back.
        shutil.rmtree(entry.path)
        assert cache.put(WHEELS_BUCKET, key, wheel) == entry
        assert (entry.path / "demo" / "__init__.py").exists()
        # A lookup that finds it gone again drops the pointer and marks the row deleted.
        shutil.rmtree(entry.path)
        assert cache.lookup(WHEELS_BUCKET, key) is None
        assert cache.put(WHEELS_BUCKET, key, wheel) == entry
        assert cache.lookup(WHEELS_BUCKET, key) == entry.path
    assert events_of(tmp_path / "cache") == [
        "archive.insert",
        "pointer.insert",
        "archive.restore",
        "pointer.dangling",
        "archive.revive",
        "pointer.insert",
    ]
    conn = connect(tmp_path / "cache")
    row = conn.execute("SELECT file_count, deleted_at FROM archives").fetchone()
    assert row == (4, None)
    assert conn.execute("SELECT count(*) FROM archive_files").fetchone() == (4,)


def test_two_threads_store_through_one_cache(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    wheels = [
        make_wheel(tmp_path / "w", f"pkg{i}", "1.0", files={f"pkg{i}/m.py": "x = 1\n" * 50})
        for i in range(12)
    ]
    with open_cache(tmp_path / "cache") as cache, ThreadPoolExecutor(2) as pool:
        entries = list(
            pool.map(lambda w: cache.put(WHEELS_BUCKET, key_for(w), w, lease=True), wheels)
        )
        cache.release([e.lease_id for e in entries if e.lease_id is not None])
        for wheel, entry in zip(wheels, entries, strict=True):
            assert cache.lookup(WHEELS_BUCKET, key_for(wheel)) == entry.path
    conn = connect(tmp_path / "cache")
    assert conn.execute("SELECT count(*) FROM archives").fetchone() == (12,)
    assert conn.execute("SELECT count(*) FROM archive_files").fetchone() == (12 * 4,)
    assert conn.execute("SELECT count(*) FROM leases").fetchone() == (0,)
    assert events_of(tmp_path / "cache").count("pointer.insert") == 12


def test_a_cold_install_imports_neither_sqlalchemy_nor_alembic(tmp_path: Path) -> None:
    from installtools import make_venv, run_in

    wheels = tmp_path / "wheels"
    make_wheel(wheels, "app", "1.0", requires=["lib==1.0"])
    make_wheel(wheels, "lib", "1.0")
    probe = (
        "import sys\n"
        "from cachedb.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'alembic'}))\n"
        "sys.exit(code)\n"
    )
    venv = make_venv(tmp_path / "venv")
    args = ["install", "-q", "--python", str(venv), "--cache-dir", str(tmp_path / "cache")]
    args += ["--no-index", "--find-links", str(wheels), "app==1.0"]
    keep = ("CACHEDB_DB_URL",)  # the backend's database
    env = {k: v for k, v in os.environ.items() if not k.startswith("CACHEDB_") or k in keep}
    out = subprocess.run(
        [sys.executable, "-c", probe, *args], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
    assert run_in(tmp_path / "venv", "import app, lib").returncode == 0
    assert events_of(tmp_path / "cache").count("archive.insert") == 2


@pytest.mark.backends("sqlite")
def test_storing_through_the_orm_when_sqlite3_cannot_take_the_url(tmp_path: Path) -> None:
    # A URL with options goes through SQLAlchemy: the same statements, file rows in chunks.
    wheel = make_wheel(
        tmp_path / "w",
        "demo",
        "1.0",
        files={f"demo/m{i}.py": "x = 1\n" for i in range(1200)},
        executable=["demo/m3.py"],
    )
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}?cached_statements=100"
    with open_cache(tmp_path / "cache", db_url=url) as cache:
        entry = cache.put(WHEELS_BUCKET, key_for(wheel), wheel, lease=True)
        assert entry.lease_id is not None
        cache.release([entry.lease_id])
        assert cache.lookup(WHEELS_BUCKET, key_for(wheel)) == entry.path
    conn = sqlite3.connect(tmp_path / "db.sqlite3")
    files = conn.execute("SELECT count(*), sum(executable) FROM archive_files").fetchone()
    assert files == (1203, 1)
    assert conn.execute("SELECT count(*) FROM leases").fetchone() == (0,)
    assert events_of_db(tmp_path / "db.sqlite3") == ["archive.insert", "pointer.insert"]


def test_canonical_answers_as_resolving_the_archive_does(tmp_path: Path) -> None:
    """The lstat shortcut for a plain archive directory equals resolving its path."""
    wheels = [make_wheel(tmp_path / "w", name, "1.0") for name in ("one", "two")]
    with open_cache(tmp_path / "cache") as cache:
        one, two = (cache.put(WHEELS_BUCKET, key_for(w), w).archive_id for w in wheels)
        bucket = cache.layout.archives
        made = {
            "link-to-sibling": ("a" * 64, lambda p: os.symlink(bucket / two, p)),
            "link-elsewhere": ("b" * 64, lambda p: os.symlink(tmp_path / "w", p)),
            "dangling-link": ("c" * 64, lambda p: os.symlink(tmp_path / "gone", p)),
            "plain-file": ("d" * 64, lambda p: p.write_text("")),
        }
        for archive_id, make in made.values():
            make(bucket / archive_id)

        def resolved(archive_id: str) -> Path | None:
            candidate = bucket / archive_id
            try:
                real = candidate.resolve(strict=True)
            except OSError:
                return None
            ok = real.parent == bucket.resolve() and real.is_dir()
            return candidate if ok else None

        ids = [one, two, "e" * 64, *(archive_id for archive_id, _ in made.values())]
        for archive_id in ids:
            relpath = f"archive-v0/{archive_id}"
            assert cache.canonical(archive_id, relpath) == resolved(archive_id), archive_id
        assert cache.canonical(one, f"archive-v0/{one}") == bucket / one
        assert cache.canonical("a" * 64, f"archive-v0/{'a' * 64}") == bucket / ("a" * 64)
        assert cache.canonical("b" * 64, f"archive-v0/{'b' * 64}") is None


def test_record_install_replaces_removes_and_bumps_in_one_run(tmp_path: Path) -> None:
    from cachedb.store import InstallRecord

    wheels = {n: make_wheel(tmp_path / "w", n, "1.0") for n in ("aa", "bb", "cc", "dd")}
    with open_cache(tmp_path / "cache") as cache:
        ids = {n: cache.put(WHEELS_BUCKET, key_for(w), w).archive_id for n, w in wheels.items()}
        first = [InstallRecord(ids[n], n, "1.0", "copy") for n in ("cc", "aa", "bb")]
        cache.record_install("/env", "python", first)
        # bb replaced (same name, another mode), cc removed, dd new: in one run.
        second = [InstallRecord(ids["dd"], "dd", "1.0", "hardlink"),
                  InstallRecord(ids["bb"], "bb", "1.0", "hardlink")]  # fmt: skip
        cache.record_install("/env", "python", second, removed=["cc"])
    conn = connect(tmp_path / "cache")
    installs = conn.execute(
        "SELECT name, archive_id, link_mode, removed_at IS NULL FROM installs ORDER BY id"
    ).fetchall()
    assert [tuple(r) for r in installs] == [
        ("cc", ids["cc"], "copy", 0),
        ("aa", ids["aa"], "copy", 1),
        ("bb", ids["bb"], "copy", 0),
        ("dd", ids["dd"], "hardlink", 1),
        ("bb", ids["bb"], "hardlink", 1),
    ]
    events = conn.execute(
        "SELECT kind, subject, old_archive, new_archive FROM events"
        " WHERE kind LIKE 'install.%' ORDER BY id"
    ).fetchall()
    assert [tuple(r) for r in events] == [
        ("install.insert", "/env:cc", None, ids["cc"]),
        ("install.insert", "/env:aa", None, ids["aa"]),
        ("install.insert", "/env:bb", None, ids["bb"]),
        ("install.remove", "/env:bb", ids["bb"], None),  # removals first, by name
        ("install.remove", "/env:cc", ids["cc"], None),
        ("install.insert", "/env:dd", None, ids["dd"]),
        ("install.insert", "/env:bb", None, ids["bb"]),
    ]
    used = dict(conn.execute("SELECT id, last_used_at FROM archives").fetchall())
    assert used[ids["dd"]] >= used[ids["aa"]]  # bumped by the second run
    conn.close()


def test_releasing_leases_drops_exactly_those(tmp_path: Path) -> None:
    from cachedb.store.leases import holding

    wheel = make_wheel(tmp_path / "w", "demo", "1.0")
    with open_cache(tmp_path / "cache") as cache:
        entry = cache.put(WHEELS_BUCKET, key_for(wheel), wheel)
        with holding(cache, [entry.archive_id] * 3) as outer:
            with holding(cache, [entry.archive_id] * 2) as inner:
                assert len({*outer, *inner}) == 5
            conn = connect(tmp_path / "cache")
            # Leaving the inner block released its two leases and none of the outer three.
            assert sorted(r[0] for r in conn.execute("SELECT id FROM leases")) == sorted(outer)
    assert connect(tmp_path / "cache").execute("SELECT count(*) FROM leases").fetchone() == (0,)


def test_cached_wheels_of_answers_as_cached_wheels_asked_name_by_name(tmp_path: Path) -> None:
    from packaging.utils import parse_wheel_filename

    other = source_key("https://elsewhere.example/simple/")
    wheels = [
        make_wheel(tmp_path / "w", "aa", "1.0"),
        make_wheel(tmp_path / "w", "aa", "2.0"),
        make_wheel(tmp_path / "w", "aa", "2.0", tag="py311-none-any"),
        make_wheel(tmp_path / "w", "b-b", "1.0"),
        make_wheel(tmp_path / "w2", "b-b", "2.0"),
    ]
    with open_cache(tmp_path / "cache") as cache:
        entries = [cache.put(WHEELS_BUCKET, key_for(w), w) for w in wheels]
        # The same file from a second source: a second pointer to one archive.
        name = parse_wheel_filename(wheels[0].name)[0]
        cache.put(WHEELS_BUCKET, pointer_key(other, name, wheels[0].name[:-4]), wheels[0])
    conn = connect(tmp_path / "cache")
    with conn:  # an archive gc marked deleted is no entry
        conn.execute("UPDATE archives SET deleted_at = 1 WHERE id = ?", (entries[4].archive_id,))
    pins = [("aa", "1.0"), ("aa", "2.0"), ("aa", "3.0"), ("b-b", "1.0"), ("b-b", "2.0")]
    pins += [("cc", "1.0"), ("aa", "1.0")]
    with open_cache(tmp_path / "cache") as cache:
        names = ["aa", "b-b", "cc"]
        batch = cache.cached_wheels_of(names)
        name_by_name = {name: cache.cached_wheels(name) for name in names}
        one_by_one = {pin: cache.cached_wheels(*pin) for pin in pins}
    assert batch == name_by_name
    assert [len(batch[n]) for n in names] == [4, 1, 0]
    # A pin's wheels are the name's of that version, in the same order.
    assert {(n, v): [w for w in batch[n] if w.version == v] for n, v in pins} == one_by_one
    assert [len(one_by_one[p]) for p in pins[:6]] == [2, 2, 0, 1, 0, 0]
