"""Unpacking wheels in forked worker processes while this process downloads the rest.

Unpacking is inflating, hashing and thousands of file creations. On threads it
competes for the GIL with the downloads and with itself (tens of thousands of
lock handoffs, measured); two forked workers each get a core of their own.

A job can also fetch the wheel first (``fetch``), over an HTTP client of the
worker's own, made with this run's network settings (``--cert``,
``SSL_CERT_FILE``, ``--native-tls``): the download then costs this process
nothing, where it would otherwise take the GIL from the threads reading index
pages. Workers fetch only from an index on this machine, whose bytes arrive
faster than they can be unpacked: a fetched wheel is unpacked from its file,
not while it downloads (``store/stream.py``), which would cost more CPU here
(measured: ~10% more for the big wheels) for no time gained.

Jobs reach the workers through one pipe of fixed-size records: a write of at
most PIPE_BUF bytes is atomic, so each record is read whole, by exactly one
worker. Each worker answers on a pipe of its own, read by one thread here. The
workers only read wheels, download them and write under ``tmp/``: they never
use this process's database connection, locks or terminal, and they leave with
``os._exit``, so nothing inherited is flushed or closed on our behalf.
"""

from __future__ import annotations

import array
import os
import pickle
import select
import struct
import threading
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..fetch import HttpSession, Limits, NetworkSettings

from .._fdio import write_all
from ..errors import InstallError
from ..fetch import Downloaded

# Imported here, before the fork, so the workers start with it loaded.
from ..store.unpack import UnpackedWheel, unpack_wheel

# What one write fills atomically: 4096 bytes on Linux, POSIX's smallest (512) elsewhere.
_RECORD = getattr(select, "PIPE_BUF", 512)
_HEADER = struct.Struct("<H")  # length of the pickled job that follows
_LENGTH = struct.Struct("<Q")  # before each answer
_FETCHED = "fetched:"  # the key of a fetch job's download, before that of its tree


def _read_exactly(fd: int, size: int) -> bytes:
    """``size`` bytes, or fewer only at the end of the pipe."""
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _answer(fd: int, key: str, value: object) -> None:
    try:
        payload = pickle.dumps((key, value))
    except Exception:  # noqa: BLE001 - an exception that cannot be pickled
        payload = pickle.dumps((key, InstallError(str(value) or type(value).__name__)))
    write_all(fd, _LENGTH.pack(len(payload)) + payload)


def _threads_for(jobs: int) -> int:
    """One thread while other wheels wait (the other core is the other worker's); two
    for a wheel unpacked with nothing queued behind it, as the last ones usually
    are, so one big wheel does not leave the other core idle at the end."""
    try:
        import fcntl
        import termios

        waiting = array.array("i", [0])
        fcntl.ioctl(jobs, termios.FIONREAD, waiting)
    except (ImportError, OSError):
        return 1
    return 1 if waiting[0] else 2


def _fetch(
    job: tuple[str, str, str, dict[str, str], float, Limits, NetworkSettings | None],
) -> Downloaded:
    """Download a wheel as the parent would (``fetch.download``), on a client of our own."""
    global _session
    from ..fetch import HttpSession, download

    url, dest_dir, filename, hashes, timeout, limits, settings = job
    if _session is None:
        _session = HttpSession(timeout=timeout, concurrency=1, settings=settings)
    return download(_session, url, Path(dest_dir), filename, hashes=hashes, limits=limits)


_session: HttpSession | None = None  # a worker's own, made on its first fetch job

# glibc's mallopt parameters and what a worker sets them to.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_TRIM_AT = 256 * 1024**2
# Above every block a worker asks for (members come 1 MiB at a time, wheels whole up to 8 MiB).
_MMAP_FROM = 32 * 1024**2


def keep_freed_memory() -> bool:
    """Have glibc's malloc keep what this process frees for its next allocations.

    A worker allocates and frees buffers of every size, wheel after wheel; by
    default glibc gives freed memory back to the kernel (trimming the heap, and
    mapping big blocks afresh each time), and each page is faulted in again on
    its next use: half of the two workers' ~22,000 page faults per cold install
    of the benchmark's 46 wheels. Both settings are needed: either alone turns
    glibc's adaptive threshold off and faults more. Peak memory is unchanged
    (measured 36-42 MiB either way). False (nothing set) where malloc is not glibc's.
    """
    try:
        if not (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc"):
            return False
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (ValueError, OSError, AttributeError, ImportError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_FROM)) and bool(
        mallopt(_M_TRIM_THRESHOLD, _TRIM_AT)
    )


def _serve(jobs: int, answers: int, tmp: Path, parent: int) -> NoReturn:  # pragma: no cover
    keep_freed_memory()
    try:
        # A parent killed outright leaves its queue behind: stop instead of unpacking it.
        while len(record := os.read(jobs, _RECORD)) == _RECORD and os.getppid() == parent:
            (size,) = _HEADER.unpack_from(record)
            key, sha256, fetch = pickle.loads(record[_HEADER.size : _HEADER.size + size])
            value: object
            try:
                if fetch is not None:
                    try:
                        got = _fetch(fetch)
                    except Exception as exc:  # noqa: BLE001 - the tree fails with it below
                        _answer(answers, _FETCHED + key, exc)
                        raise
                    _answer(answers, _FETCHED + key, got)
                    sha256 = got.sha256
                value = unpack_wheel(Path(key), tmp, archive_id=sha256, threads=_threads_for(jobs))
            except Exception as exc:  # noqa: BLE001 - every failure goes to the parent
                value = exc
            _answer(answers, key, value)
    except BaseException:  # noqa: BLE001, S110 - Ctrl-C or the parent gone: it reports
        pass
    finally:
        os._exit(0)


