"""Before resolving: what the index will be asked about a pinned set, asked all at once.

A resolver asks for one project at a time; a pinned requirements file names
them all up front. So each exact pin the cache lacks gets its index page read,
its wheel's download started and its metadata fetched together, on the
download threads, while the others do the same.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from ..resolve import exact_pin
from .sources import Indexed

if TYPE_CHECKING:
    from packaging.requirements import Requirement

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
            pins.append((canonicalize_name(req.name), pin))
    maybe = {(n, v) for n, v in pins if finder.may_have(n, v)}
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
