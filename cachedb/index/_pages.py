"""Index pages by URL: each read once per client, from the HTTP cache while fresh.

A page already read by this client is reused; a cached page is reused without
a request while the server's ``max-age`` holds, otherwise it is revalidated
(``If-None-Match``/``If-Modified-Since``, 304 → cached body). ``refresh``
always revalidates; ``offline`` never sends a request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from cachedb._redact import redact_url
from cachedb.errors import NetworkError
from cachedb.fetch._urls import strip_credentials
from cachedb.index._httpcache import CachedPage, PageCache, cache_policy

if TYPE_CHECKING:
    from pathlib import Path

    from cachedb.fetch._session import HttpSession

ACCEPT_INDEX = (
    "application/vnd.pypi.simple.v1+json, "
    "application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
)
ACCEPT_HTML = "text/html"
MAX_PAGE = 64 * 1024 * 1024


class Pages:
    """The pages one ``IndexClient`` reads, through its session and its HTTP cache."""

    def __init__(
        self,
        session: Callable[[], HttpSession],
        cache: PageCache,
        *,
        offline: bool,
        refresh: bool,
    ) -> None:
        """``session`` gives the client's HTTP session (made on the first request)."""
        self._session = session
        self._cache = cache
        self.offline = offline
        self.refresh = refresh
        self._lock = threading.Lock()
        self._memo: dict[tuple[str, str], CachedPage | None] = {}
        self.fetched = False  # whether any page was asked of the network

    def get(self, url: str, accept: str, refresh: bool = False) -> CachedPage | None:
        """The page at ``url``: None only when offline and not cached; ``refresh`` (or the
        client's) revalidates a cached page even while it is fresh."""
        key = (strip_credentials(url), accept)
        with self._lock:
            if key in self._memo:
                return self._memo[key]
        cached = self._cache.get(url, accept)
        refresh = refresh or self.refresh
        if self.offline or (cached is not None and not refresh and cached.fresh()):
            page = cached
        else:
            page = self._fetch(url, accept, cached, refresh)
        with self._lock:
            self._memo[key] = page
        return page

    def read_from_cache(self) -> list[tuple[Path, CachedPage, str, int]] | None:
        """Every page read so far with the cache file it came from, that file's header
        line and size as read; None unless all of them came from the cache (``lock/_memo``
        rests on these files)."""
        if self.fetched:
            return None
        files = self._cache.read_files
        out = []
        for (url, accept), page in self._memo.items():
            path = self._cache.path(url, accept)
            if page is None or path is None or path not in files:
                return None
            out.append((path, page, *files[path]))
        return None if self.fetched else out

    def _fetch(self, url: str, accept: str, cached: CachedPage | None, refresh: bool) -> CachedPage:
        self.fetched = True
        headers = {"Accept": accept}
        if cached is not None and cached.status == 200:
            if cached.etag:
                headers["If-None-Match"] = cached.etag
            if cached.last_modified:
                headers["If-Modified-Since"] = cached.last_modified
        if refresh:
            # Also asks CDNs in front of the index for a fresh copy.
            headers["Cache-Control"] = "max-age=0"
        shown = redact_url(url)
        with self._session().open(url, headers) as reply:
            policy = cache_policy(reply.headers)
            if reply.status == 304 and cached is not None:
                page = cached.revalidated(reply.headers)
            elif reply.status in (404, 410):
                page = CachedPage(
                    url=strip_credentials(reply.url), status=404, content_type="",
                    etag=None, last_modified=None, fetched=time.time(),
                    max_age=None, body=b"",
                )  # fmt: skip
            elif reply.status == 200:
                body = reply.read(MAX_PAGE, "index page")
                page = CachedPage(
                    url=strip_credentials(reply.url),
                    status=200,
                    content_type=reply.headers.get("content-type", "text/html"),
                    etag=reply.headers.get("etag"),
                    last_modified=reply.headers.get("last-modified"),
                    fetched=time.time(),
                    max_age=policy.max_age,
                    body=body,
                )
            elif reply.status in (401, 403):
                raise NetworkError(
                    f"HTTP {reply.status} from {shown}: missing or wrong credentials for this index"
                )
            else:
                raise NetworkError(f"HTTP {reply.status} fetching {shown}")
        if policy.store:
            self._cache.put(url, accept, page)
        return page
