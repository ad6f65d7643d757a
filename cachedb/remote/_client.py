"""A small S3 client: HEAD, GET (streamed to a file), conditional PUT, LIST, DELETE.

Requests are signed with SigV4 (``_sigv4``) over httpx, which cachedb already
uses; httpx is imported when a ``Remote`` is opened, so the warm path never pays
for it. Keys are relative to the URL's prefix.
"""

from __future__ import annotations

import calendar
import email.utils
import hashlib
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from cachedb.remote import _credentials, _sigv4
from cachedb.remote._errors import RemoteError, RemoteTooLarge, RemoteUnavailable
from cachedb.remote._url import DEFAULT_REGION, RemoteUrl

if TYPE_CHECKING:
    import httpx

_CHUNK = 1 << 20
_S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


@dataclass(frozen=True)
class RemoteObject:
    key: str
    """Relative to the remote's prefix."""
    size: int
    last_modified: float
    """UTC epoch seconds."""
    etag: str
    metadata: Mapping[str, str] = field(default_factory=dict)
    """The object's ``x-amz-meta-*`` values, by the name after that prefix (lower case)."""


class Remote:
    """One S3 bucket (and prefix) reached through one pooled HTTP client."""

    def __init__(
        self,
        url: RemoteUrl,
        credentials: _credentials.Credentials | None,
        region: str,
        timeout: float = 30.0,
    ) -> None:
        import httpx

        self.url = url
        self._credentials = credentials
        self._region = region
        self._client = httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False)
        if url.endpoint:
            self._base, self._root = url.endpoint, f"/{url.bucket}"
        elif "." in url.bucket:
            self._base, self._root = f"https://s3.{region}.amazonaws.com", f"/{url.bucket}"
        else:
            self._base, self._root = f"https://{url.bucket}.s3.{region}.amazonaws.com", ""
        self._host = httpx.URL(self._base).netloc.decode("ascii")

    @classmethod
    def open(cls, url: str, *, timeout: float = 30.0) -> Remote:
        """The remote at ``url``, with credentials from the AWS variables or profile."""
        parsed = RemoteUrl.parse(url)
        region = parsed.region or _credentials.region() or DEFAULT_REGION
        return cls(parsed, _credentials.from_environment(), region, timeout)

    def __enter__(self) -> Remote:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def head(self, key: str) -> RemoteObject | None:
        response = self._send("HEAD", key)
        if response.status_code == 404:
            return None
        self._check(response, "HEAD", key)
        return _described(key, response)

    def get(self, key: str, dest: Path, *, max_size: int | None = None) -> RemoteObject | None:
        """Stream the object into ``dest`` (created, must not exist); None when absent.

        A reply cut short or larger than ``max_size`` leaves no file behind.
        """
        import httpx

        request = self._build("GET", key)
        try:
            response = self._client.send(request, stream=True)
        except httpx.TransportError as exc:
            raise self._unavailable("GET", key, exc) from None
        try:
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                response.read()
                self._check(response, "GET", key)
            declared = response.headers.get("content-length")
            size = 0
            try:
                with open(dest, "xb") as out:
                    for chunk in response.iter_bytes(_CHUNK):
                        size += len(chunk)
                        if max_size is not None and size > max_size:
                            raise RemoteTooLarge(
                                f"{self._where(key)} is larger than the {max_size} byte limit"
                            )
                        out.write(chunk)
                if declared is not None and declared.isdigit() and size != int(declared):
                    raise RemoteUnavailable(
                        f"download of {self._where(key)} was cut off after {size} of "
                        f"{declared} bytes"
                    )
            except httpx.TransportError as exc:
                dest.unlink(missing_ok=True)
                raise self._unavailable("GET", key, exc) from None
            except BaseException:
                dest.unlink(missing_ok=True)
                raise
            return _described(key, response)
        finally:
            response.close()

    def put_if_absent(
        self, key: str, path: Path, *, metadata: Mapping[str, str] | None = None
    ) -> bool:
        """Upload ``path`` under ``key`` unless an object is there; True when this call wrote it.

        The first writer wins: a HEAD spares the upload when the object exists, and
        the PUT carries ``If-None-Match: *`` so a server that enforces it refuses
        a second writer (412). Where a server does not enforce it, two writers
        racing both write, each a whole object (S3 replaces objects atomically):
        a wheel's key names its sha256, so both wrote the same bytes; a built
        wheel's names its source and target, so either is a build of the same
        source for the same target, and carries its own sha256 in ``metadata``
        (stored with the object as ``x-amz-meta-*``, in the same PUT).
        """
        for _ in range(2):
            if self.head(key) is not None:
                return False
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(_CHUNK), b""):
                    digest.update(block)
            size = os.path.getsize(path)
            with open(path, "rb") as body:
                response = self._send(
                    "PUT",
                    key,
                    headers={
                        "if-none-match": "*",
                        "content-length": str(size),
                        "content-type": "application/octet-stream",
                    },
                    payload_sha256=digest.hexdigest(),
                    content=body,
                    amz={f"x-amz-meta-{k.lower()}": v for k, v in (metadata or {}).items()},
                )
            if response.status_code == 412:
                return False
            if response.status_code == 409:
                continue  # ConditionalRequestConflict: another upload in flight; look again
            self._check(response, "PUT", key)
            return True
        return False

    def put(self, key: str, data: bytes) -> None:
        """Write ``data`` under ``key``, replacing what is there (small marker objects)."""
        response = self._send(
            "PUT",
            key,
            headers={"content-length": str(len(data))},
            payload_sha256=hashlib.sha256(data).hexdigest(),
            content=data,
        )
        self._check(response, "PUT", key)

    def list(self, prefix: str = "", *, page_size: int = 1000) -> Iterator[RemoteObject]:
        """Every object whose key starts with ``prefix``, in key order, ``page_size`` a
        request (S3 gives at most 1000)."""
        token: str | None = None
        strip = len(self.url.prefix) + 1 if self.url.prefix else 0
        while True:
            query = {"list-type": "2", "max-keys": str(page_size), "prefix": self._full(prefix)}
            if token:
                query["continuation-token"] = token
            response = self._send("GET", None, query=query)
            self._check(response, "LIST", prefix)
            try:
                root = ET.fromstring(response.content)
            except ET.ParseError:
                raise RemoteError(f"{self.url}: unreadable listing") from None
            for item in root.iter(f"{_S3_NS}Contents"):
                yield RemoteObject(
                    _text(item, "Key")[strip:],
                    int(_text(item, "Size") or 0),
                    _iso_date(_text(item, "LastModified")),
                    _text(item, "ETag").strip('"'),
                )
            token = _text(root, "NextContinuationToken")
            if _text(root, "IsTruncated") != "true" or not token:
                return

    def delete(self, key: str) -> None:
        response = self._send("DELETE", key)
        if response.status_code != 404:
            self._check(response, "DELETE", key)

    # -- plumbing -----------------------------------------------------------------------------

    def _full(self, key: str) -> str:
        return f"{self.url.prefix}/{key}" if self.url.prefix else key

    def _where(self, key: str) -> str:
        return f"{self.url}: {key}"

    def _build(
        self,
        method: str,
        key: str | None,
        *,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        payload_sha256: str = _sigv4.EMPTY_SHA256,
        content: Any = None,
        amz: Mapping[str, str] | None = None,
    ) -> httpx.Request:
        path = self._root + ("/" + _sigv4.encode_path(self._full(key)) if key is not None else "/")
        query = query or {}
        all_headers = {**(headers or {}), **(amz or {})}
        if self._credentials is not None:
            all_headers.update(
                _sigv4.sign(
                    method,
                    self._host,
                    path,
                    query,
                    payload_sha256,
                    self._credentials,
                    self._region,
                    amz_headers=amz,
                )
            )
        qs = _sigv4.canonical_query(query)
        return self._client.build_request(
            method,
            self._base + path + ("?" + qs if qs else ""),
            headers=all_headers,
            content=content,
        )

    def _send(
        self,
        method: str,
        key: str | None,
        *,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        payload_sha256: str = _sigv4.EMPTY_SHA256,
        content: Any = None,
        amz: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        import httpx

        request = self._build(
            method,
            key,
            query=query,
            headers=headers,
            payload_sha256=payload_sha256,
            content=content,
            amz=amz,
        )
        try:
            return self._client.send(request)
        except httpx.TransportError as exc:
            raise self._unavailable(method, key or "", exc) from None

    def _unavailable(self, method: str, key: str, exc: Exception) -> RemoteUnavailable:
        return RemoteUnavailable(f"{self.url} unreachable ({method} {key}): {type(exc).__name__}")

    def _check(self, response: httpx.Response, method: str, key: str) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        code = _error_code(response.content) if method != "HEAD" else ""
        detail = f"HTTP {status}" + (f" {code}" if code else "")
        if status >= 500 or status == 429:
            raise RemoteUnavailable(f"{self.url} failing ({method} {key}): {detail}")
        raise RemoteError(f"{self.url} refused {method} {key}: {detail}")


def _described(key: str, response: httpx.Response) -> RemoteObject:
    meta = {
        name[len("x-amz-meta-") :]: value
        for name, value in response.headers.items()
        if name.lower().startswith("x-amz-meta-")
    }
    return RemoteObject(
        key,
        int(response.headers.get("content-length", "0") or 0),
        _http_date(response.headers.get("last-modified", "")),
        response.headers.get("etag", "").strip('"'),
        meta,
    )


def _text(node: ET.Element, name: str) -> str:
    found = node.find(f"{_S3_NS}{name}")
    if found is None:
        found = node.find(name)
    return (found.text or "") if found is not None else ""


def _error_code(body: bytes) -> str:
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return ""
    code = root.findtext("Code") or ""
    return code if code.isalnum() else ""


def _http_date(value: str) -> float:
    parsed = email.utils.parsedate_tz(value) if value else None
    return float(email.utils.mktime_tz(parsed)) if parsed else 0.0


def _iso_date(value: str) -> float:
    # "2026-12-07T11:40:02.000Z"; fractions and the zone letter are dropped.
    import time

    try:
        return float(calendar.timegm(time.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        return 0.0
