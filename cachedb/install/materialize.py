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
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import CachedbError, HashMismatch, InstallError
from ..resolve import Pin
from ..store import BUILT_WHEELS_BUCKET, WHEELS_BUCKET, PutItem, pointer_key, source_key
from .sources import Built, Cached, Direct, Indexed, Sdist, allowed_sha256

if TYPE_CHECKING:
    from typing import NamedTuple

    from ..db.lite import Executor
    from ..index import IndexClient, Link
    from ..store import Cache
    from ..store.unpack import UnpackedWheel
    from .fetching import Fetcher
    from .finder import CandidateFinder
    from .report import Reporter
else:
    # Not typing's NamedTuple: that one compiles each field's annotation (~0.2M instructions).
    from .._record import NamedTuple


class Ready(NamedTuple):
    """A pin whose wheel is unpacked in the cache and may be linked."""

    pin: Pin
    archive_id: str
    path: Path
    direct_url: dict[str, object] | None
    fetched: bool = False  # downloaded or stored by this run (not already in the cache)


def _check(filename: str, sha256: str, allowed: set[str], path: Path | None = None) -> None:
    if allowed and sha256 not in allowed:
        if path is not None:
            path.unlink(missing_ok=True)
        raise HashMismatch(
            f"hash mismatch for {filename}: expected sha256 {sorted(allowed)[0]}, got {sha256}"
        )


def _check_named(pin: Pin, filename: str) -> None:
    """Refuse a wheel that is not of the pin it is to install (its unpacking then checks
    that its dist-info and METADATA say what its filename says)."""
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    try:
        name, version = parse_wheel_filename(filename)[:2]
    except InvalidWheelFilename:
        name, version = None, None
    if name != pin.name or version != pin.version:
        raise InstallError(f"{filename} is not a wheel of {pin.name} {pin.version}; refusing it")


