"""IndexClient: project pages from every index and find-links location, and their files.

Pages are read through ``_pages.Pages`` (once per client, from the HTTP cache
while fresh); how many requests go at once is ``_concurrency``'s answer.

Offline and a project whose page is missing from the cache: if no source
yields any file, ``project_links`` raises NetworkError (an empty list would be
reported by the resolver as "no such version", hiding the real cause).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cachedb._digest import sha256_hex
from cachedb._names import canonical_name
from cachedb._redact import redact_url
from cachedb.errors import InvalidWheel, NetworkError, UsageError
from cachedb.fetch._hashes import Hasher, usable
from cachedb.fetch._network import NetworkSettings
from cachedb.fetch._urls import borrow_credentials, local_path
from cachedb.index._concurrency import requests_at_once
from cachedb.index._findlinks import (
    for_project,
    list_directory,
    local_index_links,
    local_location,
)
from cachedb.index._httpcache import PageCache
from cachedb.index._link import Link
from cachedb.index._pages import ACCEPT_HTML, ACCEPT_INDEX, Pages
from cachedb.index._parse import parse_html_page, parse_page
from cachedb.index._strategy import (
    DEFAULT_STRATEGY,
    FIRST_INDEX,
    UNSAFE_BEST_MATCH,
    first_offer_of_each_version,
)

if TYPE_CHECKING:
    from types import TracebackType

    from packaging.utils import NormalizedName

    from cachedb.fetch import Downloaded
    from cachedb.fetch._limits import Limits
    from cachedb.fetch._session import HttpSession
    from cachedb.index._httpcache import CachedPage

# Pages and metadata read from the cache need none of the downloader (``fetch._download``,
# tempfile, shutil, threads): it is imported where a file is read or fetched.

DEFAULT_INDEX_URL = "https://pypi.org/simple"


class IndexClient:
    """Reads simple-repository indexes and find-links locations; downloads their files."""

    def __init__(
        self,
        *,
        index_urls: Sequence[str],
        find_links: Sequence[str] = (),
        cache_dir: Path | None,
        offline: bool = False,
        refresh: bool = False,
        refresh_packages: Collection[str] = (),
        timeout: float = 30.0,
        concurrency: int | None = None,
        defer_cache_writes: bool = False,
        network: NetworkSettings | None = None,
        max_download_size: int | None = None,
        strategy: str = DEFAULT_STRATEGY,
        scratch: Path | None = None,
    ) -> None:
        self.strategy = strategy
        self.scratch = scratch  # the cache's tmp/ (index/_metadata.downloaded_metadata)
        self._max_download_size = max_download_size
        self.index_urls = [url.rstrip("/") for url in index_urls]
        self.find_links = list(find_links)
        self.offline = offline
        self.refresh = refresh
        self.refresh_packages = frozenset(canonical_name(n) for n in refresh_packages)
        self.timeout = timeout
        self.concurrency, self.page_concurrency = requests_at_once(
            [*self.index_urls, *self.find_links], concurrency
        )
        self._cache = PageCache(cache_dir, deferred=defer_cache_writes)
        self.network = network if network is not None else NetworkSettings()
        self._http: HttpSession | None = None
        self._lock = threading.Lock()
        self._pages = Pages(lambda: self._session, self._cache, offline=offline, refresh=refresh)
        self._find_links_files: dict[str, list[Link] | None] = {}
        # Each project's links, parsed once per client (the resolver and the lock both ask).
        self._links: dict[str, list[Link]] = {}

    @property
    def max_download_size(self) -> int:
        """The most a file without a declared size may take."""
        if self._max_download_size is not None:
            return self._max_download_size
        from cachedb.fetch._limits import DEFAULT_MAX_DOWNLOAD_SIZE

        return DEFAULT_MAX_DOWNLOAD_SIZE

    @property
    def _session(self) -> HttpSession:
        # Made on the first request: a run answered from the page cache never needs it.
        with self._lock:
            if self._http is None:
                from cachedb.fetch._session import HttpSession

                threads = self.concurrency + self.page_concurrency  # a connection each
                self._http = HttpSession(
                    timeout=self.timeout, connections=threads, settings=self.network
                )
            return self._http

    def connect(self) -> None:
        """Get ready to send requests (if any index is remote), ahead of the first one."""
        if any(local_location(url) is None for url in self.index_urls):
            self._session.connect()

    @property
    def request_count(self) -> int:
        """HTTP requests actually sent (redirects count)."""
        return 0 if self._http is None else self._http.request_count

    # -- pages -------------------------------------------------------------------------

    def read_from_cache(self) -> list[tuple[Path, CachedPage]] | None:
        """The pages read so far and their cache files, if no request was sent; else None."""
        return None if self.request_count else self._pages.read_from_cache()

    @property
    def index_sources(self) -> list[str]:
        """Each index as its links name their ``source``, in order."""
        return [redact_url(index) for index in self.index_urls]

    def project_links(self, name: str) -> list[Link]:
        """The files offered for ``name`` by the indexes (as ``strategy`` says), then by
        each find-links location."""
        canonical = canonical_name(name)
        known = self._links.get(canonical)
        if known is None:
            known = self._read_project_links(canonical)
            with self._lock:
                known = self._links.setdefault(canonical, known)
        return list(known)

    def _read_project_links(self, canonical: NormalizedName) -> list[Link]:
        per_index: list[list[Link]] = []
        missing: list[str] = []
        for index in self.index_urls:
            directory = local_location(index)
            if directory is not None:
                found = local_index_links(directory, index, canonical)
                per_index.append(found)
                if self.strategy == FIRST_INDEX and found:
                    break
                continue
            page_url = f"{index}/{canonical}/"
            page = self._pages.get(page_url, ACCEPT_INDEX, canonical in self.refresh_packages)
            if page is None:
                missing.append(index)
            elif page.status == 200:
                found = parse_page(page.body, page.content_type, page.url, redact_url(index))
                per_index.append(self._with_credentials(found, page_url))
            if self.strategy == FIRST_INDEX and (page is None or page.status == 200):
                # This index has the project (or cannot say, offline): later ones may not
                # offer it instead.
                break
        if self.strategy == UNSAFE_BEST_MATCH:
            links = first_offer_of_each_version(per_index)
        else:
            links = [link for found in per_index for link in found]
        for location in self.find_links:
            files = self._find_links_listing(location)
            if files is None:
                missing.append(location)
            else:
                links.extend(for_project(files, canonical))
        if missing and not links:
            raise NetworkError(
                f"{canonical} is not in the cache and --offline is set "
                f"(index: {redact_url(missing[0])})"
            )
        return links

    def _with_credentials(self, links: list[Link], page_url: str) -> list[Link]:
        """Links on the page's own host get the credentials the page was fetched with."""
        if "@" not in page_url:
            return links
        out = []
        for link in links:
            url = borrow_credentials(link.url, page_url)
            out.append(link if url == link.url else link._replace(url=url))
        return out

    def read_pages(self, names: Iterable[str]) -> None:
        """Read the pages of ``names`` at once (fresh ones from the cache, the rest
        revalidated); ``project_links`` then answers from memory. Failures are left
        for ``project_links`` to raise."""
        todo = list(dict.fromkeys(names))
        if len(todo) < 2 or self.offline:
            return

        def one(name: str) -> None:
            with contextlib.suppress(Exception):
                self.project_links(name)

        from cachedb._threads import on_threads

        on_threads(one, todo, self.page_concurrency, "page")

    def _find_links_listing(self, location: str) -> list[Link] | None:
        """All distribution files at a find-links location; None when offline and not cached."""
        with self._lock:
            if location in self._find_links_files:
                return self._find_links_files[location]
        source = redact_url(location)
        path = local_location(location)
        files: list[Link] | None
        if path is not None:
            if path.is_dir():
                files = list_directory(path, source)
            elif path.is_file():
                files = parse_html_page(path.read_bytes(), path.as_uri(), source)
            else:
                raise UsageError(f"--find-links location {path} does not exist")
        else:
            page = self._pages.get(location, ACCEPT_HTML)
            if page is None:
                files = None
            elif page.status != 200:
                files = []
            else:
                found = parse_page(page.body, page.content_type, page.url, source)
                files = self._with_credentials(found, location)
        with self._lock:
            self._find_links_files[location] = files
        return files

    # -- files -------------------------------------------------------------------------

    def limits(self, link: Link) -> Limits:
        """What reading ``link`` may take: its declared size (else the cap), and files on
        this machine only if the link comes from a location on this machine."""
        from cachedb.fetch._limits import Limits

        declared = link.size if link.size is not None and link.size >= 0 else None
        return Limits(declared, self.max_download_size, local_location(link.source) is not None)

    def _local_file(self, link: Link, url: str) -> str | None:
        """The path of a ``file:`` URL ``link`` may be read from, refusing what it may not."""
        path = local_path(url)
        if path is not None:
            from cachedb.fetch._download import check_local_file, refuse_local

            refuse_local(url, self.limits(link))
            check_local_file(path)
        return path

    def fetch_metadata(self, link: Link, downloaded: Path | None = None) -> bytes:
        """Core metadata of ``link``: its PEP 658 file if offered, else read from the wheel.

        ``downloaded`` is the wheel of ``link``, already fetched and verified: its
        METADATA is what PEP 658 serves, without a request.
        """
        if downloaded is not None:
            with contextlib.suppress(InvalidWheel):  # then the wheel's unpacking says why
                return _wheel_metadata(downloaded, link.filename)
        if link.metadata_hashes is not None:
            data = self._pep658_metadata(link)
            if data is not None:
                return data
        if not link.is_wheel:
            raise InvalidWheel(
                f"{link.filename} is not a wheel and its index offers no metadata for it"
            )
        path = self._local_file(link, link.url)
        if path is not None and not link.hashes:
            return _wheel_metadata(Path(path), link.filename)
        from cachedb.index._metadata import downloaded_metadata as read

        return read(lambda tmp: self.download(link, tmp).path, link.filename, self.scratch)

    def _pep658_metadata(self, link: Link) -> bytes | None:
        """The verified ``.metadata`` file, or None when the server does not have it after all."""
        promised = usable(link.metadata_hashes)
        blob = f"{promised['sha256']}.metadata" if "sha256" in promised else None
        if blob is not None:
            data = self._cache.get_blob(blob)
            if data is not None and sha256_hex(data) == promised["sha256"]:
                return data
        from cachedb.fetch._download import check_local_file, refuse_local

        url = link.metadata_url
        refuse_local(url, self.limits(link))
        path = local_path(url)
        if path is not None:
            if not Path(path).exists():
                return None
            check_local_file(path)
            data = Path(path).read_bytes()
        else:
            if self.offline:
                raise NetworkError(
                    f"metadata of {link.filename} is not in the cache and --offline is set"
                )
            from cachedb.index._metadata import MAX_METADATA

            with self._session.open(url) as reply:
                if reply.status in (404, 410):
                    return None
                if reply.status != 200:
                    raise NetworkError(f"HTTP {reply.status} fetching {redact_url(url)}")
                data = reply.read(MAX_METADATA, "metadata file")
        hasher = Hasher(promised)
        hasher.update(data)
        hasher.check(f"{link.filename}.metadata", promised)
        if blob is not None:
            self._cache.put_blob(blob, data)
        return data

    def download(self, link: Link, dest_dir: Path, *, expected: Mapping[str, str] | None = None,
                 tee: Callable[[bytes], object] | None = None) -> Downloaded:  # fmt: skip
        """``link`` into ``dest_dir/<filename>``, verified against its hashes and ``expected``;
        ``tee`` is given every piece as it is written."""
        from cachedb.fetch._download import download

        if self.offline and local_path(link.url) is None:
            raise NetworkError(f"{link.filename} must be downloaded but --offline is set")
        return download(
            self._session, link.url, dest_dir, link.filename,
            hashes=link.hashes, expected=expected, limits=self.limits(link), tee=tee,
        )  # fmt: skip

    def download_many(
        self,
        items: Sequence[tuple[Link, Mapping[str, str] | None]],
        dest_dir: Path,
    ) -> list[Downloaded]:
        """Download concurrently over the one pooled client; results in ``items`` order.

        The first failure is raised once the running downloads finish; files that
        completed stay in ``dest_dir``, failed ones leave nothing.
        """

        def one(item: tuple[Link, Mapping[str, str] | None]) -> Downloaded:
            return self.download(item[0], dest_dir, expected=item[1])

        from cachedb._threads import on_threads

        return on_threads(one, items, self.concurrency, "dl")

    def stage_pages(self) -> None:
        """Write what ``commit`` will keep, under ``scratch``, ahead of it (``PageCache.stage``)."""
        if self.scratch is not None:
            self._cache.stage(self.scratch)

    def commit(self) -> None:
        """Write the pages and metadata this client deferred (``defer_cache_writes``)."""
        self._cache.flush()

    def close(self) -> None:
        self._cache.discard_staged()
        if self._http is not None:
            self._http.close()

    def __enter__(self) -> IndexClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _wheel_metadata(path: Path, filename: str) -> bytes:
    # Deferred: the wheel reader loads the email parser (cached PEP 658 files never do).
    from cachedb.index._metadata import wheel_metadata

    return wheel_metadata(path, filename)
