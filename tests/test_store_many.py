"""Cache.put_many: many wheels stored in one transaction, with every guarantee of put."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cachestate import connect, snapshot
from wheelbuilder import make_wheel

from cachedb.errors import DatabaseError, InvalidWheel, UsageError
from cachedb.gc import Options, run
from cachedb.store import WHEELS_BUCKET, Cache, open_cache, pointer_key, source_key
from cachedb.store.cache import PutItem
from cachedb.store.unpack import unpack_wheel

# Every test runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("backend")

SOURCE = source_key("https://pypi.example/simple")


def key_for(wheel: Path, source: str = SOURCE) -> str:
    from packaging.utils import parse_wheel_filename

    name = parse_wheel_filename(wheel.name)[0]
    return pointer_key(source, name, wheel.name[: -len(".whl")])


def sha_of(wheel: Path) -> str:
    return hashlib.sha256(wheel.read_bytes()).hexdigest()


def wheels(directory: Path, count: int, files: int = 3, version: str = "1.0") -> list[Path]:
    return [
        make_wheel(
            directory,
            f"pkg{i}",
            version,
            files={f"pkg{i}/m{j}.py": f"x = {i}{j}\n" * 20 for j in range(files)},
        )
        for i in range(count)
    ]


def items(cache: Cache, paths: list[Path], *, lease: bool = True) -> list[PutItem]:
    """Each wheel unpacked under tmp/, as the install pipeline hands them over."""
    out = []
    for wheel in paths:
        sha = sha_of(wheel)
        tree = unpack_wheel(wheel, cache.layout.tmp, archive_id=sha)
        out.append(PutItem(WHEELS_BUCKET, key_for(wheel), wheel, sha, lease, tree))
    return out


def db(cache_dir: Path) -> Any:
    return connect(cache_dir)


def events(cache_dir: Path) -> list[tuple[str, str | None]]:
    with db(cache_dir) as conn:
        return conn.execute("SELECT kind, new_archive FROM events ORDER BY id").fetchall()


def entries_in_tmp(cache: Cache) -> list[str]:
    return sorted(p.name for p in cache.layout.tmp.iterdir())


def test_put_many_lands_every_wheel_with_rows_pointers_and_leases(tmp_path: Path) -> None:
    paths = wheels(tmp_path / "w", 5)
    with open_cache(tmp_path / "cache") as cache:
        given = items(cache, paths)
        stored = cache.put_many(given)
        assert [e.key for e in stored] == [i.key for i in given]
        assert [e.archive_id for e in stored] == [sha_of(w) for w in paths]
        assert all(not i.unpacked.directory.exists() for i in given if i.unpacked)
        assert entries_in_tmp(cache) == []
        for wheel, entry in zip(paths, stored, strict=True):
            assert entry.path == cache.layout.archive_dir(entry.archive_id)
            assert cache.lookup(WHEELS_BUCKET, key_for(wheel)) == entry.path
            link = cache.layout.pointer_path(WHEELS_BUCKET, key_for(wheel))
            assert link.is_symlink() and not os.path.isabs(os.readlink(link))
        conn = db(tmp_path / "cache")
        leased = conn.execute("SELECT id, archive_id, pid FROM leases ORDER BY id").fetchall()
        assert sorted((e.lease_id, e.archive_id, os.getpid()) for e in stored) == leased
        cache.release([e.lease_id for e in stored if e.lease_id is not None])
    assert conn.execute("SELECT count(*) FROM leases").fetchone() == (0,)
    # Three modules and METADATA, WHEEL, RECORD each.
    assert conn.execute("SELECT count(*), sum(file_count) FROM archives").fetchone() == (5, 30)
    assert conn.execute("SELECT count(*) FROM archive_files").fetchone() == (30,)
    assert conn.execute("SELECT count(*) FROM pointers").fetchone() == (5,)
    # Each archive's event comes before its pointer's, in the order given.
    assert events(tmp_path / "cache") == [
        (kind, e.archive_id) for e in stored for kind in ("archive.insert", "pointer.insert")
    ]
    assert sorted(p.name for p in (tmp_path / "cache" / "archive-v0").iterdir()) == sorted(
        e.archive_id for e in stored
    )


def test_put_many_without_leases_or_trees(tmp_path: Path) -> None:
    paths = wheels(tmp_path / "w", 3)
    with open_cache(tmp_path / "cache") as cache:
        stored = cache.put_many([PutItem(WHEELS_BUCKET, key_for(w), w) for w in paths])
        assert [e.lease_id for e in stored] == [None, None, None]
        assert all((e.path / f"pkg{i}" / "m0.py").exists() for i, e in enumerate(stored))
        assert entries_in_tmp(cache) == []
        assert cache.put_many([]) == []


def test_an_archive_already_stored_is_only_pointed_at(tmp_path: Path) -> None:
    paths = wheels(tmp_path / "w", 3)
    with open_cache(tmp_path / "cache") as cache:
        first = cache.put(WHEELS_BUCKET, key_for(paths[0]), paths[0])
        inode = first.path.stat().st_ino
        given = items(cache, paths)
        # The stored one again under its own key and under a second source's key.
        other = key_for(paths[0], source_key("https://mirror.example/simple"))
        tree = unpack_wheel(paths[0], cache.layout.tmp)
        given.append(PutItem(WHEELS_BUCKET, other, paths[0], unpacked=tree, lease=True))
        stored = cache.put_many(given)
        assert stored[0].archive_id == first.archive_id == stored[3].archive_id
        assert first.path.stat().st_ino == inode  # the tree stayed as it was
        assert entries_in_tmp(cache) == []
        assert cache.lookup(WHEELS_BUCKET, other) == first.path
        cache.release([e.lease_id for e in stored if e.lease_id is not None])
    aid = first.archive_id
    assert events(tmp_path / "cache") == [
        ("archive.insert", aid),
        ("pointer.insert", aid),
        ("archive.insert", stored[1].archive_id),
        ("pointer.insert", stored[1].archive_id),
        ("archive.insert", stored[2].archive_id),
        ("pointer.insert", stored[2].archive_id),
        ("pointer.insert", aid),
    ]
    conn = db(tmp_path / "cache")
    assert conn.execute("SELECT count(*) FROM archives").fetchone() == (3,)
    assert conn.execute("SELECT count(*) FROM archive_files").fetchone() == (18,)


def test_a_pointer_is_swapped_and_the_old_tree_kept(tmp_path: Path) -> None:
    old = make_wheel(tmp_path / "old", "demo", "1.0", files={"demo/v.py": "OLD = 1\n"})
    new = make_wheel(tmp_path / "new", "demo", "1.0", files={"demo/v.py": "NEW = 1\n"})
    key = key_for(old)
    with open_cache(tmp_path / "cache") as cache:
        before = cache.put(WHEELS_BUCKET, key, old)
        extra = wheels(tmp_path / "w", 2)
        given = items(cache, [new, *extra])
        stored = cache.put_many(given)
        assert stored[0].key == key and stored[0].archive_id == sha_of(new)
        assert cache.lookup(WHEELS_BUCKET, key) == stored[0].path
        link = cache.layout.pointer_path(WHEELS_BUCKET, key)
        assert link.resolve() == stored[0].path.resolve()
        # A reader of the old archive still has its whole tree.
        assert (before.path / "demo" / "v.py").read_text() == "OLD = 1\n"
        cache.release([e.lease_id for e in stored if e.lease_id is not None])
    swaps = [e for e in events(tmp_path / "cache") if e[0] == "pointer.swap"]
    assert swaps == [("pointer.swap", stored[0].archive_id)]
    with db(tmp_path / "cache") as conn:
        row = conn.execute("SELECT old_archive FROM events WHERE kind = 'pointer.swap'").fetchone()
    assert row == (before.archive_id,)


def test_a_row_gc_marked_deleted_is_revived_among_new_ones(tmp_path: Path) -> None:
    paths = wheels(tmp_path / "w", 3)
    with open_cache(tmp_path / "cache") as cache:
        first = cache.put(WHEELS_BUCKET, key_for(paths[0]), paths[0])
        # What gc's marking transaction leaves before it removes the tree.
        with db(tmp_path / "cache") as conn:
            conn.execute("DELETE FROM pointers")
            conn.execute("UPDATE archives SET deleted_at = 1.0")
        stored = cache.put_many(items(cache, paths, lease=False))
        assert stored[0] == first
        assert (first.path / "pkg0" / "m0.py").exists()
        assert entries_in_tmp(cache) == []
    conn = db(tmp_path / "cache")
    assert conn.execute("SELECT count(*) FROM archives WHERE deleted_at IS NULL").fetchone() == (3,)
    assert conn.execute("SELECT count(*) FROM archive_files").fetchone() == (18,)
    assert [k for k, _ in events(tmp_path / "cache")][2:4] == ["archive.revive", "pointer.insert"]


def test_one_archive_under_two_keys_is_stored_once(tmp_path: Path) -> None:
    (wheel,) = wheels(tmp_path / "w", 1)
    mirror = source_key("https://mirror.example/simple")
    with open_cache(tmp_path / "cache") as cache:
        one, two = items(cache, [wheel, wheel])
        two = PutItem(WHEELS_BUCKET, key_for(wheel, mirror), wheel, two.sha256, True, two.unpacked)
        stored = cache.put_many([one, two])
        assert stored[0].archive_id == stored[1].archive_id
        assert stored[0].lease_id != stored[1].lease_id
        assert entries_in_tmp(cache) == []
        cache.release([e.lease_id for e in stored if e.lease_id is not None])
    assert [k for k, _ in events(tmp_path / "cache")] == [
        "archive.insert",
        "pointer.insert",
        "pointer.insert",
    ]
    assert len(list((tmp_path / "cache" / "archive-v0").iterdir())) == 1


@pytest.mark.parametrize("fault", ["bad key", "key twice", "tree of another wheel"])
def test_a_refused_item_stores_nothing_and_consumes_every_tree(tmp_path: Path, fault: str) -> None:
    paths = wheels(tmp_path / "w", 3)
    with open_cache(tmp_path / "cache") as cache:
        cache.put(WHEELS_BUCKET, key_for(paths[0]), paths[0])
        before = snapshot(tmp_path / "cache")
        given = items(cache, paths)
        last = given[-1]
        if fault == "bad key":
            given[-1] = PutItem(
                WHEELS_BUCKET, "../../escape/x/y", last.wheel, unpacked=last.unpacked
            )
        elif fault == "key twice":
            given[-1] = PutItem(WHEELS_BUCKET, given[1].key, last.wheel, unpacked=last.unpacked)
        else:
            given[-1] = PutItem(
                WHEELS_BUCKET, last.key, last.wheel, given[0].sha256, True, last.unpacked
            )
        with pytest.raises(UsageError if "key" in fault else ValueError):
            cache.put_many(given)
        assert entries_in_tmp(cache) == []
        assert snapshot(tmp_path / "cache") == before


def test_a_wheel_that_cannot_be_unpacked_stores_none(tmp_path: Path) -> None:
    paths = wheels(tmp_path / "w", 3)
    with open_cache(tmp_path / "cache") as cache:
        before = snapshot(tmp_path / "cache")
        given = items(cache, paths[:2])
        # No tree for the third, and its file is gone: unpacking it here fails.
        sha = sha_of(paths[2])
        paths[2].unlink()
        given.append(PutItem(WHEELS_BUCKET, key_for(paths[2]), paths[2], sha, True))
        with pytest.raises(InvalidWheel):
            cache.put_many(given)
        assert entries_in_tmp(cache) == []
        assert snapshot(tmp_path / "cache") == before


def test_a_tree_gone_before_its_rename_stores_nothing(tmp_path: Path) -> None:
    paths = wheels(tmp_path / "w", 4)
    with open_cache(tmp_path / "cache") as cache:
        before = snapshot(tmp_path / "cache")
        given = items(cache, paths)
        # The last tree is removed behind our back, as a gc sweeping tmp/ would: its
        # rename fails after the others' succeeded, and theirs are taken out again.
        last = given[-1]
        assert last.unpacked is not None
        shutil.rmtree(last.unpacked.directory)
        with pytest.raises(FileNotFoundError):
            cache.put_many(given)
        assert entries_in_tmp(cache) == []
        assert snapshot(tmp_path / "cache") == before


def test_a_failed_transaction_registers_nothing_and_consumes_every_tree(
    tmp_path: Path, backend: str | None
) -> None:
    paths = wheels(tmp_path / "w", 3)
    with open_cache(tmp_path / "cache") as cache:
        cache.put(WHEELS_BUCKET, key_for(paths[0]), paths[0])
        # A real database failure in the middle of the transaction (as a full disk would).
        with db(tmp_path / "cache") as conn:
            if backend is None:
                conn.execute(
                    "CREATE TRIGGER no_pointers BEFORE INSERT ON pointers"
                    " BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
                )
            else:
                conn.execute(
                    "CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql"
                    " AS $$ BEGIN RAISE EXCEPTION 'database or disk is full'; END $$"
                )
                conn.execute(
                    "CREATE TRIGGER no_pointers BEFORE INSERT ON pointers"
                    " FOR EACH ROW EXECUTE FUNCTION disk_full()"
                )
        before = snapshot(tmp_path / "cache")
        with pytest.raises(DatabaseError, match="disk is full"):
            cache.put_many(items(cache, paths))
        assert entries_in_tmp(cache) == []
        after = snapshot(tmp_path / "cache")
        assert after[1] == before[1]  # every row as it was
        # What is left is the unregistered trees under archive-v0/, which gc removes.
        extra = set(after[0]) - set(before[0])
        assert {p.split("/")[:2][-1] for p in extra} == {sha_of(w) for w in paths[1:]}
        assert all(p.startswith("archive-v0/") for p in extra)
        run(cache, Options(grace=0.0))
        assert snapshot(tmp_path / "cache")[0] == before[0]


_RACER = """
import sys, time
from pathlib import Path
from typing import Any
from cachedb.store import open_cache, pointer_key
from cachedb.store.cache import PutItem
from cachedb.store.unpack import unpack_wheel