class ForkedUnpacks:
    """Wheels unpacked under ``tmp`` by ``workers`` forked processes, in submission order.

    Create it while this process has no other thread (``forked.can_fork``).
    """

    def __init__(self, tmp: Path, workers: int = 2) -> None:
        self._tmp = tmp
        self.workers = workers
        self._cond = threading.Condition()
        self._pending: set[str] = set()
        self._results: dict[str, UnpackedWheel | Downloaded | BaseException] = {}
        self._closing = False
        self._lost = False  # a worker ended before it was told to
        self._jobs, self._feed = os.pipe()
        self._pids: list[int] = []
        answers: list[int] = []
        parent = os.getpid()
        try:
            for _ in range(workers):
                read_fd, write_fd = os.pipe()
                pid = os.fork()
                if pid == 0:  # pragma: no cover - the child never returns
                    os.close(self._feed)
                    for fd in (read_fd, *answers):
                        os.close(fd)
                    _serve(self._jobs, write_fd, tmp, parent)
                os.close(write_fd)
                answers.append(read_fd)
                self._pids.append(pid)
        except BaseException:
            for fd in answers:
                os.close(fd)
            self._threads: list[threading.Thread] = []
            self.abandon()
            raise
        self._threads = [
            threading.Thread(target=self._collect, args=(fd,), name="cachedb-unpacked", daemon=True)
            for fd in answers
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, wheel: Path, sha256: str) -> None:
        """Queue ``wheel`` for unpacking (blocking while the queue is full)."""
        if not self._queue(str(wheel), sha256, None):
            self._unpack_here(str(wheel), wheel, sha256)  # too long for a record: rare enough

    def fetch(
        self,
        url: str,
        dest_dir: Path,
        filename: str,
        hashes: Mapping[str, str],
        timeout: float,
        limits: Limits | None = None,
        settings: NetworkSettings | None = None,
    ) -> Path | None:
        """Queue downloading ``url`` to ``dest_dir/filename`` (as ``fetch.download`` does,
        over a client made with ``settings``), then unpacking it, both in a worker; the
        wheel's future path, or None if the job is too long for a record (the caller
        downloads it). A worker makes its client on its first fetch job: every job of
        one ``ForkedUnpacks`` must bring the same ``settings``.

        ``fetched`` waits for the download, ``take`` for the tree.
        """
        wheel = dest_dir / filename
        if limits is None:
            from ..fetch import Limits

            limits = Limits()
        job = (url, str(dest_dir), filename, dict(hashes), timeout, limits, settings)
        return wheel if self._queue(str(wheel), "", job) else None

    def fetched(self, wheel: Path) -> Downloaded:
        """The download of a ``fetch`` job, waiting for it; its failure is raised here."""
        value = self._wait(_FETCHED + str(wheel))
        assert isinstance(value, Downloaded)
        return value

    def _queue(self, key: str, sha256: str, fetch: object) -> bool:
        payload = pickle.dumps((key, sha256, fetch))
        if len(payload) > _RECORD - _HEADER.size:
            return False
        with self._cond:
            if self._closing:
                if fetch is not None:  # its caller would wait for the download forever
                    raise InstallError("the unpacking workers are stopped")
                return True  # abandoned meanwhile: nothing will be taken
            self._pending.add(key)
            if fetch is not None:
                self._pending.add(_FETCHED + key)
        os.write(self._feed, (_HEADER.pack(len(payload)) + payload).ljust(_RECORD, b"\0"))
        return True

    def _unpack_here(self, key: str, wheel: Path, sha256: str) -> None:
        value: UnpackedWheel | BaseException
        try:
            value = unpack_wheel(wheel, self._tmp, archive_id=sha256)
        except Exception as exc:  # noqa: BLE001 - raised by take, like the workers' failures
            value = exc
        with self._cond:
            self._pending.add(key)
            self._results[key] = value

    def take(self, wheel: Path) -> UnpackedWheel | None:
        """The tree of ``wheel``, waiting for it; None if it was never submitted.

        A failed unpack raises its error here. A tree taken is the caller's:
        ``abandon`` no longer returns it.
        """
        with self._cond:
            if str(wheel) not in self._pending:
                return None
        value = self._wait(str(wheel))
        assert isinstance(value, UnpackedWheel)
        return value

    def _wait(self, key: str) -> UnpackedWheel | Downloaded:
        with self._cond:
            while key not in self._results:
                if self._lost:
                    raise InstallError("a process unpacking wheels ended unexpectedly")
                self._cond.wait()
            self._pending.discard(key)
            value = self._results.pop(key)
        if isinstance(value, BaseException):
            raise value
        return value

    def abandon(self) -> list[UnpackedWheel]:
        """Stop the workers once their current wheel is done; the trees not taken."""
        with self._cond:
            if self._closing:
                return []
            self._closing = True
        # With the feed closed, reading the queue empty cannot block: the workers
        # find the end of it right after the wheel each is on.
        os.close(self._feed)
        while os.read(self._jobs, _RECORD):
            pass
        os.close(self._jobs)
        for thread in self._threads:
            thread.join()
        for pid in self._pids:
            os.waitpid(pid, 0)
        with self._cond:
            left, self._results = self._results, {}
            self._pending.clear()
        return [v for v in left.values() if isinstance(v, UnpackedWheel)]

    def _collect(self, fd: int) -> None:
        try:
            while len(header := _read_exactly(fd, _LENGTH.size)) == _LENGTH.size:
                (size,) = _LENGTH.unpack(header)
                payload = _read_exactly(fd, size)
                if len(payload) != size:
                    break
                key, value = pickle.loads(payload)
                with self._cond:
                    self._results[key] = value
                    self._cond.notify_all()
        finally:
            os.close(fd)
            with self._cond:
                self._lost = self._lost or not self._closing
                self._cond.notify_all()
