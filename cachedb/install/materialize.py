"""From chosen pins to archive directories: download what is missing, then store it.

Every download finishes and every hash is checked before the first wheel is
stored, so a failed download or a hash mismatch leaves the cache as it was.
Meanwhile each verified wheel is already unpacked into a staging tree under
``tmp/`` (not the cache: nothing there is registered or pointed at); the trees
are moved into the cache once every wheel is fetched, and removed if anything
fails first.
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import HashMismatch, InstallError
from ..resolve import Pin
from ..store import BUILT_WHEELS_BUCKET, WHEELS_BUCKET, pointer_key, source_key
from .forked import can_fork
from .sources import Built, Cached, Direct, Indexed, Sdist
from .threads import Background, on_two_threads

if TYPE_CHECKING:
    from ..fetch import Downloaded
    from ..index import IndexClient, Link
    from ..store import Cache
    from ..store.unpack import UnpackedWheel
    from .finder import CandidateFinder
    from .report import Reporter
    from .unpack_workers import ForkedUnpacks


@dataclass(frozen=True)
class Ready:
    """A pin whose wheel is unpacked in the cache and may be linked."""

    pin: Pin
    archive_id: str
    path: Path
    direct_url: dict[str, object] | None
    fetched: bool = False  # downloaded or stored by this run (not already in the cache)


def _allowed(hashes: frozenset[str]) -> set[str]:
    return {h.split(":", 1)[1] for h in hashes if h.startswith("sha256:")}


def _check(filename: str, sha256: str, allowed: set[str], path: Path | None = None) -> None:
    if allowed and sha256 not in allowed:
        if path is not None:
            path.unlink(missing_ok=True)
        raise HashMismatch(
            f"hash mismatch for {filename}: expected sha256 {sorted(allowed)[0]}, got {sha256}"
        )


def _direct_url(source: Direct, sha256: str) -> dict[str, object]:
    from ..fetch import strip_credentials

    return {
        "url": strip_credentials(source.url),
        "archive_info": {"hash": f"sha256={sha256}", "hashes": {"sha256": sha256}},
    }


def _link_for_miss(index: IndexClient | None, pin: Pin, filename: str) -> Link:
    """The index link of a cached wheel whose archive turned out to be missing."""
    if index is not None:
        for link in index.project_links(pin.name):
            if link.filename == filename:
                return link
    raise InstallError(
        f"{filename} vanished from the cache and no index offers it; run `cachedb verify --repair`"
    )


def _hash_of(bucket: str, key: str, archive_id: str) -> str:
    """The sha256 a ``--hash`` names for a cached wheel: the wheel's, or its sdist's if built."""
    if bucket == BUILT_WHEELS_BUCKET:
        from ..build.sources import built_from_sdist

        return built_from_sdist(key) or archive_id
    return archive_id


def _sdist_for_miss(index: IndexClient | None, pin: Pin, key: str) -> Link:
    """The index's sdist of a built wheel whose archive turned out to be missing."""
    from ..build.sources import built_from_sdist

    sha = built_from_sdist(key)
    if index is not None and sha is not None:
        for link in index.project_links(pin.name):
            if link.hashes.get("sha256") == sha:
                return link
    raise InstallError(
        f"the build of {pin.name} vanished from the cache and no index offers its sdist; "
        "run `cachedb verify --repair`"
    )


