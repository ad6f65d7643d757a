"""A real PEP 503/691/658 index, for the tests and for the benchmark.

The one index server of the project. The benchmark imports it as a sibling
module; the tests import it by name too (pyproject.toml puts ``benchmarks/`` on
pytest's ``pythonpath``; the ``index_server`` fixture is in tests/conftest.py).
It needs the standard library only, so it also runs on its own, e.g. inside a
network namespace::

    python benchmarks/indexserver.py DIR [--host ADDR] [--port N] [--delay-ms MS] [--rate BYTES]

``IndexServer()`` serves nothing until ``add(wheel)`` publishes a file;
``IndexServer(directory)`` serves every ``*.whl`` in it, with PyPI's cache
headers (pages ``max-age=600``, files immutable), so a warm client may skip the
index. The server answers ``/simple/`` and ``/simple/<name>/`` as JSON or HTML
by the Accept header (PEP 691 negotiation), ``/files/<filename>`` and
``/files/<filename>.metadata``; pages carry sha256 hashes, ``requires-python``,
sizes, upload times and ETags.

What tests change between requests (plain attributes): ``faults`` maps a
filename (or a project, for its page) to "truncate", "stall", "404" or
"redirect-loop"; ``encoded`` maps a filename to a (Content-Encoding, body) pair
served instead of its bytes; ``html_only``, ``cache_control``, ``auth``.
What it saw: ``requests`` (paths, in order), ``authorizations``,
``conditional_requests``, ``accept_encoding``.

A remote-like index (the benchmark): ``delay`` seconds pass before each
response, and ``rate`` caps each response body at that many bytes a second.
``log`` (a path) appends one JSON line per request: wall-clock start and end,
path, status, the client's port (one per connection): the timeline of a run
(benchmarks/timeline.py).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import html
import json
import re
import ssl
import threading
import time
import zipfile
from dataclasses import dataclass
from email.parser import HeaderParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"
STALL_SECONDS = 5.0
PAGE_CACHE_CONTROL = "max-age=600, public"  # PyPI's for project pages
FILE_CACHE_CONTROL = "max-age=365000000, immutable, public"  # PyPI's for files
_PACE_SECONDS = 0.01  # a rate-capped body goes out in writes this far apart


def canonical(name: str) -> str:
    """PEP 503's normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _project_of(filename: str) -> str:
    if filename.endswith(".whl"):
        return canonical(filename.split("-", 1)[0])
    stem = filename.removesuffix(".tar.gz").removesuffix(".zip")
    return canonical(stem.rpartition("-")[0])  # an sdist: the version follows the last "-"


def _wheel_metadata(path: Path) -> bytes:
    """The wheel's one top-level ``*.dist-info/METADATA`` (PEP 658 serves it verbatim)."""
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.count("/") == 1 and name.endswith(".dist-info/METADATA"):
                return zf.read(name)
    raise ValueError(f"{path} has no METADATA")


@dataclass
class _File:
    filename: str
    project: str
    path: Path
    data: bytes | None
    """The bytes as they were when added; None: read from ``path`` for each request."""
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


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog of 5 drops connection attempts when a client
    # opens many at once, and each dropped one waits a second for its SYN to be
    # sent again: noise that real index servers, with long backlogs, do not add.
    request_queue_size = 128
    daemon_threads = True


