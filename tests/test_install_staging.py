"""Wheels are unpacked into ``tmp/`` while others still download; the cache changes only
once every wheel is fetched, verified and unpacked, and a failure anywhere leaves it
(``tmp/`` included) exactly as it was.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cachestate import snapshot
from indexserver import Handler, IndexServer
from installtools import cachedb, make_venv, run_in, tree
from wheelbuilder import make_wheel

from cachedb.index import IndexClient
from cachedb.install.fetching import Fetcher
from cachedb.store import open_cache

# Enough distributions that some finish downloading (and unpacking) before the failure.
NAMES = [f"pkg{i}" for i in range(6)]

# Every test runs on SQLite and on PostgreSQL.
pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture
def world(tmp_path: Path, index_server: IndexServer) -> dict[str, Path]:
    """An index with six small wheels; a venv and the cache already hold one other."""
    wheels = tmp_path / "wheels"
    for name in NAMES:
        files = {f"{name}/__init__.py": f"NAME = {name!r}\n", f"{name}/data.txt": name * 1000}
        index_server.add(make_wheel(wheels, name, "1.0", files=files))
    index_server.add(make_wheel(wheels, "first", "1.0"))
    world = {"wheels": wheels, "cache": tmp_path / "cache", "tmp": tmp_path}
    venv = tmp_path / "env"
    make_venv(venv)
    out = install(world, index_server, venv, "first")
    assert out.returncode == 0, out.stderr
    return world


def install(world: dict[str, Path], server: IndexServer, venv: Path, *args: str, **kw: str):  # type: ignore[no-untyped-def]
    return cachedb(
        "install",
        "--cache-dir",
        world["cache"],
        "--index-url",
        server.url,
        "--venv",
        venv,
        *args,
        env=dict(kw),
    )


def _fails_and_changes_nothing(
    world: dict[str, Path], server: IndexServer, *args: str, **env: str
) -> str:
    venv = world["tmp"] / "env"  # interpreter already known: a failure writes nothing at all
    before = snapshot(world["cache"])
    env_before = tree(venv)
    out = install(world, server, venv, *args, **env)
    assert out.returncode != 0
    errors: list[str] = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, out.stderr
    assert snapshot(world["cache"]) == before  # tmp/ included: no staging tree is left
    assert list((world["cache"] / "tmp").iterdir()) == []
    assert tree(venv) == env_before
    return errors[0]


def test_install_of_many_wheels_stores_and_links_each(
    world: dict[str, Path], index_server: IndexServer
) -> None:
    venv = world["tmp"] / "venv"
    make_venv(venv)
    out = install(world, index_server, venv, *NAMES)
    assert out.returncode == 0, out.stderr
    code = "import " + ", ".join(NAMES) + "; print(" + ", ".join(f"{n}.NAME" for n in NAMES) + ")"
    assert run_in(venv, code).stdout.split() == NAMES
    assert list((world["cache"] / "tmp").iterdir()) == []
    # The same wheels again: every one is already in the cache.
    again = world["tmp"] / "again"
    make_venv(again)
    out = install(world, index_server, again, *NAMES)
    assert out.returncode == 0, out.stderr


def test_hash_mismatch_after_other_downloads_changes_nothing(
    world: dict[str, Path], index_server: IndexServer
) -> None:
    lines = []
    for name in NAMES:
        wheel = world["wheels"] / f"{name}-1.0-py3-none-any.whl"
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        if name == NAMES[-2]:
            digest = "0" * 64
        lines.append(f"{name}==1.0 --hash=sha256:{digest}\n")
    reqs = world["tmp"] / "r.txt"
    reqs.write_text("".join(lines))
    error = _fails_and_changes_nothing(world, index_server, "-r", str(reqs))
    assert f"hash mismatch for {NAMES[-2]}-1.0-py3-none-any.whl" in error


def test_stalled_download_after_others_were_unpacked_changes_nothing(
    world: dict[str, Path], index_server: IndexServer
) -> None:
    index_server.faults[f"{NAMES[0]}-1.0-py3-none-any.whl"] = "stall"
    error = _fails_and_changes_nothing(world, index_server, *NAMES, CACHEDB_HTTP_TIMEOUT="1")
    assert "timed out" in error


@pytest.mark.parametrize("pinned", [False, True], ids=["by-name", "pinned"])
def test_invalid_wheel_among_good_ones_stores_none_of_them(
    world: dict[str, Path], index_server: IndexServer, pinned: bool
) -> None:
    bad = make_wheel(
        world["tmp"] / "bad",
        "broken",
        "1.0",
        record_overrides={
            "broken/__init__.py": "broken/__init__.py,sha256=AAAAAAAAAAAAAAAAAAAAAAAAAAAA,16"
        },
    )
    index_server.add(bad)
    wanted = [*NAMES, "broken"]
    if pinned:  # downloads then start while the pins are being read, before resolving
        reqs = world["tmp"] / "pins.txt"
        reqs.write_text("".join(f"{name}==1.0\n" for name in wanted))
        wanted = ["-r", str(reqs)]
    venv = world["tmp"] / "env"
    env_before = tree(venv)
    cache_before = snapshot(world["cache"])
    out = install(world, index_server, venv, *wanted)
    errors = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert out.returncode != 0 and len(errors) == 1, out.stderr
    assert "broken/__init__.py" in errors[0] and "RECORD" in errors[0]
    # Every wheel is unpacked (and so checked) before the first is stored: the good
    # ones are not stored either, and no staging tree is left in tmp/.
    assert snapshot(world["cache"]) == cache_before
    assert tree(venv) == env_before


def test_pins_that_fail_to_resolve_after_their_downloads_started_change_nothing(
    world: dict[str, Path], index_server: IndexServer
) -> None:
    index_server.add(make_wheel(world["tmp"] / "needy", "needy", "1.0", requires=["absent>=1"]))
    reqs = world["tmp"] / "pins.txt"
    reqs.write_text("".join(f"{name}==1.0\n" for name in [*NAMES, "needy"]))
    error = _fails_and_changes_nothing(world, index_server, "-r", str(reqs))
    assert "absent" in error


def test_wheel_already_stored_under_another_source_is_only_pointed_at(
    world: dict[str, Path], index_server: IndexServer
) -> None:
    venv = world["tmp"] / "venv"
    make_venv(venv)
    assert install(world, index_server, venv, NAMES[0]).returncode == 0
    archives = sorted(p.name for p in (world["cache"] / "archive-v0").iterdir())
    # The same file from a find-links directory: another pointer, the same archive.
    other = world["tmp"] / "other"
    make_venv(other)
    out = cachedb(
        "install",
        "--cache-dir",
        world["cache"],
        "--no-index",
        "--find-links",
        world["wheels"],
        "--venv",
        other,
        NAMES[0],
    )
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in (world["cache"] / "archive-v0").iterdir()) == archives
    assert list((world["cache"] / "tmp").iterdir()) == []
    assert run_in(other, f"import {NAMES[0]}").returncode == 0


def _fetcher(tmp_path: Path, client: IndexClient, **hashes: frozenset[str]) -> Fetcher:
    cache = open_cache(tmp_path / "cache")
    return Fetcher(cache, client, hashes, len(NAMES))


def test_fetcher_downloads_each_file_once_and_unpacks_it(
    index_server: IndexServer, tmp_path: Path
) -> None:
    for name in NAMES:
        index_server.add(make_wheel(tmp_path / "src", name, "1.0"))
    with IndexClient(index_urls=[index_server.url], cache_dir=None, concurrency=3) as client:
        fetcher = _fetcher(tmp_path, client)
        try:
            wanted = [(name, client.project_links(name)[0]) for name in NAMES]
            for name, link in wanted[:3]:
                fetcher.start(name, link)  # early, as the prefetch does
            got = fetcher.results(wanted + wanted[:1])  # started twice, fetched once
            assert [d.path.name for d in got] == [f"{n}-1.0-py3-none-any.whl" for n in NAMES] + [
                f"{NAMES[0]}-1.0-py3-none-any.whl"
            ]
            assert got[0] is got[-1]
            trees = [fetcher.unpacks.take(d.path) for d in got[:-1]]
            assert all(t is not None and t.name == n for t, n in zip(trees, NAMES, strict=True))
        finally:
            fetcher.close()
    assert not fetcher.staging.exists()
    for taken in trees:
        assert taken is not None
        shutil.rmtree(taken.directory)  # taken trees are the caller's
    assert list((tmp_path / "cache" / "tmp").iterdir()) == []


def test_fetcher_reads_as_many_pages_at_once_as_its_index_allows(
    index_server: IndexServer, tmp_path: Path
) -> None:
    """A pinned set's pages are latency, not bytes: the prefetch asks for as many at once
    as the index client's ``page_concurrency`` (more than its downloads at once)."""
    with IndexClient(index_urls=[index_server.url], cache_dir=None, concurrency=2) as client:
        client.page_concurrency = 6
        fetcher = _fetcher(tmp_path, client)
        together = threading.Barrier(6, timeout=10)  # broken unless all six run at once
        try:
            fetcher.each(lambda _: together.wait(), range(6))
        finally:
            fetcher.close()