def materialize(
    pins: list[Pin],
    *,
    cache: Cache,
    finder: CandidateFinder,
    hashes: Mapping[str, frozenset[str]],
    leases: list[int],
    progress: Reporter | None = None,
) -> list[Ready]:
    """Archive directories for ``pins`` (in order), fetching and storing what is missing.

    Lease ids of every archive handed out are appended to ``leases``; the caller
    releases them once linking is done. ``progress`` is started here, once the
    unpacking workers are forked: its terminal thread must not exist before.
    """
    ready: dict[str, Ready] = {}
    downloads: list[tuple[Pin, Link]] = []
    direct: list[tuple[Pin, Direct]] = []
    builds: list[tuple[Pin, Link]] = []  # sdists to build (or whose build is cached)

    cached = [p.candidate.source.wheel for p in pins if isinstance(p.candidate.source, Cached)]
    # Reading the pointers and leasing their archives is one transaction, so gc
    # cannot collect an archive between our lookup and our linking.
    hits, lease_ids = cache.lookup_leased([(w.bucket, w.key) for w in cached])
    leases.extend(lease_ids)
    for pin in pins:
        source = pin.candidate.source
        allowed = _allowed(hashes.get(pin.name, frozenset()))
        if isinstance(source, Cached):
            wheel = source.wheel
            path = hits.get((wheel.bucket, wheel.key))
            if path is not None and (
                not allowed or _hash_of(wheel.bucket, wheel.key, wheel.archive_id) in allowed
            ):
                ready[pin.name] = Ready(pin, wheel.archive_id, path, None)
                continue
            if wheel.bucket == BUILT_WHEELS_BUCKET:
                builds.append((pin, _sdist_for_miss(finder.index, pin, wheel.key)))
                continue
            downloads.append((pin, _link_for_miss(finder.index, pin, wheel.filename)))
        elif isinstance(source, Built):
            wheel_ = source.wheel
            ready[pin.name] = Ready(
                pin, wheel_.archive_id, wheel_.path, wheel_.source.direct_url(), wheel_.fresh
            )
        elif isinstance(source, Sdist):
            builds.append((pin, source.link))
        elif isinstance(source, Indexed):
            downloads.append((pin, source.link))
        elif isinstance(source, Direct):
            direct.append((pin, source))
        else:
            raise InstallError(f"{pin.name} has no installable source")

    staging = cache.layout.tmp / f"download-{secrets.token_hex(6)}"
    unpacks = _Unpacks(cache, len(downloads) + len(direct))
    if progress is not None:
        progress.start("Preparing", len(pins))
    trees: dict[Path, UnpackedWheel | None] = {}  # taken from unpacks, not yet stored
    try:
        fetched: list[tuple[Pin, Path, str, str, dict[str, object] | None]] = []
        if downloads:
            index = finder.index
            if index is None:
                raise InstallError("no index to download from (--no-index without --find-links)")
            staging.mkdir(parents=True)

            def downloaded(i: int, got: Downloaded) -> None:
                # A mismatch is reported below, in order, once every download is done.
                if _matches(got.sha256, _allowed(hashes.get(downloads[i][0].name, frozenset()))):
                    unpacks.start(got.path, got.sha256)

            results = index.download_many(
                [(link, None) for _, link in downloads], staging, on_done=downloaded
            )
            for (pin, link), got in zip(downloads, results, strict=True):
                allowed = _allowed(hashes.get(pin.name, frozenset()))
                _check(link.filename, got.sha256, allowed, got.path)
                fetched.append((pin, got.path, got.sha256, source_key(link.source), None))
        for pin, source in direct:
            from ..store.unpack import sha256_file

            path = finder.direct_file(source)
            sha = sha256_file(path)
            allowed = _allowed(hashes.get(pin.name, frozenset()) | source.hashes)
            _check(path.name, sha, allowed)
            unpacks.start(path, sha)
            origin = str(path.parent) if source.url.startswith("file:") else source.url
            fetched.append((pin, path, sha, source_key(origin), _direct_url(source, sha)))
        for pin, link in builds:
            allowed = _allowed(hashes.get(pin.name, frozenset()))
            built = finder.building.wheel(link, allowed)
            if progress is not None:
                progress.advance(pin.name)
            ready[pin.name] = Ready(pin, built.archive_id, built.path, None, built.fresh)

        # Every wheel is fetched, verified and unpacked (an invalid one raised here,
        # with nothing stored): only now does the cache change.
        for item in fetched:
            trees[item[1]] = unpacks.take(item[1])

        def store(item: tuple[Pin, Path, str, str, dict[str, object] | None]) -> None:
            pin, path, sha, src, direct_url = item
            stem = path.name[: -len(".whl")]
            entry = cache.put(
                WHEELS_BUCKET,
                pointer_key(src, pin.name, stem),
                path,
                sha256=sha,
                lease=True,
                unpacked=trees.pop(path),
            )
            if path.parent == staging:
                # Freeing a big file's blocks takes a while: here, not on the way to linking.
                with contextlib.suppress(OSError):
                    path.unlink()
            if entry.lease_id is not None:
                leases.append(entry.lease_id)
            ready[pin.name] = Ready(pin, entry.archive_id, entry.path, direct_url, fetched=True)
            if progress is not None:
                progress.advance(pin.name)

        on_two_threads(store, fetched, "store")
    finally:
        unpacks.discard()
        for tree in trees.values():
            if tree is not None:
                shutil.rmtree(tree.directory, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
    return [ready[pin.name] for pin in pins]


def _matches(sha256: str, allowed: set[str]) -> bool:
    return not allowed or sha256 in allowed


class _Unpacks:
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

    def take(self, wheel: Path) -> UnpackedWheel | None:
        """The tree of ``wheel`` (waiting for it), or None if it was not unpacked here."""
        if self._forked is not None:
            return self._forked.take(wheel)
        return self._jobs.take(wheel)

    def discard(self) -> None:
        trees = self._jobs.abandon()
        if self._forked is not None:
            trees.extend(self._forked.abandon())
        for tree in trees:
            shutil.rmtree(tree.directory, ignore_errors=True)
