"""Where a run's packages come from: its indexes and find-links locations, and the one
index client over them (``install``, ``sync``, ``compile`` and ``venv --seed`` alike)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from .options import DEFAULT_INDEX_URL, INDEX_URL_ENV, InstallOptions

if TYPE_CHECKING:
    from typing import NamedTuple

    from ..index import IndexClient
    from ..requirements import RequirementSet
else:
    # Not typing's NamedTuple: that one compiles each field's annotation (~0.2M instructions).
    from .._record import NamedTuple


class Sources(NamedTuple):
    """The index URLs (the primary first) and find-links locations a run reads."""

    index_urls: list[str]
    find_links: list[str]

    def local_directories(self) -> list[Path] | None:
        """The find-links directories, when they are the only sources (paths, not URLs)."""
        if self.index_urls or not self.find_links:
            return None
        if any("://" in location for location in self.find_links):
            return None
        directories = [Path(location).expanduser().absolute() for location in self.find_links]
        return directories if all(d.is_dir() for d in directories) else None


def sources(opts: InstallOptions, reqs: RequirementSet) -> Sources:
    """The options' sources, then those the requirements files name."""
    return Sources(_index_urls(opts, reqs), [*opts.find_links, *reqs.find_links])


def _index_urls(opts: InstallOptions, reqs: RequirementSet) -> list[str]:
    if opts.no_index or reqs.no_index:
        return []
    primary = opts.index_url or reqs.index_url or os.environ.get(INDEX_URL_ENV) or DEFAULT_INDEX_URL
    extras = [*opts.extra_index_urls, *reqs.extra_index_urls]
    urls: list[str] = []
    for url in [primary, *extras]:
        # A directory is an index too (pip, uv): named absolutely, as the cache keys it.
        url = url if "://" in url else os.path.abspath(os.path.expanduser(url))
        if url not in urls:
            urls.append(url)
    return urls


def index_client(
    opts: InstallOptions,
    where: Sources,
    cache_dir: Path | None,
    *,
    kind: type[IndexClient] | None = None,
    scratch: Path | None = None,
) -> IndexClient:
    """The index client of a run: its sources, network settings, limits and strategy.

    Pages are kept only on success (``commit``): a failed run leaves the cache as it
    was. ``kind``: a subclass that filters what the index offers (``compile
    --exclude-newer``). ``scratch``: the cache's ``tmp/``, where a wheel is downloaded
    only to read its metadata.
    """
    if kind is None:
        from ..index import IndexClient

        kind = IndexClient
    return kind(
        index_urls=where.index_urls,
        find_links=where.find_links,
        cache_dir=cache_dir,
        offline=opts.offline,
        refresh=opts.refresh,
        refresh_packages=opts.refresh_packages,
        timeout=opts.timeout,
        concurrency=opts.concurrency,
        max_download_size=opts.max_download_size,
        strategy=opts.index_strategy,
        defer_cache_writes=True,
        network=opts.network(),
        scratch=scratch,
    )