class IndexServer:
    """The index, served from a daemon thread; ``url`` is its ``/simple`` base."""

    def __init__(
        self,
        directory: Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        auth: tuple[str, str] | None = None,
        tls: ssl.SSLContext | None = None,
        delay: float = 0.0,
        rate: float | None = None,
        handler: type[Handler] | None = None,
        log: Path | None = None,
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
        self.file_cache_control: str | None = None
        """``Cache-Control`` sent with files and their metadata, or none."""
        self.encoded: dict[str, tuple[str, bytes]] = {}
        self.accept_encoding: dict[str, str | None] = {}
        """The Accept-Encoding each path was last asked for with."""
        self.auth = auth
        """(user, password) every request must present as Basic auth, or None."""
        self.delay = delay
        """Seconds each response waits before it starts (a far server's latency)."""
        self.rate = rate
        """Bytes a second each response body is held to (a slow link), or None."""
        self._handler = handler or Handler
        self._log = log.open("a", buffering=1) if log is not None else None
        self._files: dict[str, _File] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        if directory is not None:
            for path in sorted(directory.glob("*.whl")):
                self._add_from_disk(path)
            self.cache_control = PAGE_CACHE_CONTROL
            self.file_cache_control = FILE_CACHE_CONTROL
        self._httpd = _Server((host, port), self._handler_class())
        self.port: int = self._httpd.server_address[1]
        if tls is not None:
            # Served over https with the certificate in ``tls`` (e.g. one trustme made).
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        shown = f"[{host}]" if ":" in host else host
        self.root_url = f"{'https' if tls is not None else 'http'}://{shown}:{self.port}"
        self.url = f"{self.root_url}/simple"
        # A short poll interval keeps shutdown (and so every test teardown) quick.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    # -- what is served -----------------------------------------------------------------

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
        """Publish ``wheel`` (its bytes as they are now); ``listed_as`` lists them under
        another filename (on the page of ``project``, by default the one that filename
        names), ``href`` links to somewhere else, ``size`` declares another size (None:
        none), ``metadata_file`` is served as its PEP 658 metadata instead of its own."""
        data = wheel.read_bytes()
        listed = listed_as or wheel.name
        meta = None
        if listed.endswith(".whl"):
            meta = _wheel_metadata(wheel) if metadata else None
            meta = metadata_file if metadata_file is not None else meta
        sha = hashlib.sha256(data).hexdigest()
        advertised = hashlib.sha256(b"not " + data).hexdigest() if bad_hash else sha
        self._publish(
            _File(
                filename=listed,
                project=canonical(project) if project else _project_of(listed),
                path=wheel,
                data=data,
                sha256=sha,
                advertised_sha256=advertised if hashed else None,
                yanked=yanked,
                requires_python=requires_python,
                metadata=meta,
                upload_time=upload_time,
                served=wheel.name,
                href=href,
                size=len(data) if size == -1 else size,
            )
        )

    def _add_from_disk(self, wheel: Path) -> None:
        """Publish ``wheel`` as PyPI would, its bytes read from disk for each request."""
        sha = hashlib.sha256()
        with wheel.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                sha.update(block)
        meta = _wheel_metadata(wheel)
        requires = HeaderParser().parsestr(meta.decode("utf-8")).get("Requires-Python")
        self._publish(
            _File(
                filename=wheel.name,
                project=_project_of(wheel.name),
                path=wheel,
                data=None,
                sha256=sha.hexdigest(),
                advertised_sha256=sha.hexdigest(),
                yanked=None,
                requires_python=requires.strip() if requires else None,
                metadata=meta,
                served=wheel.name,
                href=None,
                size=wheel.stat().st_size,
            )
        )

    def _publish(self, file: _File) -> None:
        with self._lock:
            self._files[file.filename] = file

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

    def take_count(self) -> int:
        """How many requests came since the last call (the benchmark's count per run)."""
        with self._lock:
            n = len(self.requests)
            self.requests.clear()
            self.authorizations.clear()
            self.conditional_requests.clear()
        return n

    @property
    def files(self) -> list[str]:
        with self._lock:
            return sorted(self._files)

    def _project_files(self, project: str) -> list[_File]:
        with self._lock:
            return [f for f in self._files.values() if f.project == project]

    def _served(self, name: str) -> _File | None:
        with self._lock:
            return next((f for f in self._files.values() if f.served == name), None)

    def _record(self, path: str, conditional: bool, authorization: str | None) -> None:
        with self._lock:
            self.requests.append(path)
            self.authorizations.append(authorization)
            if conditional:
                self.conditional_requests.append(path)

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
        if self._log is not None:
            self._log.close()

    def __enter__(self) -> IndexServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- pages --------------------------------------------------------------------------

    def _root_page(self, as_json: bool) -> bytes:
        with self._lock:
            names = sorted({f.project for f in self._files.values()})
        if as_json:
            body = {"meta": {"api-version": "1.1"}, "projects": [{"name": n} for n in names]}
            return json.dumps(body).encode()
        links = "\n".join(f'<a href="{n}/">{n}</a><br/>' for n in names)
        return _html(f"<h1>Simple index</h1>\n{links}")

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
                digest = {"sha256": hashlib.sha256(f.metadata).hexdigest()}
                entry["core-metadata"] = entry["dist-info-metadata"] = digest
            entries.append(entry)
        page = {"meta": {"api-version": "1.1"}, "name": project, "files": entries}
        return json.dumps(page).encode()

    def _html_page(self, project: str, files: list[_File]) -> bytes:
        lines = [f"<h1>Links for {html.escape(project)}</h1>"]
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
        return _html("\n".join(lines))

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Bound(self._handler):
            index = server

        return Bound


def _html(body: str) -> bytes:
    return (
        '<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.1">'
        f"<title>Simple index</title></head><body>\n{body}\n</body></html>\n"
    ).encode()


def wants_json(accept: str) -> bool:
    """Content negotiation (PEP 691): the JSON form when the client ranks it highest."""
    best, best_q = "text/html", 0.0
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media in (JSON_TYPE, HTML_TYPE, "text/html", "*/*") and q > best_q:
            best, best_q = media, q
    return best == JSON_TYPE


class Handler(BaseHTTPRequestHandler):
    """The index's request handler. A subclass given as ``IndexServer(handler=...)`` may
    shape the traffic: every response body goes out through ``write_body``, and files
    by ``sendfile`` unless ``paced()``."""

    index: IndexServer
    # HTTP/1.1 so clients keep their connections, as they would with a real index.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm the body
    # waits for the client's delayed ACK (40 ms a request on Linux).
    disable_nagle_algorithm = True
    send_body = True  # False while answering HEAD
    status = 0  # of the response being sent (the request log's)

    def send_response(self, code: int, message: str | None = None) -> None:
        self.status = code
        super().send_response(code, message)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(send_body=False)

    def do_GET(self) -> None:  # noqa: N802
        self._serve(send_body=True)

    def _serve(self, *, send_body: bool) -> None:
        started = time.time()
        try:
            self._answer(send_body=send_body)
        finally:
            if self.index._log is not None:
                line = {"start": started, "end": time.time(), "path": self.path,
                        "status": self.status, "port": self.client_address[1]}  # fmt: skip
                with self.index._lock:
                    self.index._log.write(json.dumps(line) + "\n")

    def _answer(self, *, send_body: bool) -> None:
        index = self.index
        conditional = bool(
            self.headers.get("If-None-Match") or self.headers.get("If-Modified-Since")
        )
        index._record(self.path, conditional, self.headers.get("Authorization"))
        index.accept_encoding[self.path] = self.headers.get("Accept-Encoding")
        if index.delay:
            index._stop.wait(index.delay)
        self.send_body = send_body
        if index.auth is not None and not self._authorized(index.auth):
            self._send(401, b"unauthorized", "text/plain")
            return
        parts = [p for p in unquote(urlsplit(self.path).path).split("/") if p]
        if parts == ["simple"]:
            as_json = wants_json(self.headers.get("Accept") or "") and not index.html_only
            self._page(index._root_page(as_json), as_json)
        elif len(parts) == 2 and parts[0] == "simple":
            self._project_page(parts[1])
        elif len(parts) == 2 and parts[0] == "files":
            self._file(parts[1])
        else:
            self._send(404, b"not found", "text/plain")

    def _authorized(self, auth: tuple[str, str]) -> bool:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        return self.headers.get("Authorization") == f"Basic {token}"

    def _project_page(self, name: str) -> None:
        project = canonical(name)
        if self._fault(project):
            return
        files = self.index._project_files(project)
        if not files:
            self._send(404, b"not found", "text/plain")
            return
        as_json = wants_json(self.headers.get("Accept") or "") and not self.index.html_only
        if as_json:
            self._page(self.index._json_page(project, files), as_json)
        else:
            self._page(self.index._html_page(project, files), as_json)

    def _page(self, body: bytes, as_json: bool) -> None:
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        headers = {"ETag": etag}
        if self.index.cache_control:
            headers["Cache-Control"] = self.index.cache_control
        if self.headers.get("If-None-Match") == etag:
            self._send(304, b"", None, headers)
            return
        ctype = JSON_TYPE if as_json else "text/html; charset=utf-8"
        self._send(200, body, ctype, {**headers, "Vary": "Accept"})

    def _file(self, filename: str) -> None:
        if self._fault(filename):
            return
        is_metadata = filename.endswith(".metadata")
        base = filename.removesuffix(".metadata") if is_metadata else filename
        f = self.index._served(base)
        if f is None or (is_metadata and f.metadata is None):
            self._send(404, b"not found", "text/plain")
            return
        cache = {"Cache-Control": self.index.file_cache_control}
        headers = cache if self.index.file_cache_control else {}
        if is_metadata and f.metadata is not None:
            self._send(200, f.metadata, "application/octet-stream", headers)
            return
        encoded = self.index.encoded.get(base)
        if encoded is not None:
            self._send(200, encoded[1], "application/octet-stream",
                       {"Content-Encoding": encoded[0]})  # fmt: skip
            return
        fault = self.index.faults.get(base)
        data = f.data
        if fault in ("truncate", "stall"):
            whole = data if data is not None else f.path.read_bytes()
            self._send_head(200, "application/octet-stream", len(whole), headers)
            # Truncate: half the bytes, then the connection ends. Stall: a few, then nothing.
            self.write_body(whole[: len(whole) // 2] if fault == "truncate" else whole[:10])
            self.wfile.flush()
            if fault == "stall":
                self.index._stop.wait(STALL_SECONDS)
            self.close_connection = True
        elif data is not None:
            self._send(200, data, "application/octet-stream", headers)
        else:
            self._send_file(f.path, headers)

    def _fault(self, key: str) -> bool:
        """Serve a page-level or request-level fault; True if one was served."""
        fault = self.index.faults.get(key)
        if fault == "404":
            self._send(404, b"not found", "text/plain")
            return True
        if fault == "redirect-loop":
            self._send(302, b"", None, {"Location": self.path})
            return True
        if fault == "stall" and not key.endswith((".whl", ".tar.gz", ".zip")):
            self.index._stop.wait(STALL_SECONDS)
            self.close_connection = True
            return True
        return False

    # -- writing ------------------------------------------------------------------------

    def _send_head(
        self, status: int, ctype: str | None, length: int, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        if ctype is not None:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(length))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()

    def _send(
        self, status: int, body: bytes, ctype: str | None, headers: dict[str, str] | None = None
    ) -> None:
        self._send_head(status, ctype, len(body), headers)
        self.write_body(body)

    def _send_file(self, path: Path, headers: dict[str, str]) -> None:
        self._send_head(200, "application/octet-stream", path.stat().st_size, headers)
        if not self.send_body:
            return
        with path.open("rb") as fh:
            if self.paced():
                self.write_body(fh.read())
            else:
                # sendfile: the server's CPU cost stays small and off the clients' clock.
                self.connection.sendfile(fh)

    def paced(self) -> bool:
        """Whether bodies must go through ``write_body`` (no ``sendfile``)."""
        return bool(self.index.rate)

    def write_body(self, body: bytes) -> None:
        """Write ``body`` (unless answering HEAD), no faster than the index's ``rate``."""
        if not self.send_body or not body:
            return
        rate = self.index.rate
        if not rate:
            self.wfile.write(body)
            return
        step = max(1024, int(rate * _PACE_SECONDS))
        started = time.monotonic()
        for start in range(0, len(body), step):
            chunk = body[start : start + step]
            self.wfile.write(chunk)
            ahead = (start + len(chunk)) / rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--delay-ms", type=float, default=0.0, help="wait before each response")
    parser.add_argument("--rate", type=float, default=None, help="bytes/s cap on each body")
    args = parser.parse_args()
    server = IndexServer(
        args.directory, host=args.host, port=args.port, delay=args.delay_ms / 1000, rate=args.rate
    )
    with server:
        print(f"serving {len(server.files)} files at {server.url}/", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
