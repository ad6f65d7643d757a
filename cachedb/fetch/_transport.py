"""The transport under the HTTP client: TLS set up only once an https URL is asked for.

``httpx.Client`` builds its TLS context, loading the whole CA bundle (some
35 ms), when it is created. An index served over plain HTTP (a local mirror,
a proxy on localhost) never needs it.
"""

from __future__ import annotations

import threading

import httpx


class SchemeTransport(httpx.BaseTransport):
    """``httpx.HTTPTransport`` with its defaults, one for http and one for https URLs."""

    def __init__(self, limits: httpx.Limits) -> None:
        self._limits = limits
        self._lock = threading.Lock()
        # verify=False only spares loading the CA bundle: no TLS happens on this one.
        self._plain = httpx.HTTPTransport(limits=limits, verify=False)
        self._tls: httpx.HTTPTransport | None = None

    def _for(self, scheme: str) -> httpx.HTTPTransport:
        if scheme == "http":
            return self._plain
        with self._lock:
            if self._tls is None:
                self._tls = httpx.HTTPTransport(limits=self._limits)
            return self._tls

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._for(request.url.scheme).handle_request(request)

    def close(self) -> None:
        self._plain.close()
        with self._lock:
            tls, self._tls = self._tls, None
        if tls is not None:
            tls.close()
