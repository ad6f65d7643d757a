"""A cache on a full filesystem, and a read-only cache.

The cache lives on a small tmpfs mounted for the test (skipped, with the
reason, where mounting is not allowed); environments live on the normal disk.
Every failure is one ``error:`` line with a non-zero exit, nothing is
half-registered (rows unchanged; at most unregistered leftovers that gc
removes), verify stays clean, and once space is back the cache just works.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cachestate import CacheState, listing, snapshot
from chaoskit import (
    assert_one_line_error,
    assert_verify_clean,
    cli,
    integrity_ok,
    make_venv,
    run_in,
    unprivileged,
)
from indexserver import IndexServer
from wheelbuilder import make_wheel

# On SQLite (its file on the full or read-only disk too) and on PostgreSQL (only the
# cache directory's files there), but the permission-bits test, which is about SQLite's file.
pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux mounts"),
    pytest.mark.usefixtures("backend"),
]


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, timeout=60)


class Tmpfs:
    def __init__(self, path: Path, size: str) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        proc = _mount("-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path))
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip() or proc.returncode}")

    def remount(self, mode: str) -> None:
        proc = _mount("-o", f"remount,{mode}", str(self.path))
        if proc.returncode != 0:
            pytest.skip(f"cannot remount the tmpfs {mode}: {proc.stderr.strip()}")

    def free(self) -> int:
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize

    def unmount(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], capture_output=True, timeout=60)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Tmpfs]:
    fs = Tmpfs(tmp_path / "mnt", "2m")
    try:
        yield fs
    finally:
        fs.unmount()


def _install(cache: Path, server: IndexServer, venv: Path, *reqs: str):  # type: ignore[no-untyped-def]
    return cli(
        "install", "--cache-dir", cache, "--index-url", server.url, "--venv", venv,
        "--link-mode", "copy", *reqs,
    )  # fmt: skip


def _assert_nothing_half_registered(cache: Path, before: CacheState) -> None:
    """Rows are as before; files differ at most by unregistered leftovers gc removes."""
    integrity_ok(cache)
    after = snapshot(cache, caches=False)
    assert after.rows == before.rows
    extra = set(after.files) - set(before.files)
    assert all(p.startswith(("tmp/", "archive-v0/")) for p in extra), sorted(extra)
    assert_verify_clean(cache)
    proc = cli("gc", "--cache-dir", cache, "--grace", "0s")
    assert proc.returncode == 0, proc.stderr
    assert snapshot(cache, caches=False).files == before.files


@pytest.fixture
def published(tmp_path: Path, index_server: IndexServer) -> IndexServer:
    wheels = tmp_path / "wheels"
    index_server.add(make_wheel(wheels, "small", "1.0"))
    index_server.add(make_wheel(wheels, "tiny", "1.0"))
    # 3 MiB of zeros: a wheel of a few KiB that cannot be unpacked into 2 MiB.
    index_server.add(
        make_wheel(wheels, "inflates", "1.0", files={"inflates/z.bin": bytes(3 << 20)})
    )
    # 3 MiB of random bytes: the download alone does not fit.
    index_server.add(make_wheel(wheels, "heavy", "1.0", files={"heavy/r.bin": os.urandom(3 << 20)}))
    return index_server


@pytest.mark.parametrize(
    ("package", "where"), [("inflates", "unpack"), ("heavy", "download")], ids=lambda x: x
)
def test_cache_fills_up(
    tmpfs: Tmpfs, published: IndexServer, tmp_path: Path, package: str, where: str
) -> None:
    cache = tmpfs.path / "cache"
    assert _install(cache, published, tmp_path / "v0", "small").returncode == 0
    before = snapshot(cache, caches=False)
    venv = make_venv(tmp_path / "v1")
    venv_before = listing(venv)
    proc = _install(cache, published, venv, package)
    line = assert_one_line_error(proc)
    assert "no space left" in line.lower() or "full" in line.lower(), line
    assert listing(venv) == venv_before
    _assert_nothing_half_registered(cache, before)
    # The cache still works for what fits.
    proc = _install(cache, published, venv, "tiny")
    assert proc.returncode == 0, proc.stderr
    assert run_in(venv, "import tiny").returncode == 0


@pytest.mark.slow_on_postgresql
def test_disk_fills_up_at_every_step(tmpfs: Tmpfs, published: IndexServer, tmp_path: Path) -> None:
    """Leave less and less room, so the failure lands on each write in turn."""
    cache = tmpfs.path / "cache"
    assert _install(cache, published, tmp_path / "v0", "small").returncode == 0
    filler = tmpfs.path / "filler"
    outcomes = []
    for room in (0, 4096, 8192, 16384, 32768, 65536, 131072, 262144):
        shutil.rmtree(cache / "simple-v0", ignore_errors=True)  # make every run fetch again
        before = snapshot(cache, caches=False)
        filler.unlink(missing_ok=True)
        with open(filler, "wb") as fh:
            fh.write(b"\0" * max(0, tmpfs.free() - room))
        venv = tmp_path / f"room-{room}"
        proc = _install(cache, published, venv, "tiny")
        if proc.returncode == 0:
            outcomes.append((room, "installed"))
            assert run_in(venv, "import tiny").returncode == 0
            # Start the next round cold again.
            filler.unlink()
            assert cli("clean", "--cache-dir", cache, "--grace", "0s").returncode == 0
            continue
        line = assert_one_line_error(proc)
        outcomes.append((room, line))
        filler.unlink()
        _assert_nothing_half_registered(cache, before)
    print(f"\nfull disk outcomes: {outcomes}")
    assert any(o == "installed" for _r, o in outcomes), "no room was ever enough"
    assert any(o != "installed" for _r, o in outcomes), "the disk never filled up"


def test_read_only_mount(tmpfs: Tmpfs, published: IndexServer, tmp_path: Path) -> None:
    cache = tmpfs.path / "cache"
    assert _install(cache, published, tmp_path / "v0", "small").returncode == 0
    before = snapshot(cache, caches=False)
    tmpfs.remount("ro")
    try:
        for reqs in (["tiny"], ["small"]):  # cold, then warm
            venv = make_venv(tmp_path / f"v-{reqs[0]}")
            venv_before = listing(venv)
            proc = _install(cache, published, venv, *reqs)
            line = assert_one_line_error(proc, "read-only")
            assert str(cache) in line
            assert listing(venv) == venv_before
        for args in (["gc"], ["verify"], ["ls"]):
            assert_one_line_error(cli(*args, "--cache-dir", cache), "read-only")
    finally:
        tmpfs.remount("rw")
    integrity_ok(cache)
    assert snapshot(cache, caches=False) == before
    assert_verify_clean(cache)
    assert _install(cache, published, tmp_path / "v2", "tiny").returncode == 0


def _run(prefix: list[str], *args: str | Path) -> subprocess.CompletedProcess[str]:
    from chaoskit import base_env, command

    return subprocess.run(
        [*prefix, *command(*args)], capture_output=True, text=True, env=base_env(), timeout=180
    )


@pytest.mark.backends("sqlite")
def test_read_only_permissions(published: IndexServer, tmp_path: Path) -> None:
    """A cache directory without write permission (0o555 directories, 0o444 database).

    Permission bits do not stop root, so as root the commands run without the
    capabilities that override them (``setpriv``).
    """
    prefix = unprivileged()
    cache = tmp_path / "cache"
    assert _install(cache, published, tmp_path / "v0", "small").returncode == 0
    before = snapshot(cache, caches=False)
    probe = tmp_path / "probe"
    probe.mkdir(mode=0o555)
    touch = [*prefix, sys.executable, "-c", f"open({str(probe / 'x')!r}, 'w')"]
    if subprocess.run(touch, capture_output=True, timeout=60).returncode == 0:
        pytest.skip("permission bits do not stop this user from writing")
    for dirpath, _dirs, _files in os.walk(cache):
        os.chmod(dirpath, 0o555)
    for f in cache.glob("cachedb.sqlite3*"):
        f.chmod(0o444)
    try:
        for reqs in (["tiny"], ["small"]):  # cold, then warm
            venv = make_venv(tmp_path / f"v-{reqs[0]}")
            venv_before = listing(venv)
            proc = _run(prefix, "install", "--cache-dir", cache, "--index-url", published.url,
                        "--venv", venv, "--link-mode", "copy", *reqs)  # fmt: skip
            line = assert_one_line_error(proc, "read-only")
            assert str(cache) in line
            assert listing(venv) == venv_before
        for args in (["gc"], ["verify"], ["ls"]):
            assert_one_line_error(_run(prefix, *args, "--cache-dir", cache), "read-only")
    finally:
        for dirpath, _dirs, _files in os.walk(cache):
            os.chmod(dirpath, 0o755)
        for f in cache.glob("cachedb.sqlite3*"):
            f.chmod(0o644)
    integrity_ok(cache)
    assert snapshot(cache, caches=False) == before
    assert_verify_clean(cache)
