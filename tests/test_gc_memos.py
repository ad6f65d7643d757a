"""gc removes stale memos (gc/memos.py): remembered nothing-to-do installs, compiles and
interpreter answers whose interpreter is gone, that are damaged, or that no run has used
for long; never a memo still in use, another host's, or anything through a link."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import time
from pathlib import Path

import pytest
from indexserver import IndexServer
from installtools import cachedb, installed_world, make_venv
from wheelbuilder import make_wheel

import cachedb.lock as lock
from cachedb import _memo
from cachedb.install.noop import nothing_to_do
from cachedb.install.options import InstallOptions
from cachedb.install.report import Reporter
from cachedb.install.request import collect_request
from cachedb.lock import CompileOptions
from cachedb.store.layout import Layout
from cachedb.target.cache import cache_file

DAY = 86400.0


def _gc(cache: Path, *args: str) -> dict[str, object]:
    done = cachedb("gc", "--cache-dir", cache, "--json", *args)
    assert done.returncode == 0, done.stderr
    report: dict[str, object] = json.loads(done.stdout)
    return report


def _noop_memo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Path]:
    """A venv holding app (and lib), and the memo a nothing-to-do install wrote for it."""
    venv, cache, wheels = installed_world(tmp_path)
    monkeypatch.setattr(_memo, "SETTLED", 0)  # the venv was written just now
    opts = InstallOptions(
        requirements=["app"],
        python=str(venv / "bin" / "python"),
        cache_dir=cache,
        no_index=True,
        find_links=[str(wheels)],
    )
    assert nothing_to_do(opts, collect_request(opts)) == 2
    (memo,) = Layout(cache).interpreters.glob("noop-*.json")
    return cache, venv, memo


def _rel(cache: Path, path: Path) -> str:
    return path.relative_to(cache).as_posix()


def test_a_memo_of_a_gone_interpreter_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, venv, memo = _noop_memo(tmp_path, monkeypatch)
    # The interpreter's own answer to the probe, remembered for its path.
    answer = cache_file(Layout(cache).interpreters, str(venv / "bin" / "python"))
    assert answer.exists()
    assert _gc(cache)["memos"] == []  # its venv is there and it is new: in use
    assert memo.exists()
    shutil.rmtree(venv)
    stale = sorted([_rel(cache, answer), _rel(cache, memo)])
    assert _gc(cache, "--dry-run")["memos"] == stale
    assert memo.exists() and answer.exists()  # a dry run changes nothing
    done = cachedb("gc", "--cache-dir", cache)
    assert done.returncode == 0, done.stderr
    assert ", 2 stale memos in " in done.stdout
    assert not memo.exists() and not answer.exists()
    assert _gc(cache)["memos"] == []


def test_a_memo_no_run_used_for_the_max_age_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, _venv, memo = _noop_memo(tmp_path, monkeypatch)
    week_ago = time.time() - 8 * DAY
    os.utime(memo, (week_ago, week_ago))
    assert _gc(cache)["memos"] == []  # within the default 30 days
    assert _gc(cache, "--max-age", "7d", "--dry-run")["memos"] == [_rel(cache, memo)]
    # Read since it was written: used, whatever its write time says.
    os.utime(memo, (time.time(), week_ago))
    assert _gc(cache, "--max-age", "7d")["memos"] == []
    assert memo.exists()
    long_ago = time.time() - 31 * DAY
    os.utime(memo, (long_ago, long_ago))
    assert _gc(cache)["memos"] == [_rel(cache, memo)]
    assert not memo.exists()


def test_gc_reads_a_memo_without_making_it_look_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading a memo to find its interpreter must not move its access time, or a daily
    gc would keep every memo forever."""
    if not hasattr(os, "O_NOATIME"):
        pytest.skip("no O_NOATIME here")
    cache, _venv, memo = _noop_memo(tmp_path, monkeypatch)
    old = time.time() - 3 * DAY
    os.utime(memo, (old, old))
    _gc(cache)
    assert memo.stat().st_atime == pytest.approx(old, abs=1)


def test_damaged_memos_and_old_leftovers_go_links_and_other_hosts_stay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, _venv, memo = _noop_memo(tmp_path, monkeypatch)
    here = Layout(cache).interpreters
    damaged = here / "compile-0123.json"
    damaged.write_text("{not json")
    old = time.time() - 2 * 3600
    leftover = here / f".{memo.name}.4242.tmp"
    leftover.write_text("{}")
    os.utime(leftover, (old, old))
    young = here / f".{memo.name}.4243.tmp"  # a write in flight
    young.write_text("{}")
    outside = tmp_path / "outside.json"
    outside.write_text("{not json")
    os.utime(outside, (old - 40 * DAY, old - 40 * DAY))
    link = here / "noop-link.json"
    link.symlink_to(outside)
    other_host = here.parent / "0000000000000000"
    other_host.mkdir()
    foreign = other_host / "noop-x.json"
    foreign.write_text(json.dumps({"exe": str(tmp_path / "nowhere/python")}))
    os.utime(foreign, (old - 40 * DAY, old - 40 * DAY))
    assert sorted(_gc(cache)["memos"]) == sorted(  # type: ignore[arg-type]
        [_rel(cache, damaged), _rel(cache, leftover)]
    )
    assert memo.exists() and young.exists() and link.is_symlink() and foreign.exists()
    assert outside.read_text() == "{not json"


def test_gc_never_follows_a_link_in_place_of_the_hosts_directory(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert cachedb("gc", "--cache-dir", cache).returncode == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    victim = elsewhere / "noop-1.json"
    victim.write_text("{not json")
    here = Layout(cache).interpreters
    here.parent.mkdir(parents=True, exist_ok=True)
    here.symlink_to(elsewhere)
    # Refused as a linked top-level folder is (docs/guarantees.md, "linked folders").
    done = cachedb("gc", "--cache-dir", cache)
    assert done.returncode != 0 and "is a symbolic link" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert victim.read_text() == "{not json"


def test_a_compile_memo_of_a_gone_interpreter_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, index_server: IndexServer
) -> None:
    monkeypatch.setattr(_memo, "SETTLED", 0)
    monkeypatch.chdir(tmp_path)
    index_server.cache_control = "max-age=600"
    index_server.add(make_wheel(tmp_path / "wheels", "alpha", "1.0"))
    venv = tmp_path / "venv"
    make_venv(venv)
    Path("requirements.in").write_text("alpha\n")
    cache = tmp_path / "cache"
    opts = CompileOptions(
        install=InstallOptions(index_url=index_server.url, cache_dir=cache, python=str(venv)),
        sources=["requirements.in"],
        output="requirements.txt",
    )
    for _ in range(2):
        with contextlib.redirect_stdout(io.StringIO()):
            lock.run_compile(opts, Reporter(-1))
    (memo,) = Layout(cache).interpreters.glob("compile-*.json")
    answer = cache_file(Layout(cache).interpreters, str(venv / "bin" / "python"))
    assert _gc(cache)["memos"] == []
    shutil.rmtree(venv)
    assert _gc(cache)["memos"] == sorted([_rel(cache, answer), _rel(cache, memo)])
    assert not memo.exists() and not answer.exists()