def _direct_url(source: Direct, sha256: str) -> dict[str, object]:
    from ..fetch._urls import storable_url

    return {
        # Without credentials or query (a token): PEP 610 records where, not how to get in.
        "url": storable_url(source.url),
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


class _Work(NamedTuple):
    """The pins of a materialize, sorted by what they need: nothing (``ready``: their
    archives leased), a download, a direct file, or a build."""

    ready: dict[str, Ready]
    downloads: list[tuple[Pin, Link]]
    direct: list[tuple[Pin, Direct]]
    builds: list[tuple[Pin, Link]]  # sdists to build (or whose build is cached)


class _Fetched(NamedTuple):
    """A wheel file fetched and verified, not yet stored; ``source``: its pointer's source
    key; ``direct_url``: its PEP 610 record if named by path or URL; ``served``: the
    metadata its index served (PEP 658) and resolved with, its METADATA to agree with."""

    pin: Pin
    path: Path
    sha256: str
    source: str
    direct_url: dict[str, object] | None
    served: bytes | None = None


def materialize(
    pins: list[Pin],
    *,
    cache: Cache,
    finder: CandidateFinder,
    hashes: Mapping[str, frozenset[str]],
    leases: list[int],
    progress: Reporter | None = None,
    fetcher: Fetcher | None = None,
) -> list[Ready]:
    """Archive directories for ``pins`` (in order), fetching and storing what is missing.

    Lease ids of every archive handed out are appended to ``leases``; the caller
    releases them once linking is done. ``fetcher`` holds downloads already
    started (during resolution); it is closed here either way. ``progress`` is
    started here, once the unpacking workers are forked: its terminal thread
    must not exist before.
    """
    work = _sort(pins, cache, finder, hashes, leases)
    ready = work.ready
    if fetcher is None and (work.downloads or work.direct):
        count = len(work.downloads) + len(work.direct)
        from .fetching import Fetcher  # (heapq, threads): a warm install fetches nothing

        fetcher = Fetcher(cache, finder.index, hashes, count, remote=finder.remote)
    if progress is not None:
        progress.start("Preparing", len(pins))
    trees: dict[Path, UnpackedWheel | None] = {}  # taken from unpacks, not yet stored
    try:
        fetched: list[_Fetched] = []
        if work.downloads:
            assert fetcher is not None
            fetched += _download(work.downloads, fetcher, finder, hashes)
        if work.direct:
            assert fetcher is not None
            fetched += _take_direct(work.direct, fetcher, finder, hashes)
        for pin, link in work.builds:
            allowed = allowed_sha256(hashes.get(pin.name, frozenset()))
            built = finder.building.wheel(link, allowed)
            if progress is not None:
                progress.advance(pin.name)
            ready[pin.name] = Ready(pin, built.archive_id, built.path, None, built.fresh)

        # Every wheel is fetched, verified and unpacked (an invalid one raised here,
        # with nothing stored): only now does the cache change.
        for item in fetched:
            assert fetcher is not None
            trees[item.path] = tree = fetcher.unpacks.take(item.path)
            if item.served is not None:
                _check_served(item, tree)
            if _freed_when_taken(tree, finder):
                _free_download(item, fetcher)
        for stored in _store(fetched, trees, cache, fetcher, finder, leases):
            ready[stored.pin.name] = stored
            if progress is not None:
                progress.advance(stored.pin.name)
    finally:
        for tree in trees.values():
            if tree is not None:
                import shutil

                shutil.rmtree(tree.directory, ignore_errors=True)
        # Linking forks only when no other thread runs: the fetcher's go now.
        if fetcher is not None:
            fetcher.close()
    return [ready[pin.name] for pin in pins]


def _sort(
    pins: list[Pin],
    cache: Cache,
    finder: CandidateFinder,
    hashes: Mapping[str, frozenset[str]],
    leases: list[int],
) -> _Work:
    """What each pin needs; the cached ones' archives are leased (ids onto ``leases``)."""
    work = _Work({}, [], [], [])
    cached = [p.candidate.source.wheel for p in pins if isinstance(p.candidate.source, Cached)]
    # Reading the pointers and leasing their archives is one transaction, so gc
    # cannot collect an archive between our lookup and our linking.
    hits, lease_ids = cache.lookup_leased([(w.bucket, w.key) for w in cached])
    leases.extend(lease_ids)
    for pin in pins:
        source = pin.candidate.source
        allowed = allowed_sha256(hashes.get(pin.name, frozenset()))
        if isinstance(source, Cached):
            wheel = source.wheel
            path = hits.get((wheel.bucket, wheel.key))
            if path is not None and (
                not allowed or _hash_of(wheel.bucket, wheel.key, wheel.archive_id) in allowed
            ):
                work.ready[pin.name] = Ready(pin, wheel.archive_id, path, None)
                continue
            if wheel.bucket == BUILT_WHEELS_BUCKET:
                work.builds.append((pin, _sdist_for_miss(finder.index, pin, wheel.key)))
                continue
            link = source.link or _link_for_miss(finder.index, pin, wheel.filename)
            work.downloads.append((pin, link))
        elif isinstance(source, Built):
            wheel_ = source.wheel
            work.ready[pin.name] = Ready(
                pin, wheel_.archive_id, wheel_.path, wheel_.source.direct_url(), wheel_.fresh
            )
        elif isinstance(source, Sdist):
            work.builds.append((pin, source.link))
        elif isinstance(source, Indexed):
            work.downloads.append((pin, source.link))
        elif isinstance(source, Direct):
            work.direct.append((pin, source))
        else:
            raise InstallError(f"{pin.name} has no installable source")
    return work


def _download(
    downloads: list[tuple[Pin, Link]],
    fetcher: Fetcher,
    finder: CandidateFinder,
    hashes: Mapping[str, frozenset[str]],
) -> list[_Fetched]:
    """The sources' wheels, downloaded (or waited for), each checked: its name, the
    metadata the index served for it, its hash."""
    if finder.index is None:
        raise InstallError("no index to download from (--no-index without --find-links)")
    out = []
    results = fetcher.results([(pin.name, link) for pin, link in downloads])
    for (pin, link), got in zip(downloads, results, strict=True):
        _check_named(pin, got.path.name)
        allowed = allowed_sha256(hashes.get(pin.name, frozenset()))
        _check(link.filename, got.sha256, allowed, got.path)
        finder.remember(link, got.sha256)
        served = finder.served_metadata.get((link.url, link.filename))
        out.append(_Fetched(pin, got.path, got.sha256, source_key(link.source), None, served))
    return out


def _check_served(item: _Fetched, tree: UnpackedWheel | None) -> None:
    """Refuse a wheel whose METADATA disagrees with what its index served (PEP 658).

    Its unpacked tree holds that very member (the one top-level dist-info, named as
    the file is), written and checked against RECORD: read there, not from the zip again.
    """
    from .metadata import check_agrees

    assert item.served is not None
    if tree is not None:
        own = (tree.directory / tree.dist_info / "METADATA").read_bytes()
    else:  # stored already, so not unpacked by this run
        from ..index._metadata import wheel_metadata

        own = wheel_metadata(item.path, item.path.name)
    check_agrees(item.served, own, item.path.name)


def _take_direct(
    direct: list[tuple[Pin, Direct]],
    fetcher: Fetcher,
    finder: CandidateFinder,
    hashes: Mapping[str, frozenset[str]],
) -> list[_Fetched]:
    """The wheels named by path or URL (downloaded before resolving), hashed, checked and
    handed to the unpacking workers."""
    from ..store.unpack import sha256_file

    out = []
    for pin, source in direct:
        path = finder.direct_file(source)
        sha = sha256_file(path)
        allowed = allowed_sha256(hashes.get(pin.name, frozenset()) | source.hashes)
        _check(path.name, sha, allowed)
        fetcher.unpacks.start(path, sha)
        origin = str(path.parent) if source.url.startswith("file:") else source.url
        out.append(_Fetched(pin, path, sha, source_key(origin), _direct_url(source, sha)))
    return out


def _store(
    fetched: list[_Fetched],
    trees: dict[Path, UnpackedWheel | None],
    cache: Cache,
    fetcher: Fetcher | None,
    finder: CandidateFinder,
    leases: list[int],
) -> list[Ready]:
    """Store every fetched wheel in one transaction, which consumes every one of their
    unpacked ``trees``, whatever happens; the new archives are leased."""
    given = [
        PutItem(
            WHEELS_BUCKET,
            pointer_key(item.source, item.pin.name, item.path.name[: -len(".whl")]),
            item.path,
            sha256=item.sha256,
            lease=True,
            unpacked=trees.pop(item.path),
        )
        for item in fetched
    ]
    entries = cache.put_many(given)
    if finder.remote is not None:  # downloads from the sources, not wheels named by path
        finder.remote.push_wheels((i.sha256, i.path) for i in fetched if i.direct_url is None)
    out = []
    for item, put, entry in zip(fetched, given, entries, strict=True):
        if fetcher is not None and not _freed_when_taken(put.unpacked, finder):
            _free_download(item, fetcher)
        if entry.lease_id is not None:
            leases.append(entry.lease_id)
        out.append(Ready(item.pin, entry.archive_id, entry.path, item.direct_url, fetched=True))
    return out


def _freed_when_taken(tree: UnpackedWheel | None, finder: CandidateFinder) -> bool:
    """Whether a download is freed as soon as its tree is taken, while later wheels still
    unpack: storing reads only the tree then (without one it unpacks the file, and the
    remote tier pushes the file after storing)."""
    return tree is not None and finder.remote is None


def _free_download(item: _Fetched, fetcher: Fetcher) -> None:
    """Remove a wheel this run downloaded into its staging directory (never a wheel named by
    path): freeing a big file's blocks takes a while, so not on the way to linking."""
    if item.path.parent == fetcher.staging:
        with contextlib.suppress(OSError):
            item.path.unlink()


def note_kept(cache: Cache, prefix: str, archive_ids: list[str]) -> None:
    """Say in the event log that linking into ``prefix`` failed after these archives were
    stored: they stay registered (valid, immutable; the next install links them), and
    nothing says the environment holds them."""
    from ..db.events import record_sql

    def _write(run: Executor) -> None:
        for archive_id in archive_ids:
            record_sql(
                run,
                "install.failed",
                prefix,
                new_archive=archive_id,
                detail="linking failed; the archive stored for it stays in the cache",
            )

    with contextlib.suppress(CachedbError):  # the failure itself is what the user must see
        cache.write_sql(_write)
