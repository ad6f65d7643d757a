"""The transport under the HTTP client: proxies from the environment, TLS set up late.

``httpx.Client`` builds its TLS context, loading the whole CA bundle (some
35 ms), when it is created. An index served over plain HTTP (a local mirror,
a proxy on localhost) never needs it, so the context is made on the first
https request, once, and shared by every route.

A custom transport makes httpx ignore ``HTTP_PROXY`` and friends, so routes are
chosen here, the way pip, uv and curl read those variables (``NO_PROXY`` too).
"""

from __future__ import annotations

import ssl
import threading
import urllib.request

import httpx

from cachedb.errors import UsageError
from cachedb.fetch._network import NetworkSettings


def proxy_for(url: httpx.URL, proxies: dict[str, str]) -> str | None:
    """The proxy ``url`` goes through, None for a direct connection."""
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if not proxy:
        return None
    host = url.host if url.port is None else f"{url.host}:{url.port}"
    # Public and documented, though typeshed does not declare it.
    if urllib.request.proxy_bypass_environment(host, proxies):  # type: ignore[attr-defined]
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def tls_context(settings: NetworkSettings) -> ssl.SSLContext:
    """Whom https servers must prove themselves to: ``--cert``, the system, or the bundle."""
    if settings.native_tls:
        try:
            import truststore
        except ImportError:
            raise UsageError(
                "--native-tls needs the truststore package (pip install truststore)"
            ) from None
        return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if settings.cert:
        try:
            return ssl.create_default_context(cafile=settings.cert)
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or exc
            raise UsageError(f"cannot use --cert {settings.cert}: {reason}") from None
    # The bundled CAs, or SSL_CERT_FILE / SSL_CERT_DIR when set (as httpx reads them).
    return httpx.create_ssl_context()


class SchemeTransport(httpx.BaseTransport):
    """One ``httpx.HTTPTransport`` per route: (proxy or direct, http or https)."""

    def __init__(self, limits: httpx.Limits, settings: NetworkSettings | None = None) -> None:
        self._limits = limits
        self._settings = settings or NetworkSettings()
        self._lock = threading.Lock()
        self._proxies = urllib.request.getproxies_environment()
        # verify=False only spares loading the CA bundle: no TLS happens on this one.
        self._plain = httpx.HTTPTransport(limits=limits, verify=False)
        self._routes: dict[tuple[str | None, str], httpx.HTTPTransport] = {}
        self._tls: ssl.SSLContext | None = None

    def _for(self, url: httpx.URL) -> httpx.HTTPTransport:
        proxy = proxy_for(url, self._proxies)
        if proxy is None and url.scheme == "http":
            return self._plain
        key = (proxy, url.scheme)
        with self._lock:
            route = self._routes.get(key)
            if route is None:
                if url.scheme == "https" or (proxy or "").startswith("https:"):
                    if self._tls is None:
                        self._tls = tls_context(self._settings)
                    verify: ssl.SSLContext | bool = self._tls
                else:
                    verify = False
                route = httpx.HTTPTransport(limits=self._limits, verify=verify, proxy=proxy)
                self._routes[key] = route
            return route

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._for(request.url).handle_request(request)

    def close(self) -> None:
        self._plain.close()
        with self._lock:
            routes, self._routes = list(self._routes.values()), {}
        for route in routes:
            route.close()