cache_dir, go, me, *wheels = sys.argv[1:]
with open_cache(cache_dir) as cache:
    given = []
    for n, wheel in enumerate(map(Path, wheels)):
        name, stem = wheel.name.split("-")[0], wheel.name[: -len(".whl")]
        # Half the trees handed over unpacked, half left for put_many to unpack.
        tree = unpack_wheel(wheel, cache.layout.tmp) if (n + int(me)) % 2 else None
        key = pointer_key("src-" + me, name, stem)
        given.append(PutItem("wheels-v0", key, wheel, lease=True, unpacked=tree))
    while not Path(go).exists():
        time.sleep(0.005)
    stored = cache.put_many(given)
    for entry in stored:
        assert (entry.path / entry.key.split("/")[1] / "m0.py").is_file(), entry
    cache.release([e.lease_id for e in stored])
"""


def test_processes_racing_put_many_on_overlapping_archives(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    paths = wheels(tmp_path / "w", 6, files=40)
    open_cache(cache_dir).close()
    go = tmp_path / "go"
    racers = 4
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _RACER, str(cache_dir), str(go), str(me)]
            + [str(paths[(me + j) % len(paths)]) for j in (2, 0, 1)]  # overlapping, unsorted
        )
        for me in range(racers)
    ]
    time.sleep(0.5)
    go.touch()
    assert [p.wait(timeout=120) for p in procs] == [0] * racers
    conn = db(cache_dir)
    ids = sorted({sha_of(paths[(me + j) % len(paths)]) for me in range(racers) for j in range(3)})
    assert [r[0] for r in conn.execute("SELECT id FROM archives ORDER BY id")] == ids
    kinds = [k for k, _ in events(cache_dir)]
    assert kinds.count("archive.insert") == len(ids)
    assert kinds.count("pointer.insert") == racers * 3
    assert set(kinds) == {"archive.insert", "pointer.insert"}  # no revive, no restore
    assert conn.execute("SELECT count(*) FROM archive_files").fetchone() == (len(ids) * 43,)
    assert conn.execute("SELECT count(*) FROM pointers").fetchone() == (racers * 3,)
    assert conn.execute("SELECT count(*) FROM leases").fetchone() == (0,)
    assert sorted(p.name for p in (cache_dir / "archive-v0").iterdir()) == ids
    assert list((cache_dir / "tmp").iterdir()) == []
    assert _verify(cache_dir) == []


def _verify(cache_dir: Path) -> list[dict[str, str]]:
    proc = subprocess.run(
        [sys.executable, "-m", "cachedb", "verify", "--cache-dir", str(cache_dir)]
        + ["--check-contents", "--json"],
        capture_output=True,
        text=True,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    problems: list[dict[str, str]] = json.loads(proc.stdout)["problems"]
    return problems


_STORER = """
import sys
from pathlib import Path
from typing import Any
from cachedb.store import open_cache, pointer_key, staging
from cachedb.store.cache import PutItem
from cachedb.store.unpack import unpack_wheel