def test_fetcher_starts_the_largest_waiting_download_first(tmp_path: Path) -> None:
    """While every download thread is busy, the downloads asked for wait; the largest
    (by the size its index declares) goes first, those with no size declared last."""
    gate = threading.Event()

    class Gated(Handler):  # holds the first download until every other one is asked for
        def _file(self, filename: str) -> None:
            if filename.startswith("first-"):
                gate.wait(30)
            super()._file(filename)

    sizes = {"small": 1, "large": 200, "medium": 50, "unsized": 400, "tiny": 0}
    with IndexServer(handler=Gated) as server:
        server.add(make_wheel(tmp_path / "src", "first", "1.0"))
        for name, kib in sizes.items():
            files = {f"{name}/data.bin": os.urandom(kib * 1024)}
            wheel = make_wheel(tmp_path / "src", name, "1.0", files=files)
            server.add(wheel, size=None if name == "unsized" else -1)
        with IndexClient(index_urls=[server.url], cache_dir=None, concurrency=1) as client:
            fetcher = _fetcher(tmp_path, client)
            try:
                links = {n: client.project_links(n)[0] for n in ["first", *sizes]}
                fetcher.start("first", links["first"])
                while not any("first-" in path for path in server.requests):
                    time.sleep(0.01)  # the one download thread is now busy
                for name in sizes:  # asked for in this order
                    fetcher.start(name, links[name])
                gate.set()
                fetcher.results(list(links.items()))
            finally:
                gate.set()
                fetcher.close()
        files = [p.rsplit("/", 1)[1].split("-")[0] for p in server.requests if "/files/" in p]
    assert files == ["first", "large", "medium", "small", "tiny", "unsized"]


