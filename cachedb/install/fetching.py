"""Downloading wheels into ``tmp/`` and unpacking them there, from as early as possible.

An exact pin's wheel starts downloading as soon as its index page is read, while
the rest of the resolution goes on; materialize then only waits for it. Each
verified download is unpacked at once, in the background. Nothing here touches
the cache proper: downloads and their trees stay under ``tmp/`` until
materialize stores them, and ``close`` removes whatever is left.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from .._threads import Background, on_threads
from ..errors import InstallError
from .forked import can_fork
from .sources import allowed_sha256

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

    from ..fetch import Downloaded
    from ..index import IndexClient, Link
    from ..remote.tier import RemoteTier
    from ..store import Cache
    from ..store.stream import StreamUnpack
    from ..store.unpack import UnpackedWheel
    from .unpack_workers import ForkedUnpacks

T = TypeVar("T")

# Downloads unpacked as they arrive, at most, on this process's download threads: each
# is a core's work (inflating, hashing, writing) beside the downloading itself. Downloads
# start largest first, so these are the biggest, the last to arrive.
STREAMS_AT_ONCE = 2


class Unpacks:
    """Wheels unpacked into staging trees under ``tmp/`` in the background.

    Two forked workers do it where forking is safe, else a thread of this process.
    A tree is handed to ``Cache.put`` (which moves it into the cache or removes
    it); whatever was not handed over is removed by ``discard``.
    """

    def __init__(self, cache: Cache, wheels: int) -> None:
        self._cache = cache
        self._forked: ForkedUnpacks | None = None
        # One wheel at a time: unpack_wheel keeps both cores busy with a big one.
        self._jobs: Background[Path, UnpackedWheel] = Background(1, "unpack")
        self._streamed: dict[Path, UnpackedWheel] = {}  # unpacked while downloading
        self._streams = 0  # downloads being unpacked as they arrive, in this process
        self._lock = threading.Lock()
        # One wheel gains nothing from a worker: unpack_wheel uses both cores itself.
        if wheels >= 2 and can_fork():
            from .unpack_workers import ForkedUnpacks

            with contextlib.suppress(OSError):  # cannot fork now: threads do it
                self._forked = ForkedUnpacks(cache.layout.tmp)

    def start(self, wheel: Path, sha256: str) -> None:
        if self._cache.archive_path(sha256).is_dir():
            return  # most likely stored already (put checks): unpacking would be wasted
        if self._forked is not None:
            self._forked.submit(wheel, sha256)
            return
        from ..store.unpack import unpack_wheel

        self._jobs.submit(wheel, unpack_wheel, wheel, self._cache.layout.tmp, archive_id=sha256)

    def download(
        self, index: IndexClient, link: Link, dest_dir: Path
    ) -> tuple[Downloaded, StreamUnpack | None]:
        """``index.download(link, dest_dir)``, a big wheel unpacked as its bytes arrive
        (``store/stream.py``): ``finish`` then keeps that tree or unpacks the file."""
        from ..fetch import local_path
        from ..store.stream import stream_into

        with self._lock:
            stream = None
            if self._streams < STREAMS_AT_ONCE and not local_path(link.url):
                stream = stream_into(dest_dir, link.size)
                self._streams += stream is not None
        if stream is None:
            return index.download(link, dest_dir), None
        try:
            return index.download(link, dest_dir, tee=stream.feed), stream
        except BaseException:
            stream.discard()
            raise
        finally:
            with self._lock:
                self._streams -= 1

    def finish(self, wheel: Path, sha256: str, stream: StreamUnpack | None) -> None:
        """Have ``wheel`` (its sha256 verified and allowed) unpacked: the tree ``stream``
        wrote while it downloaded, where that is what unpacking the file would give."""
        if stream is not None:
            if self._cache.archive_path(sha256).is_dir():
                stream.discard()  # as start: most likely stored already
                return
            tree = stream.finish(wheel, sha256)
            if tree is not None:
                with self._lock:
                    self._streamed[wheel] = tree
                return
        self.start(wheel, sha256)

    def fetch(self, index: IndexClient, link: Link, dest_dir: Path) -> Downloaded | None:
        """``index.download(link, dest_dir)`` done by an unpacking worker, which then
        unpacks the wheel where its bytes are; None where the workers do not fetch.

        Only while an index gets two requests at once (one on this machine) do they:
        each worker is then one of the two, and the download costs this process
        nothing. To an index across a network, eight at a time hide its latency.
        """
        forked = self._forked
        if forked is None or index.offline or index.concurrency > forked.workers:
            return None
        network = index.network
        if network.keyring_provider != "disabled":
            return None  # credentials asked for once, by this process's client
        limits = index.limits(link)
        wheel = forked.fetch(
            link.url, dest_dir, link.filename, link.hashes, index.timeout, limits, network
        )
        return None if wheel is None else forked.fetched(wheel)

    def take(self, wheel: Path) -> UnpackedWheel | None:
        """The tree of ``wheel`` (waiting for it), or None if it was not unpacked here."""
        with self._lock:
            streamed = self._streamed.pop(wheel, None)
        if streamed is not None:
            return streamed
        if self._forked is not None:
            return self._forked.take(wheel)
        return self._jobs.take(wheel)

    def discard(self) -> None:
        with self._lock:
            trees, self._streamed = list(self._streamed.values()), {}
        trees += self._jobs.abandon()
        if self._forked is not None:
            trees.extend(self._forked.abandon())
        import shutil

        for tree in trees:
            shutil.rmtree(tree.directory, ignore_errors=True)


class Fetcher:
    """Downloads into one staging directory, each unpacked once verified.

    Waiting downloads start largest first (by the size the index declares; those
    without one after, in the order asked): the wheels that take longest start
    earliest, so they are not the ones still arriving, then unpacking, at the end.
    Those asked for during ``each`` wait for it to end (or for someone to wait for a
    download), so that the largest of them all goes first, not the first page's.

    Create it before any other thread runs (the unpacking workers are forked
    here); ``wheels`` is about how many it will fetch.
    """

    def __init__(
        self,
        cache: Cache,
        index: IndexClient | None,
        hashes: Mapping[str, frozenset[str]],
        wheels: int,
        remote: RemoteTier | None = None,
    ) -> None:
        self.staging = cache.layout.tmp / f"download-{os.urandom(6).hex()}"
        self._remote = remote
        self.unpacks = Unpacks(cache, wheels)
        self._index = index
        self._hashes = hashes
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False
        # By URL and filename: one URL listed under two names is two downloads, each
        # checked (by unpacking) against the name it was listed under.
        self._downloads: dict[tuple[str, str], Future[Downloaded]] = {}
        # Not started yet: (minus the declared size, order asked, name, link).
        self._waiting: list[tuple[int, int, str, Link]] = []
        self._asked = itertools.count()
        # Cleared while ``each`` reads pages: the downloads they ask for wait, all of them.
        self._go = threading.Event()
        self._go.set()

    @property
    def _concurrency(self) -> int:
        return self._index.concurrency if self._index is not None else 1

    def _submit(self, fn: Callable[..., T], *args: object) -> Future[T]:
        """Run ``fn(*args)`` on the download threads; the caller holds ``_lock``."""
        if self._closed:
            raise RuntimeError("this Fetcher is closed")
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self.staging.mkdir(parents=True, exist_ok=True)
            self._pool = ThreadPoolExecutor(
                max_workers=self._concurrency, thread_name_prefix="cachedb-dl"
            )
        return self._pool.submit(fn, *args)

    def each(self, fn: Callable[[T], object], items: Sequence[T]) -> None:
        """``fn(item)`` for every item, as many at once as pages are read; returns
        when all are done.

        For work that starts downloads: those start when this returns, largest first,
        and go on on threads of their own. Errors are ``fn``'s to handle.
        """
        pages = self._index.page_concurrency if self._index is not None else 1
        self._go.clear()
        try:
            on_threads(fn, items, pages, "page")
        finally:
            self._go.set()

    def start(self, name: str, link: Link) -> None:
        """Begin downloading ``link`` (a wheel of ``name``), unless it already is."""
        with self._lock:
            key = (link.url, link.filename)
            if key not in self._downloads:
                # The thread that runs this takes the largest download waiting by then.
                self._submit(self._next)
                size = link.size if link.size is not None and link.size > 0 else 0
                heapq.heappush(self._waiting, (-size, next(self._asked), name, link))
                from concurrent.futures import Future

                self._downloads[key] = Future()

    def _next(self) -> None:
        self._go.wait()
        with self._lock:
            _, _, name, link = heapq.heappop(self._waiting)
            future = self._downloads[(link.url, link.filename)]
        if not future.set_running_or_notify_cancel():
            return  # cancelled by results() or close()
        try:
            future.set_result(self._download(name, link))
        except BaseException as exc:  # noqa: BLE001 - raised to whoever waits for it
            future.set_exception(exc)

    def _download(self, name: str, link: Link) -> Downloaded:
        if self._index is None:
            raise InstallError("no index to download from (--no-index without --find-links)")
        # The remote first: the blob of this very file (named by the link's sha256, and
        # verified against it), unpacked below as any download is.
        got = self._remote.fetch_wheel(link, self.staging) if self._remote else None
        stream = None
        if got is None:
            got = self.unpacks.fetch(self._index, link, self.staging)
            if got is not None:
                return got  # and unpacked already, whatever the --hash values (checked later)
            got, stream = self.unpacks.download(self._index, link, self.staging)
        # A mismatch is reported by the caller, in order, once every download is done.
        if self._hash_allowed(name, got.sha256):
            self.unpacks.finish(got.path, got.sha256, stream)
        elif stream is not None:
            stream.discard()
        return got

    def _hash_allowed(self, name: str, sha256: str) -> bool:
        """Whether ``sha256`` is one of the ``--hash`` values given for ``name`` (if any)."""
        allowed = allowed_sha256(self._hashes.get(name, frozenset()))
        return not allowed or sha256 in allowed

    def downloaded(self, name: str, link: Link) -> Path | None:
        """The verified wheel of ``link`` once its download (started here) is done, else None.

        None too for a failed download or one that does not match the ``--hash``
        values of ``name``: ``results`` reports those.
        """
        with self._lock:
            future = self._downloads.get((link.url, link.filename))
        if future is None:
            return None
        self._go.set()  # waited for: nothing is held back any more
        try:
            got = future.result()
        except Exception:  # noqa: BLE001 - reported, in order, by results()
            return None
        return got.path if self._hash_allowed(name, got.sha256) else None

    def results(self, wanted: list[tuple[str, Link]]) -> list[Downloaded]:
        """The downloads of ``wanted`` (started here if they are not yet), in order.

        The first failure is raised once the downloads still running have finished,
        so nothing is being written when the caller cleans up.
        """
        for name, link in wanted:
            self.start(name, link)
        with self._lock:
            futures = [self._downloads[(link.url, link.filename)] for _, link in wanted]
        self._go.set()
        try:
            return [f.result() for f in futures]
        except BaseException:
            for f in futures:
                f.cancel()
            from concurrent.futures import wait

            wait(futures)
            raise

    def close(self) -> None:
        """Stop what has not started, wait for the rest, remove every download and tree."""
        with self._lock:
            pool, self._pool = self._pool, None
            self._closed = True
        self._go.set()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        for future in self._downloads.values():
            future.cancel()  # those whose turn never came (no thread waits for them)
        self.unpacks.discard()
        import shutil

        shutil.rmtree(self.staging, ignore_errors=True)
