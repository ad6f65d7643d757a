"""``ForkedUnpacks``: wheels unpacked by forked workers, taken in any order, or abandoned."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from wheelbuilder import make_wheel

from cachedb.errors import HashMismatch, InstallError, InvalidWheel, NetworkError
from cachedb.fetch import NetworkSettings
from cachedb.index import IndexClient
from cachedb.install import unpack_workers
from cachedb.install.unpack_workers import ForkedUnpacks
from cachedb.store.unpack import sha256_file, unpack_wheel

if TYPE_CHECKING:
    from indexserver import IndexServer


def _wheels(directory: Path, count: int) -> list[Path]:
    return [
        make_wheel(
            directory,
            f"pkg{i}",
            "1.0",
            files={f"pkg{i}/__init__.py": f"N = {i}\n", f"pkg{i}/sub/data.txt": "x" * (1000 * i)},
        )
        for i in range(count)
    ]


def _reaped(pids: list[int]) -> bool:
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue
        return False
    return True


def test_trees_match_an_unpack_in_this_process(tmp_path: Path) -> None:
    wheels = _wheels(tmp_path / "wheels", 5)
    workers = ForkedUnpacks(tmp_path / "tmp")
    try:
        for wheel in wheels:
            workers.submit(wheel, sha256_file(wheel))
        trees = [workers.take(wheel) for wheel in reversed(wheels)]
    finally:
        assert workers.abandon() == []
    assert _reaped(workers._pids)
    for wheel, tree in zip(reversed(wheels), trees, strict=True):
        assert tree is not None
        here = unpack_wheel(wheel, tmp_path / "here", archive_id=sha256_file(wheel))
        assert tree.files == here.files
        assert tree.archive_id == here.archive_id
        for entry in tree.files:
            assert (tree.directory / entry.path).read_bytes() == (
                here.directory / entry.path
            ).read_bytes()


def test_a_bad_wheel_raises_when_taken_and_the_others_still_unpack(tmp_path: Path) -> None:
    good = _wheels(tmp_path / "wheels", 2)
    bad = make_wheel(
        tmp_path / "bad",
        "broken",
        "1.0",
        record_overrides={
            "broken/__init__.py": "broken/__init__.py,sha256=AAAAAAAAAAAAAAAAAAAAAAAAAAAA,16"
        },
    )
    workers = ForkedUnpacks(tmp_path / "tmp")
    try:
        for wheel in (good[0], bad, good[1]):
            workers.submit(wheel, sha256_file(wheel))
        with pytest.raises(InvalidWheel, match="broken/__init__.py"):
            workers.take(bad)
        assert all(workers.take(wheel) is not None for wheel in good)
    finally:
        workers.abandon()
    # The failed unpack removed its own staging tree; the good ones are the caller's.
    assert len(list((tmp_path / "tmp").iterdir())) == 2


def test_abandon_hands_back_the_trees_not_taken(tmp_path: Path) -> None:
    wheels = _wheels(tmp_path / "wheels", 4)
    workers = ForkedUnpacks(tmp_path / "tmp")
    for wheel in wheels:
        workers.submit(wheel, sha256_file(wheel))
    taken = workers.take(wheels[0])
    left = workers.abandon()
    assert taken is not None and taken not in left
    # Jobs no worker had started are dropped, the ones running are finished.
    assert len(left) <= 3
    on_disk = {p.name for p in (tmp_path / "tmp").iterdir()}
    assert on_disk == {t.directory.name for t in [taken, *left]}
    assert _reaped(workers._pids)
    assert workers.take(wheels[1]) is None
    assert workers.abandon() == []  # a second call is harmless


def test_a_wheel_never_submitted_is_none(tmp_path: Path) -> None:
    workers = ForkedUnpacks(tmp_path / "tmp")
    try:
        assert workers.take(tmp_path / "never.whl") is None
    finally:
        workers.abandon()


def test_a_path_too_long_for_the_queue_is_unpacked_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As where pipes write only POSIX's smallest PIPE_BUF atomically (macOS).
    monkeypatch.setattr(unpack_workers, "_RECORD", 512)
    deep = tmp_path / ("d" * 200) / ("e" * 200) / ("f" * 200)
    (wheel,) = _wheels(deep, 1)
    workers = ForkedUnpacks(tmp_path / "tmp")
    try:
        workers.submit(wheel, sha256_file(wheel))
        tree = workers.take(wheel)
        assert workers.fetch(f"http://127.0.0.1/{wheel.name}", deep, wheel.name, {}, 5.0) is None
    finally:
        workers.abandon()
    assert tree is not None and (tree.directory / "pkg0/__init__.py").read_text() == "N = 0\n"


@pytest.mark.skipif(select.PIPE_BUF < 4096, reason="pipes here take 512 bytes at once")
def test_a_fetch_job_too_long_for_posix_pipes_still_goes_to_the_workers(
    tmp_path: Path, index_server: IndexServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    tags = "cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64"
    wheel = make_wheel(tmp_path / "wheels", "charset_normalizer", "3.5.2", tag=tags)
    index_server.add(wheel)
    dest = tmp_path / ("downloads-" + "d" * 100)
    (link,) = IndexClient(index_urls=[index_server.url], cache_dir=None).project_links(
        "charset-normalizer"
    )
    with monkeypatch.context() as patch:  # 512 bytes at once: the caller must download it
        patch.setattr(unpack_workers, "_RECORD", 512)
        small = ForkedUnpacks(tmp_path / "tmp")
        try:
            assert small.fetch(link.url, dest, link.filename, link.hashes, 5.0) is None
        finally:
            small.abandon()
    workers = ForkedUnpacks(tmp_path / "tmp")
    try:
        queued = workers.fetch(link.url, dest, link.filename, link.hashes, 5.0)
        assert queued == dest / link.filename
        assert workers.fetched(queued).sha256 == sha256_file(wheel)
        tree = workers.take(queued)
    finally:
        workers.abandon()
    assert tree is not None and tree.name == "charset-normalizer"


def test_a_killed_worker_fails_the_take_instead_of_hanging(tmp_path: Path) -> None:
    wheels = _wheels(tmp_path / "wheels", 3)
    workers = ForkedUnpacks(tmp_path / "tmp")
    try:
        for pid in workers._pids:
            os.kill(pid, signal.SIGKILL)
        for wheel in wheels:
            workers.submit(wheel, sha256_file(wheel))
        with pytest.raises(InstallError, match="ended unexpectedly"):
            workers.take(wheels[0])
    finally:
        workers.abandon()
    assert _reaped(workers._pids)


def test_a_wheel_with_nothing_queued_behind_it_gets_both_threads() -> None:
    from cachedb.install.unpack_workers import _threads_for

    jobs, feed = os.pipe()
    try:
        assert _threads_for(jobs) == 2  # the last wheel: the other worker has nothing left
        os.write(feed, b"\0" * 512)
        assert _threads_for(jobs) == 1  # others wait: the other core is the other worker's
    finally:
        os.close(jobs)
        os.close(feed)


def test_workers_fetch_then_unpack_and_report_a_bad_download(
    tmp_path: Path, index_server: IndexServer
) -> None:
    good, other = _wheels(tmp_path / "wheels", 2)
    index_server.add(good)
    index_server.add(other, bad_hash=True)
    dest = tmp_path / "downloads"
    dest.mkdir()
    workers = ForkedUnpacks(tmp_path / "tmp")
    try:
        jobs = []
        for wheel in (good, other):
            link = next(
                lk for lk in IndexClient(index_urls=[index_server.url], cache_dir=None)
                .project_links(wheel.name.split("-")[0])
            )  # fmt: skip
            queued = workers.fetch(link.url, dest, link.filename, link.hashes, 5.0)
            assert queued == dest / link.filename
            jobs.append(queued)
        got = workers.fetched(jobs[0])
        assert got.sha256 == sha256_file(good) and got.path.read_bytes() == good.read_bytes()
        tree = workers.take(jobs[0])
        assert tree is not None and tree.archive_id == got.sha256
        assert (tree.directory / "pkg0/__init__.py").read_text() == "N = 0\n"
        # The index's hash does not match: the download fails, and so does the tree.
        with pytest.raises(HashMismatch):
            workers.fetched(jobs[1])
        with pytest.raises(HashMismatch):
            workers.take(jobs[1])
        assert not (dest / other.name).exists()
    finally:
        assert workers.abandon() == []
    assert _reaped(workers._pids)


def _https_index(tmp_path: Path) -> tuple[IndexServer, Path]:
    """An index on 127.0.0.1 over https, signed by a CA of the test's (its PEM returned)."""
    import ssl

    from indexserver import IndexServer

    trustme = pytest.importorskip("trustme")
    authority = trustme.CA()
    pem = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(pem))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    return IndexServer(tls=context), pem


