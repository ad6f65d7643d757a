"""A real PEP 503/691/658 index on 127.0.0.1 for tests.

    from indexserver import IndexServer, index_server   # or: pytest_plugins = ("indexserver",)

``server.add(wheel)`` publishes a wheel; the server answers
``/simple/<name>/`` as JSON or HTML by the Accept header, ``/files/<filename>``
and ``/files/<filename>.metadata``. ``faults`` maps a filename (or a project
name, for its page) to "truncate", "stall", "404" or "redirect-loop".
``encoded`` maps a filename to a (Content-Encoding, body) pair served instead
of the file's bytes.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import ssl
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
STALL_SECONDS = 5.0


@dataclass
class _File:
    filename: str
    project: str
    data: bytes
    sha256: str
    advertised_sha256: str | None
    yanked: str | None
    requires_python: str | None
    metadata: bytes | None
    served: str
    """The name under /files/ that serves the bytes (the listed filename unless told)."""
    href: str | None
    """The link on the page, when not ``../../files/<served>``."""
    size: int | None
    upload_time: str | None = None


def _wheel_metadata(data: bytes, path: Path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.count("/") == 1 and name.endswith(".dist-info/METADATA"):
                return zf.read(name)
    raise ValueError(f"{path} has no METADATA")


class IndexServer:
    def __init__(
        self, *, auth: tuple[str, str] | None = None, tls: ssl.SSLContext | None = None
    ) -> None:
        self.requests: list[str] = []
        self.authorizations: list[str | None] = []
        """The Authorization header of each request (None: it had none), in order."""
        self.conditional_requests: list[str] = []
        """Paths of requests that carried If-None-Match or If-Modified-Since."""
        self.html_only = False
        self.faults: dict[str, str] = {}
        self.cache_control: str | None = None
        """``Cache-Control`` sent with project pages (e.g. ``max-age=600``), or none."""
        self.encoded: dict[str, tuple[str, bytes]] = {}
        self.accept_encoding: dict[str, str | None] = {}
        """The Accept-Encoding each path was last asked for with."""
        self.auth = auth
        """(user, password) every request must present as Basic auth, or None."""
        self._files: dict[str, _File] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        port = self._httpd.server_address[1]
        if tls is not None:
            # Served over https with the certificate in ``tls`` (e.g. one trustme made).
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self.root_url = f"{'https' if tls is not None else 'http'}://127.0.0.1:{port}"
        self.url = f"{self.root_url}/simple"
        # A short poll interval keeps shutdown (and so every test teardown) quick.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def add(
        self,
        wheel: Path,
        *,
        yanked: str | None = None,
        requires_python: str | None = None,
        metadata: bool = True,
        bad_hash: bool = False,
        upload_time: str | None = None,
        hashed: bool = True,
        listed_as: str | None = None,
        href: str | None = None,
        size: int | None = -1,
        project: str | None = None,
        metadata_file: bytes | None = None,
    ) -> None:
        """Publish ``wheel``; ``listed_as`` lists its bytes under another filename (on
        the page of ``project``, by default the one that filename names), ``href``
        links to somewhere else, ``size`` declares another size (None: none),
        ``metadata_file`` is served as its PEP 658 metadata instead of its own."""
        data = wheel.read_bytes()
        listed = listed_as or wheel.name
        if listed.endswith(".whl"):
            named = parse_wheel_filename(listed)[0]
            meta = _wheel_metadata(data, wheel) if metadata else None
            meta = metadata_file if metadata_file is not None else meta
        else:
            named = parse_sdist_filename(listed)[0]
            meta = None
        project = canonicalize_name(project) if project else named
        sha = hashlib.sha256(data).hexdigest()
        with self._lock:
            self._files[listed] = _File(
                filename=listed,
                project=project,
                data=data,
                sha256=sha,
                advertised_sha256=(hashlib.sha256(b"not " + data).hexdigest() if bad_hash else sha)
                if hashed
                else None,
                yanked=yanked,
                requires_python=requires_python,
                metadata=meta,
                upload_time=upload_time,
                served=wheel.name,
                href=href,
                size=len(data) if size == -1 else size,
            )

    def remove(self, filename: str) -> None:
        """Stop listing ``filename`` (on every page that lists it) and serving its bytes."""
        with self._lock:
            gone = [key for key, f in self._files.items() if f.filename == filename]
            if not gone:
                raise KeyError(filename)
            for key in gone:
                del self._files[key]

    def clear(self) -> None:
        """Serve nothing: every file and fault is forgotten, the request log emptied."""
        with self._lock:
            self._files.clear()
            self.faults.clear()
            self.encoded.clear()
            self.accept_encoding.clear()
            self.cache_control = None
            self.requests.clear()
            self.conditional_requests.clear()

    def _project_files(self, project: str) -> list[_File]:
        with self._lock:
            return [f for f in self._files.values() if f.project == project]

    def _record(self, path: str, conditional: bool, authorization: str | None = None) -> None:
        with self._lock:
            self.requests.append(path)
            self.authorizations.append(authorization)
            if conditional:
                self.conditional_requests.append(path)

    def close(self) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> IndexServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- pages -------------------------------------------------------------------------

    def _json_page(self, project: str, files: list[_File]) -> bytes:
        entries = []
        for f in files:
            entry: dict[str, object] = {
                "filename": f.filename,
                "url": f.href or f"../../files/{f.served}",
                "hashes": {"sha256": f.advertised_sha256} if f.advertised_sha256 else {},
            }
            if f.size is not None:
                entry["size"] = f.size
            if f.requires_python:
                entry["requires-python"] = f.requires_python
            if f.upload_time:
                entry["upload-time"] = f.upload_time
            if f.yanked is not None:
                entry["yanked"] = f.yanked or True
            if f.metadata is not None:
                entry["core-metadata"] = {"sha256": hashlib.sha256(f.metadata).hexdigest()}
            entries.append(entry)
        page = {"meta": {"api-version": "1.1"}, "name": project, "files": entries}
        return json.dumps(page).encode()

    def _html_page(self, project: str, files: list[_File]) -> bytes:
        lines = ["<!DOCTYPE html>", f"<html><body><h1>Links for {html.escape(project)}</h1>"]
        for f in files:
            url = f.href or f"../../files/{f.served}"
            fragment = f"#sha256={f.advertised_sha256}" if f.advertised_sha256 else ""
            attrs = [f'href="{html.escape(url)}{fragment}"']
            if f.requires_python:
                attrs.append(f'data-requires-python="{html.escape(f.requires_python)}"')
            if f.yanked is not None:
                attrs.append(f'data-yanked="{html.escape(f.yanked)}"')
            if f.metadata is not None:
                digest = hashlib.sha256(f.metadata).hexdigest()
                attrs.append(f'data-core-metadata="sha256={digest}"')
                attrs.append(f'data-dist-info-metadata="sha256={digest}"')
            lines.append(f"<a {' '.join(attrs)}>{html.escape(f.filename)}</a><br/>")
        lines.append("</body></html>")
        return "\n".join(lines).encode()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: with Nagle's algorithm the body
            # waits for the client's delayed ACK (40 ms a request on Linux).
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                conditional = bool(
                    self.headers.get("If-None-Match") or self.headers.get("If-Modified-Since")
                )
                server._record(self.path, conditional, self.headers.get("Authorization"))
                server.accept_encoding[self.path] = self.headers.get("Accept-Encoding")
                if server.auth is not None and not self._authorized(server.auth):
                    self._send(401, b"unauthorized", "text/plain")
                    return
                path = unquote(urlsplit(self.path).path)
                parts = [p for p in path.split("/") if p]
                if len(parts) == 2 and parts[0] == "simple":
                    self._project_page(parts[1])
                elif len(parts) == 2 and parts[0] == "files":
                    self._file(parts[1])
                else:
                    self._send(404, b"not found", "text/plain")

            def _authorized(self, auth: tuple[str, str]) -> bool:
                token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
                return self.headers.get("Authorization") == f"Basic {token}"

            def _project_page(self, name: str) -> None:
                project = canonicalize_name(name)
                if self._fault(project):
                    return
                files = server._project_files(project)
                if not files:
                    self._send(404, b"not found", "text/plain")
                    return
                wants_json = JSON_TYPE in (self.headers.get("Accept") or "")
                if wants_json and not server.html_only:
                    body, ctype = server._json_page(project, files), JSON_TYPE
                else:
                    body, ctype = server._html_page(project, files), "text/html; charset=utf-8"
                etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    if server.cache_control:
                        self.send_header("Cache-Control", server.cache_control)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                headers = {"ETag": etag, "Vary": "Accept"}
                if server.cache_control:
                    headers["Cache-Control"] = server.cache_control
                self._send(200, body, ctype, headers)

            def _file(self, filename: str) -> None:
                if self._fault(filename):
                    return
                is_metadata = filename.endswith(".metadata")
                base = filename.removesuffix(".metadata") if is_metadata else filename
                with server._lock:
                    f = next((f for f in server._files.values() if f.served == base), None)
                if f is None or (is_metadata and f.metadata is None):
                    self._send(404, b"not found", "text/plain")
                    return
                data = f.metadata if is_metadata and f.metadata is not None else f.data
                fault = server.faults.get(base) if not is_metadata else None
                encoded = server.encoded.get(base) if not is_metadata else None
                if encoded is not None:
                    self._send(200, encoded[1], "application/octet-stream",
                               {"Content-Encoding": encoded[0]})  # fmt: skip
                    return
                if fault == "truncate":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if fault == "stall":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[:10])
                    self.wfile.flush()
                    server._stop.wait(STALL_SECONDS)
                    self.close_connection = True
                    return
                self._send(200, data, "application/octet-stream")

            def _fault(self, key: str) -> bool:
                """Serve a page-level or request-level fault; True if one was served."""
                fault = server.faults.get(key)
                if fault == "404":
                    self._send(404, b"not found", "text/plain")
                    return True
                if fault == "redirect-loop":
                    self.send_response(302)
                    self.send_header("Location", self.path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return True
                if fault == "stall" and not key.endswith((".whl", ".tar.gz", ".zip")):
                    server._stop.wait(STALL_SECONDS)
                    self.close_connection = True
                    return True
                return False

            def _send(
                self,
                status: int,
                body: bytes,
                ctype: str,
                headers: dict[str, str] | None = None,
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

        return Handler


@pytest.fixture
def index_server(tmp_path: Path) -> Iterator[IndexServer]:
    server = IndexServer()
    try:
        yield server
    finally:
        server.close()
