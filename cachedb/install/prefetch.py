"""Before resolving: what the index will be asked about a pinned set, asked all at once.

A resolver asks for one project at a time; a pinned requirements file names
them all up front. So each exact pin the cache lacks gets its index page read,
its wheel's download started and its metadata fetched together, on the
download threads, while the others do the same.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from .._names import canonical_name
from ..resolve import exact_pin
from .options import InstallOptions
from .request import Request
from .sources import Direct, Indexed

if TYPE_CHECKING:
    from cachedb._pep508 import Requirement

    from ..requirements import RequirementSet
    from ..store import Cache
    from ..target import Interpreter
    from .fetching import Fetcher
    from .finder import CandidateFinder


def uncached_pins(
    requirements: Sequence[Requirement], finder: CandidateFinder, markers: Mapping[str, str]
) -> list[tuple[str, Version]]:
    """The exact ``==`` pins that apply to the target and that no cached wheel answers.

    Only those need downloads. Whether a cached wheel answers depends on what the
    sources offer now: the pages of the pins the cache may hold are read first, all
    at once (fresh ones from the page cache, without a request).
    """
    environment = {**markers, "extra": ""}
    pins: list[tuple[str, Version]] = []
    for req in requirements:
        pin = exact_pin(req.specifier)
        if req.url is not None or pin is None:
            continue
        if req.marker is None or req.marker.evaluate(environment):
            pins.append((canonical_name(req.name), pin))
    maybe = finder.may_have_pins(pins)
    finder.read_pages(n for n, v in pins if (n, v) in maybe)
    return [(n, v) for n, v in pins if (n, v) not in maybe or not _has_cached(finder, n, v)]


def _has_cached(finder: CandidateFinder, name: str, version: Version) -> bool:
    try:
        return finder.has_cached(name, version)
    except Exception:
        return False  # left for the resolver to meet (and report) when it asks


def prefetch(
    pins: Sequence[tuple[str, Version]],
    finder: CandidateFinder,
    fetcher: Fetcher,
    *,
    metadata: bool = True,
) -> None:
    """Read the pages (and, with ``metadata``, the metadata) of ``pins``, starting their
    downloads as soon as known.

    Returns when every page and metadata file is read; the downloads go on.
    Failures are left for the resolver to meet (and report) when it asks.
    """

    def one(item: tuple[str, Version]) -> None:
        name, version = item
        with contextlib.suppress(Exception):
            for candidate in finder.candidates(name, SpecifierSet(f"=={version}")):
                if candidate.version != version:
                    continue
                # The resolver takes the first candidate of the pinned version; an
                # installed or cached one needs no download.
                if isinstance(candidate.source, Indexed):
                    if metadata:  # first: the resolver waits for it, not for the download
                        finder.dependencies(candidate)
                    fetcher.start(name, candidate.source.link)
                return

    fetcher.each(one, pins)


def will_download(reqs: RequirementSet, cache: Cache) -> bool:
    """Whether some requirement is likely to need the index: one the cache has no wheel
    of that exact version for (whatever the target), or one not pinned exactly."""
    pins: list[tuple[str, str]] = []
    for r in reqs.requirements:
        if r.url is not None:
            continue
        pin = exact_pin(r.requirement.specifier)
        if pin is None:
            return True
        pins.append((canonical_name(r.name), str(pin)))
    found = cache.cached_wheels_of({name for name, _ in pins})
    return not all(any(w.version == v for w in found[n]) for n, v in pins)


def start_fetching(
    request: Request,
    finder: CandidateFinder,
    interp: Interpreter,
    opts: InstallOptions,
    cache: Cache,
) -> Fetcher | None:
    """For a pinned set the cache lacks: pages, metadata and downloads, all started now."""
    if opts.offline:
        return None
    reqs = request.reqs
    pins = uncached_pins([r.requirement for r in reqs.requirements], finder, interp.markers)
    if len(pins) < 2 or finder.index is None:
        return None
    from .fetching import Fetcher  # (heapq, threads): a warm install fetches nothing

    fetcher = Fetcher(cache, finder.index, request.hashes, len(pins), remote=finder.remote)
    # A set pinned throughout (a lock file) has no dependency left to discover, and
    # its install waits for every download anyway: each pin's metadata is read from
    # its wheel, one request less per package. Elsewhere metadata comes first, so
    # that unpinned dependencies are looked up before the big downloads end.
    pinned = all(
        r.url is None and exact_pin(r.requirement.specifier) is not None for r in reqs.requirements
    )
    if pinned:
        finder.downloaded = fetcher.downloaded
    try:
        prefetch(pins, finder, fetcher, metadata=not pinned)
        if pinned:
            # The pages are all read, and resolving waits for the downloads: the files
            # the page cache keeps at the end are written now.
            finder.index.stage_pages()
    except BaseException:
        fetcher.close()
        raise
    return fetcher


def download_direct(
    direct: Mapping[str, Direct], finder: CandidateFinder, cache: Cache, opts: InstallOptions
) -> Path | None:
    """Download wheels named by URL before resolving: their metadata lives inside them.
    Returns the directory they are in (the caller removes it), if any."""
    if not direct:
        return None  # and cachedb.fetch stays unloaded
    from ..fetch import local_path

    # git URLs are cloned by the builder, not downloaded.
    remote = [
        d for d in direct.values() if local_path(d.url) is None and not d.url.startswith("git+")
    ]
    if not remote:
        return None
    from ..index import Link

    index = finder.index
    if index is None:
        from ..index import IndexClient

        index = IndexClient(index_urls=[], cache_dir=None, network=opts.network())
    staging = cache.layout.tmp / f"direct-{os.getpid()}-{time.monotonic_ns()}"
    staging.mkdir(parents=True)
    links = [Link(d.url, d.filename, {}, None, None, None, d.url) for d in remote]
    for d, got in zip(
        remote, index.download_many([(lk, None) for lk in links], staging), strict=True
    ):
        finder.remote_direct[d.url] = got
    return staging
