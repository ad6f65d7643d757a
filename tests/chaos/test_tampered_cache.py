"""A cache turned against its owner: a tampered database, planted symbolic links.

Whatever the database or the cache directory says, cachedb deletes, writes and
follows nothing outside the cache: archive ids and relpaths read from the
database are checked before any filesystem use, and a cache whose top-level
folders are not real directories is refused with one line.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from cachestate import listing
from chaoskit import (
    assert_one_line_error,
    assert_verify_clean,
    cli,
    make_venv,
    query,
    run_in,
)
from indexserver import IndexServer
from wheelbuilder import make_wheel

# The tampered-database tests run on SQLite and on PostgreSQL; the planted-link ones,
# which no database enters, on SQLite only.
pytestmark = [
    pytest.mark.skipif(os.name == "nt", reason="POSIX links and venv layout"),
    pytest.mark.usefixtures("backend"),
]

TOP_LEVEL = ("tmp", "archive-v0", "wheels-v0", "built-wheels-v0", "locks", "simple-v0")


@dataclass
class Cached:
    tmp: Path
    cache: Path
    venv: Path
    server: IndexServer
    victim: Path  # a sibling of the cache, full of files nothing may touch

    def install(self, venv: Path, *reqs: str, mode: str = "copy"):  # type: ignore[no-untyped-def]
        return cli(
            "install", "--cache-dir", self.cache, "--index-url", self.server.url,
            "--venv", venv, "--link-mode", mode, *reqs,
        )  # fmt: skip


@pytest.fixture
def cached(tmp_path: Path, index_server: IndexServer) -> Cached:
    index_server.add(make_wheel(tmp_path / "wheels", "good", "1.0"))
    victim = tmp_path / "victim"
    (victim / "sub").mkdir(parents=True)
    (victim / "precious.txt").write_text("keep me")
    (victim / "sub" / "more.txt").write_text("and me")
    world = Cached(tmp_path, tmp_path / "cache", tmp_path / "venv", index_server, victim)
    proc = world.install(world.venv, "good")
    assert proc.returncode == 0, proc.stderr
    return world


def _siblings(world: Cached) -> dict[str, str]:
    """Everything next to the cache (the cache and the target environments excluded)."""
    return {
        k: v
        for k, v in listing(world.tmp).items()
        if k.split("/")[0] not in ("cache", "wheels") and not k.startswith("venv")
    }


def _plant_archive_row(cache: Path, archive_id: str, relpath: str) -> None:
    from cachestate import connect

    if os.environ.get("CACHEDB_DB_URL") and len(archive_id) > 64:
        pytest.skip("PostgreSQL itself refuses an id longer than its VARCHAR(64) column")
    conn = connect(cache)
    with conn:
        conn.execute(
            "INSERT INTO archives (id, relpath, filename, name, version, tags, unpacked_size,"
            " file_count, wheel_size, created_at, last_used_at)"
            " VALUES (?, ?, 'victim-1.0-py3-none-any.whl', 'victim', '1.0', 'py3-none-any',"
            " 10000000, 1, 1, 0, 0)",
            (archive_id, relpath),
        )
    conn.close()


GC_COMMANDS = (
    ("gc", "--max-size", "0", "--grace", "0s"),
    ("gc", "--grace", "0s"),
    ("clean",),
    ("clean", "victim"),
)


@pytest.mark.parametrize("bad_id", ["../../victim", "../../victim/sub/..", "/abs/victim"])
def test_archive_id_that_is_a_path_deletes_nothing_outside(cached: Cached, bad_id: str) -> None:
    target = (cached.cache / "archive-v0" / bad_id).resolve()
    if bad_id == "/abs/victim":
        bad_id = str(cached.victim)
        target = cached.victim
    assert target == cached.victim
    _plant_archive_row(cached.cache, bad_id, f"archive-v0/{bad_id}")
    before = _siblings(cached)
    for args in GC_COMMANDS:
        proc = cli(*args, "--cache-dir", cached.cache)
        assert "Traceback" not in proc.stderr, proc.stderr
        assert _siblings(cached) == before, args
    # verify names the bad row; repair drops it without touching the disk outside.
    proc = cli("verify", "--cache-dir", cached.cache, "--json")
    assert proc.returncode == 1, proc.stdout
    assert '"archive-bad-id"' in proc.stdout, proc.stdout
    proc = cli("verify", "--cache-dir", cached.cache, "--check-contents", "--repair")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _siblings(cached) == before
    assert query(cached.cache, "SELECT count(*) FROM archives WHERE id = ?", [bad_id]) == [(0,)]
    assert_verify_clean(cached.cache)


def test_relpath_that_leaves_the_archive_bucket_is_never_used(cached: Cached) -> None:
    (aid,) = query(cached.cache, "SELECT id FROM archives WHERE name = 'good'")[0]
    shutil.copytree(cached.cache / "archive-v0" / str(aid), cached.victim / "good-tree")
    (cached.victim / "good-tree" / "good" / "__init__.py").write_text("raise SystemExit('no')\n")
    query_rw = (
        f"UPDATE archives SET relpath = 'archive-v0/../../victim/good-tree' WHERE id = '{aid}'"
    )
    from cachestate import connect

    conn = connect(cached.cache)
    with conn:
        conn.execute(query_rw)
    conn.close()
    before = _siblings(cached)
    proc = cli("verify", "--cache-dir", cached.cache, "--json")
    assert '"archive-bad-relpath"' in proc.stdout, proc.stdout
    venv = cached.tmp / "venv2"
    proc = cached.install(venv, "good")
    assert proc.returncode == 0, proc.stderr
    ran = run_in(venv, "import good; print(good.VERSION)")
    assert ran.returncode == 0 and ran.stdout.strip() == "1.0", ran.stderr
    for args in GC_COMMANDS:
        cli(*args, "--cache-dir", cached.cache)
        assert _siblings(cached) == before, args
    assert _siblings(cached) == before


# -- planted links in place of the cache's own folders ------------------------------------


def _plant_folder_link(world: Cached, folder: str) -> Path:
    """Replace ``<cache>/<folder>`` by a link to a directory outside holding a copy of it."""
    outside = world.tmp / f"outside-{folder}"
    path = world.cache / folder
    if path.exists():
        shutil.copytree(path, outside, symlinks=True)
        shutil.rmtree(path)
    else:
        outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    os.symlink(outside, path, target_is_directory=True)
    return outside


@pytest.mark.backends("sqlite")
@pytest.mark.parametrize("folder", TOP_LEVEL)
def test_cache_with_a_linked_top_level_folder_is_refused(cached: Cached, folder: str) -> None:
    _plant_folder_link(cached, folder)
    before = _siblings(cached)
    venv = make_venv(cached.tmp / "venv2")
    venv_before = listing(venv)
    for args in (
        ("gc", "--max-size", "0", "--grace", "0s", "--cache-dir", cached.cache),
        ("clean", "--cache-dir", cached.cache),
        ("verify", "--check-contents", "--repair", "--cache-dir", cached.cache),
    ):
        proc = cli(*args)
        assert_one_line_error(proc, "symbolic link", folder)
        assert _siblings(cached) == before, args
    assert_one_line_error(cached.install(venv, "good"), "symbolic link", folder)
    assert_one_line_error(cached.install(venv, "good", mode="symlink"), "symbolic link", folder)
    assert _siblings(cached) == before
    assert listing(venv) == venv_before


@pytest.mark.backends("sqlite")
def test_lock_file_planted_as_a_link_is_never_followed(cached: Cached) -> None:
    (aid,) = query(cached.cache, "SELECT id FROM archives WHERE name = 'good'")[0]
    outside = cached.tmp / "outside-locks"
    outside.mkdir()
    before = _siblings(cached)
    planted = []
    for name in (f"archive-{aid}.lock", "staging.lock", "migrate.lock"):
        link = cached.cache / "locks" / name
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(outside / name, link)
        planted.append(link)
    for args in (
        ("install", "--cache-dir", cached.cache, "--index-url", cached.server.url,
         "--venv", cached.tmp / "venv2", "--refresh", "good"),
        ("gc", "--max-size", "0", "--grace", "0s", "--cache-dir", cached.cache),
        ("clean", "--cache-dir", cached.cache),
        ("verify", "--check-contents", "--repair", "--cache-dir", cached.cache),
    ):  # fmt: skip
        proc = cli(*args)
        # Refused when it needs one of the planted locks; a verify with nothing to do needs none.
        if args[0] != "verify" or proc.returncode != 0:
            assert_one_line_error(proc, "symbolic link", ".lock")
        assert list(outside.iterdir()) == []
    assert _siblings(cached) == before | {
        k: v for k, v in _siblings(cached).items() if "venv2" in k
    }


@pytest.mark.backends("sqlite")
def test_linked_folder_inside_a_pointer_bucket_is_never_written_through(cached: Cached) -> None:
    (key,) = query(cached.cache, "SELECT bucket || '/' || key FROM pointers")[0]
    source = cached.cache / Path(str(key)).parents[1]  # wheels-v0/<source>
    outside = cached.tmp / "outside-source"
    shutil.copytree(source, outside, symlinks=True)
    shutil.rmtree(source)
    os.symlink(outside, source, target_is_directory=True)
    cached.server.add(make_wheel(cached.tmp / "wheels", "other", "1.0"))
    before = _siblings(cached)
    for args in (
        ("install", "--cache-dir", cached.cache, "--index-url", cached.server.url,
         "--venv", cached.tmp / "venv2", "--link-mode", "copy", "good", "other"),
        ("gc", "--max-size", "0", "--grace", "0s", "--cache-dir", cached.cache),
        ("clean", "--cache-dir", cached.cache),
        ("verify", "--check-contents", "--repair", "--cache-dir", cached.cache),
    ):  # fmt: skip
        proc = cli(*args)
        assert "Traceback" not in proc.stderr, proc.stderr
        if proc.returncode != 0 and args[0] != "verify":
            assert_one_line_error(proc, "symbolic link")
        assert _siblings(cached) == before, args
    assert not os.path.islink(source)  # verify --repair removed the planted link itself
    assert_verify_clean(cached.cache)
