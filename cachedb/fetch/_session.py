"""One pooled HTTP client shared by every request of a command.

httpx is imported when the first request is made, never at import time: a
warm, offline run must not pay for it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cachedb._redact import redact_url
from cachedb.errors import NetworkError
from cachedb.fetch._network import NetworkSettings
from cachedb.fetch._urls import scrub

if TYPE_CHECKING:
    import httpx

    from cachedb.fetch._auth import Credentials

log = logging.getLogger(__name__)

MAX_REDIRECTS = 10


@dataclass
class Reply:
    """A response whose body has not been read yet; valid inside ``HttpSession.open``."""

    status: int
    url: str
    """The final URL, after redirects (may carry credentials; redact before showing)."""
    headers: Mapping[str, str]
    """Case-insensitive."""
    _response: httpx.Response
    _requested: str

    def iter_bytes(self) -> Iterator[bytes]:
        yield from self._response.iter_bytes()
        self._check_complete()

    def read(self, max_bytes: int, what: str) -> bytes:
        """The whole body, refusing more than ``max_bytes`` (an index cannot exhaust memory)."""
        chunks: list[bytes] = []
        size = 0
        for chunk in self.iter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise NetworkError(
                    f"{what} at {redact_url(self._requested)} is larger than the "
                    f"{max_bytes // (1024 * 1024)} MiB limit"
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _check_complete(self) -> None:
        # h11 already rejects most short bodies; this catches the rest (e.g. a server
        # that closes cleanly early), measured on the wire before any decompression.
        declared = self.headers.get("content-length")
        if declared and declared.isdigit():
            got = self._response.num_bytes_downloaded
            if got < int(declared):
                raise NetworkError(
                    f"download of {redact_url(self._requested)} was cut off "
                    f"after {got} of {declared} bytes"
                )


class HttpSession:
    """A lazily created ``httpx.Client`` with a connection pool of ``connections``.

    ``connections``: how many threads may use it at once (default: two pools of
    ``concurrency`` threads each).
    """

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        concurrency: int = 8,
        settings: NetworkSettings | None = None,
        connections: int | None = None,
    ) -> None:
        self.timeout = timeout
        self.concurrency = max(1, concurrency)
        self.connections = max(1, connections or 2 * self.concurrency)
        self.settings = settings if settings is not None else NetworkSettings()
        self._client: httpx.Client | None = None
        self._credentials: Credentials | None = None
        self._lock = threading.Lock()
        self._count = 0

    @property
    def request_count(self) -> int:
        """HTTP requests sent so far, redirects included."""
        return self._count

    def _count_request(self, request: httpx.Request) -> None:
        with self._lock:
            self._count += 1

    def connect(self) -> None:
        """Make ready for the first request now (importing httpx takes some 50 ms).

        What a download loads on its first use is loaded here too: processes forked
        after this (the unpacking workers, which download) then start with it, instead
        of each importing it again (about 5 ms each).
        """
        self._get_client()
        import encodings.idna  # noqa: F401 - a host name's encoding, on the first connection
        import netrc  # noqa: F401 - credentials of every host, asked before each request

        from cachedb.fetch import _download  # noqa: F401

    def _get_client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                import httpx

                from cachedb.fetch._auth import Credentials
                from cachedb.fetch._transport import SchemeTransport

                # A connection per thread that may use this client, so no request ever
                # waits in httpcore's pool: a queued request's connection can be closed
                # under it by another thread (encode/httpcore#1110; seen here as EBADF
                # mid-download).
                connections = self.connections
                self._client = httpx.Client(
                    timeout=httpx.Timeout(self.timeout),
                    follow_redirects=True,
                    max_redirects=MAX_REDIRECTS,
                    transport=SchemeTransport(
                        httpx.Limits(
                            max_connections=connections, max_keepalive_connections=connections
                        ),
                        self.settings,
                    ),
                    event_hooks={"request": [self._count_request]},
                )
                keyring = self.settings.keyring_provider == "subprocess"
                self._credentials = Credentials(keyring=keyring)
            return self._client

    def _auth(self, url: str) -> httpx.Auth | None:
        """Credentials from .netrc or the keyring, unless the URL brings a password."""
        from urllib.parse import unquote, urlsplit

        from cachedb.fetch._auth import StoredAuth

        assert self._credentials is not None
        parts = urlsplit(url)
        if parts.password is not None:
            return None  # httpx sends the URL's own
        username = unquote(parts.username) if parts.username else None
        return StoredAuth(self._credentials, username)

    @contextmanager
    def open(self, url: str, headers: Mapping[str, str] | None = None) -> Iterator[Reply]:
        """GET ``url``; every transport failure becomes a NetworkError with the URL redacted.

        Failures while the caller reads the body inside the ``with`` block are
        translated too, so a dropped connection mid-download is a NetworkError.
        """
        client = self._get_client()
        import httpx

        shown = redact_url(url)
        log.debug("GET %s", shown)
        try:
            with client.stream(
                "GET", url, headers=dict(headers or {}), auth=self._auth(url)
            ) as response:
                yield Reply(
                    status=response.status_code,
                    url=str(response.url),
                    headers=response.headers,
                    _response=response,
                    _requested=url,
                )
        except httpx.TooManyRedirects:
            raise NetworkError(
                f"more than {MAX_REDIRECTS} redirects (a redirect loop?) fetching {shown}"
            ) from None
        except httpx.TimeoutException:
            raise NetworkError(f"timed out after {self.timeout:g}s fetching {shown}") from None
        except httpx.ConnectError as exc:
            reason = scrub(str(exc), url) or type(exc).__name__
            raise NetworkError(f"cannot connect to {shown}: {reason}") from None
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            reason = scrub(str(exc), url) or type(exc).__name__
            raise NetworkError(f"connection dropped while fetching {shown}: {reason}") from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            # `from None`: the original exception may render the URL with its password.
            reason = scrub(str(exc), url) or type(exc).__name__
            raise NetworkError(f"request to {shown} failed: {reason}") from None

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()