def test_workers_fetch_with_the_network_settings_given(tmp_path: Path) -> None:
    (wheel,) = _wheels(tmp_path / "wheels", 1)
    server, pem = _https_index(tmp_path)
    try:
        server.add(wheel)
        settings = NetworkSettings(cert=str(pem))
        with IndexClient(index_urls=[server.url], cache_dir=None, network=settings) as index:
            (link,) = index.project_links("pkg0")
        for given, fails in ((settings, False), (None, True)):
            dest = tmp_path / f"downloads-{fails}"
            workers = ForkedUnpacks(tmp_path / "tmp")
            try:
                queued = workers.fetch(link.url, dest, link.filename, link.hashes, 5.0, None, given)
                assert queued == dest / link.filename
                if fails:  # the worker's client trusts only what this run trusts
                    with pytest.raises(NetworkError, match="CERTIFICATE_VERIFY_FAILED"):
                        workers.fetched(queued)
                    continue
                assert workers.fetched(queued).sha256 == sha256_file(wheel)
                tree = workers.take(queued)
                assert tree is not None
                assert (tree.directory / "pkg0/__init__.py").read_text() == "N = 0\n"
            finally:
                workers.abandon()
            assert _reaped(workers._pids)
    finally:
        server.close()


@pytest.mark.parametrize(
    ("settings", "in_workers"),
    [
        (NetworkSettings(), True),
        # SSL_CERT_FILE or --cert (set on many machines, and in the benchmark's
        # environment): the workers' clients use it too, so they still download.
        (NetworkSettings(cert="/nonexistent/ca.pem"), True),
        (NetworkSettings(native_tls=True), True),
        # A keyring is asked by this process's client alone.
        (NetworkSettings(keyring_provider="subprocess"), False),
    ],
)
def test_who_downloads_from_an_index_on_this_machine(
    tmp_path: Path,
    index_server: IndexServer,
    monkeypatch: pytest.MonkeyPatch,
    settings: NetworkSettings,
    in_workers: bool,
) -> None:
    from cachedb.install import fetching
    from cachedb.store import open_cache

    # The server's threads run in this process: fork anyway (the workers never touch them).
    monkeypatch.setattr(fetching, "can_fork", lambda: True)
    (wheel,) = _wheels(tmp_path / "wheels", 1)
    index_server.add(wheel)
    with (
        IndexClient(index_urls=[index_server.url], cache_dir=None, network=settings) as index,
        open_cache(tmp_path / "cache") as cache,
    ):
        (link,) = index.project_links("pkg0")
        unpacks = fetching.Unpacks(cache, 2)
        try:
            got = unpacks.fetch(index, link, tmp_path / "downloads")
            if in_workers:
                assert got is not None and got.sha256 == sha256_file(wheel)
                assert index.request_count == 1  # the page: the file was the worker's
                tree = unpacks.take(got.path)
                assert tree is not None and tree.archive_id == got.sha256
            else:
                assert got is None
        finally:
            unpacks.discard()