cache_dir, rounds, *wheels = sys.argv[1:]
# Like an install: tmp/ is marked in use, so gc leaves the staging trees be.
with open_cache(cache_dir) as cache, staging.in_use(cache.layout):
    for r in range(int(rounds)):
        given = []
        for wheel in map(Path, wheels):
            name, stem = wheel.name.split("-")[0], wheel.name[: -len(".whl")]
            tree = unpack_wheel(wheel, cache.layout.tmp)
            given.append(PutItem("wheels-v0", pointer_key(f"src{r % 3}", name, stem), wheel,
                                 lease=True, unpacked=tree))
        stored = cache.put_many(given)
        # Leased: whatever gc does now, every tree stays whole until we release it.
        for entry in stored:
            pkg = entry.key.split("/")[1]
            assert sorted(p.name for p in (entry.path / pkg).iterdir())[:2] == ["m0.py", "m1.py"]
        cache.release([e.lease_id for e in stored])
"""

_COLLECTOR = """
import sys
from pathlib import Path
from typing import Any
from cachedb.gc import Options, run
from cachedb.store import open_cache

cache_dir, stop = sys.argv[1:]
with open_cache(cache_dir) as cache:
    while not Path(stop).exists():
        run(cache, Options(grace=0.0, clean=()))
"""


def test_put_many_while_clean_runs_without_grace(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    paths = wheels(tmp_path / "w", 4, files=20)
    open_cache(cache_dir).close()
    stop = tmp_path / "stop"
    collector = subprocess.Popen([sys.executable, "-c", _COLLECTOR, str(cache_dir), str(stop)])
    try:
        storer = subprocess.run(
            [sys.executable, "-c", _STORER, str(cache_dir), "16", *map(str, paths)],
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        stop.touch()
        assert collector.wait(timeout=120) == 0
    assert storer.returncode == 0, storer.stderr
    conn = db(cache_dir)
    if isinstance(conn, sqlite3.Connection):
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert conn.execute("SELECT count(*) FROM leases").fetchone() == (0,)
    live = {r[0] for r in conn.execute("SELECT id FROM archives WHERE deleted_at IS NULL")}
    assert all((cache_dir / "archive-v0" / aid).is_dir() for aid in live)
    # Only what gc's own link removal may race with a store: link-level problems.
    links = ("pointer-missing-link", "pointer-wrong-target", "link-without-row")
    assert [p for p in _verify(cache_dir) if p["kind"] not in links] == []