def test_downloads_asked_for_while_pages_are_read_start_largest_first(
    index_server: IndexServer, tmp_path: Path
) -> None:
    """The prefetch asks for each download as its page arrives, smallest page first
    here; none starts before every page is read, so the largest goes first even while
    a download thread is free (the index's page order is no size order)."""
    sizes = {"small": 1, "tiny": 0, "large": 300, "medium": 60}
    for name, kib in sizes.items():
        files = {f"{name}/data.bin": os.urandom(kib * 1024)}
        index_server.add(make_wheel(tmp_path / "src", name, "1.0", files=files))
    with IndexClient(index_urls=[index_server.url], cache_dir=None, concurrency=1) as client:
        client.page_concurrency = 1  # pages in the order asked
        fetcher = _fetcher(tmp_path, client)
        try:
            fetcher.each(lambda n: fetcher.start(n, client.project_links(n)[0]), list(sizes))
            links = [(n, client.project_links(n)[0]) for n in sizes]
            fetcher.results(links)
        finally:
            fetcher.close()
    files = [p.rsplit("/", 1)[1].split("-")[0] for p in index_server.requests if "/files/" in p]
    assert files == ["large", "medium", "small", "tiny"]


def test_fetcher_leaves_a_wheel_whose_hash_is_refused_unpacked_by_nobody(
    index_server: IndexServer, tmp_path: Path
) -> None:
    index_server.add(make_wheel(tmp_path / "src", "one", "1.0"))
    with IndexClient(index_urls=[index_server.url], cache_dir=None) as client:
        fetcher = _fetcher(tmp_path, client, one=frozenset({"sha256:" + "0" * 64}))
        try:
            (got,) = fetcher.results([("one", client.project_links("one")[0])])
            assert fetcher.unpacks.take(got.path) is None
        finally:
            fetcher.close()
    assert list((tmp_path / "cache" / "tmp").iterdir()) == []


@pytest.mark.skipif(sys.platform == "win32", reason="process groups and SIGINT are POSIX")
def test_ctrl_c_while_downloading_stops_every_process_and_changes_nothing(
    world: dict[str, Path], index_server: IndexServer
) -> None:
    index_server.faults[f"{NAMES[-1]}-1.0-py3-none-any.whl"] = "stall"
    reqs = world["tmp"] / "pins.txt"
    reqs.write_text("".join(f"{name}==1.0\n" for name in NAMES))
    venv = world["tmp"] / "env"
    before, env_before = snapshot(world["cache"]), tree(venv)
    tmp = world["cache"] / "tmp"
    keep = ("CACHEDB_DB_URL",)  # the backend's database
    env = {k: v for k, v in os.environ.items() if not k.startswith("CACHEDB_") or k in keep}
    command = ["install", "--cache-dir", world["cache"], "--index-url", index_server.url]
    proc = subprocess.Popen(
        [sys.executable, "-m", "cachedb", *map(str, command), "--venv", str(venv), "-r", str(reqs)],
        env={**env, "CACHEDB_HTTP_TIMEOUT": "3"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's Ctrl-C reaches
    )
    try:
        # Wait (a bounded number of rounds) until other wheels are unpacked meanwhile.
        for _ in range(600):
            if tmp.is_dir() and any(p.name.startswith("unpack-") for p in tmp.iterdir()):
                break
            time.sleep(0.05)
        else:
            pytest.fail("no wheel was unpacked while the last one stalled")
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode != 0 and "Traceback" not in stderr, stderr
    # The unpacking workers left with it: nothing of the process group is left.
    for _ in range(200):
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("a process of the interrupted install is still running")
    assert snapshot(world["cache"]) == before
    assert list(tmp.iterdir()) == []
    assert tree(venv) == env_before