def test_an_install_from_an_https_index_with_the_ca_given(tmp_path: Path) -> None:
    """Several wheels from an https index on this machine, its CA given by --cert: the
    unpacking workers download them, trusting what the run trusts."""
    from installtools import cachedb, run_in

    server, pem = _https_index(tmp_path)
    try:
        for wheel in _wheels(tmp_path / "wheels", 3):
            server.add(wheel)
        venv = tmp_path / "venv"
        out = cachedb(
            "install", "--cache-dir", tmp_path / "cache", "-i", server.url, "--venv", venv,
            "--no-config", "--cert", pem, "pkg0", "pkg1", "pkg2",
            env={"SSL_CERT_FILE": "", "HTTPS_PROXY": "", "https_proxy": ""},
        )  # fmt: skip
    finally:
        server.close()
    assert out.returncode == 0, out.stderr
    shown = run_in(venv, "import pkg0, pkg1, pkg2; print(pkg0.N, pkg1.N, pkg2.N)")
    assert shown.stdout.split() == ["0", "1", "2"]


def _glibc() -> bool:
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (ValueError, OSError):
        return False


@pytest.mark.skipif(not _glibc(), reason="glibc's malloc only")
def test_workers_keep_freed_memory_where_malloc_is_glibcs() -> None:
    # Each worker calls it first: mallopt must accept both settings (it returns 0 otherwise).
    code = "from cachedb.install.unpack_workers import keep_freed_memory as k; print(k())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
