"""A small PEP 503 / PEP 691 / PEP 658 index over a directory of wheels, on 127.0.0.1.

Every installer in the benchmark reads the same pages and files from it, so the
comparison measures the installers, not the network. Pages carry sha256
fragments, ``requires-python`` and PEP 658 metadata (as PyPI does), an ETag and
``Cache-Control: max-age=600`` (as PyPI does), so a warm run may skip the index.

Standalone: ``python benchmarks/indexserver.py DIR [--port N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import html
import json
import re
import threading
import zipfile
from dataclasses import dataclass
from email.parser import HeaderParser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

JSON_V1 = "application/vnd.pypi.simple.v1+json"
HTML_V1 = "application/vnd.pypi.simple.v1+html"
MAX_AGE = 600  # PyPI's for project pages
IMMUTABLE = "max-age=365000000, immutable, public"  # PyPI's for files


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Dist:
    filename: str
    path: Path
    sha256: str
    requires_python: str | None
    metadata: bytes
    metadata_sha256: str


def _load(path: Path) -> Dist:
    data = path.read_bytes()
    with zipfile.ZipFile(path) as zf:
        # The one top-level *.dist-info/METADATA of the wheel (PEP 658 serves it verbatim).
        name = next(
            n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
        )
        metadata = zf.read(name)
    requires = HeaderParser().parsestr(metadata.decode("utf-8")).get("Requires-Python")
    return Dist(
        filename=path.name,
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        requires_python=requires.strip() if requires else None,
        metadata=metadata,
        metadata_sha256=hashlib.sha256(metadata).hexdigest(),
    )


class Index:
    """The pages of an index over ``directory`` (every ``*.whl`` in it), built once."""

    def __init__(self, directory: Path) -> None:
        self.projects: dict[str, list[Dist]] = {}
        self.files: dict[str, Dist] = {}
        for path in sorted(directory.glob("*.whl")):
            dist = _load(path)
            project = canonical(path.name.split("-", 1)[0])
            self.projects.setdefault(project, []).append(dist)
            self.files[dist.filename] = dist
        self.requests = 0  # served since the last reset; read by the benchmark per run
        self._lock = threading.Lock()

    def count(self) -> None:
        with self._lock:
            self.requests += 1

    def take_count(self) -> int:
        with self._lock:
            n, self.requests = self.requests, 0
        return n

    def root_page(self, as_json: bool) -> bytes:
        names = sorted(self.projects)
        if as_json:
            body = {"meta": {"api-version": "1.0"}, "projects": [{"name": n} for n in names]}
            return json.dumps(body).encode()
        links = "\n".join(f'<a href="{n}/">{n}</a><br/>' for n in names)
        return _html(f"<h1>Simple index</h1>\n{links}")

    def project_page(self, project: str, base: str, as_json: bool) -> bytes:
        dists = self.projects[project]
        if as_json:
            files = []
            for d in dists:
                entry: dict[str, object] = {
                    "filename": d.filename,
                    "url": f"{base}/files/{d.filename}",
                    "hashes": {"sha256": d.sha256},
                    "core-metadata": {"sha256": d.metadata_sha256},
                    "dist-info-metadata": {"sha256": d.metadata_sha256},
                }
                if d.requires_python:
                    entry["requires-python"] = d.requires_python
                files.append(entry)
            body = {"meta": {"api-version": "1.0"}, "name": project, "files": files}
            return json.dumps(body).encode()
        anchors = []
        for d in dists:
            attrs = [
                f'href="{base}/files/{d.filename}#sha256={d.sha256}"',
                f'data-core-metadata="sha256={d.metadata_sha256}"',
                f'data-dist-info-metadata="sha256={d.metadata_sha256}"',
            ]
            if d.requires_python:
                attrs.append(f'data-requires-python="{html.escape(d.requires_python)}"')
            anchors.append(f"<a {' '.join(attrs)}>{d.filename}</a><br/>")
        return _html(f"<h1>Links for {project}</h1>\n" + "\n".join(anchors))


def _html(body: str) -> bytes:
    return (
        '<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.0">'
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
        if media in (JSON_V1, HTML_V1, "text/html", "*/*") and q > best_q:
            best, best_q = media, q
    return best == JSON_V1


def make_handler(index: Index) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.1 so clients keep their connections, as they would with a real index.
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes; with Nagle's algorithm on, the
        # second one waits for the client's delayed ACK (~40 ms per request).
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # quiet: the benchmark's own output is what matters

        def do_HEAD(self) -> None:  # noqa: N802
            self._serve(send_body=False)

        def do_GET(self) -> None:  # noqa: N802
            self._serve(send_body=True)

        def _serve(self, *, send_body: bool) -> None:
            index.count()
            path = unquote(self.path.split("?", 1)[0].split("#", 1)[0])
            host = self.headers.get("Host") or "127.0.0.1"  # HTTP/1.1 clients always send it
            base = f"http://{host}"
            if path.startswith("/files/"):
                self._file(path[len("/files/") :], send_body)
                return
            if path in ("/simple", "/simple/"):
                if path == "/simple":
                    self._redirect("/simple/")
                    return
                as_json = wants_json(self.headers.get("Accept", ""))
                self._page(index.root_page(as_json), as_json, send_body)
                return
            parts = path.split("/")
            if len(parts) >= 3 and parts[1] == "simple":
                name = parts[2]
                project = canonical(name)
                if project not in index.projects:
                    self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain", send_body)
                elif name != project or not path.endswith("/") or len(parts) != 4:
                    self._redirect(f"/simple/{project}/")
                else:
                    as_json = wants_json(self.headers.get("Accept", ""))
                    page = index.project_page(project, base, as_json)
                    self._page(page, as_json, send_body)
                return
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain", send_body)

        def _page(self, body: bytes, as_json: bool, send_body: bool) -> None:
            etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(HTTPStatus.NOT_MODIFIED)
                self.send_header("ETag", etag)
                self.send_header("Cache-Control", f"max-age={MAX_AGE}, public")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            ctype = JSON_V1 if as_json else "text/html; charset=utf-8"
            self._send(HTTPStatus.OK, body, ctype, send_body, etag=etag, vary=True)

        def _file(self, name: str, send_body: bool) -> None:
            if name.endswith(".metadata") and name[: -len(".metadata")] in index.files:
                dist = index.files[name[: -len(".metadata")]]
                # Immutable, as PyPI serves files: a warm client need not ask again.
                self._send(HTTPStatus.OK, dist.metadata, "text/plain", send_body, immutable=True)
                return
            found = index.files.get(name)
            if found is None:
                self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain", send_body)
                return
            size = found.path.stat().st_size
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.send_header("Cache-Control", IMMUTABLE)
            self.end_headers()
            if send_body:
                with open(found.path, "rb") as fh:
                    # sendfile: the server's CPU cost stays small and off the tools' clock.
                    self.connection.sendfile(fh)

        def _redirect(self, location: str) -> None:
            self.send_response(HTTPStatus.MOVED_PERMANENTLY)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _send(
            self,
            status: HTTPStatus,
            body: bytes,
            ctype: str,
            send_body: bool,
            *,
            etag: str | None = None,
            vary: bool = False,
            immutable: bool = False,
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            if etag is not None:
                self.send_header("ETag", etag)
                self.send_header("Cache-Control", f"max-age={MAX_AGE}, public")
            elif immutable:
                self.send_header("Cache-Control", IMMUTABLE)
            if vary:
                self.send_header("Vary", "Accept")
            self.end_headers()
            if send_body:
                self.wfile.write(body)

    return Handler


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog of 5 drops connection attempts when a tool
    # opens many at once, and each dropped one waits a second for its SYN to be
    # sent again: noise that real index servers, with their long backlogs, do not add.
    request_queue_size = 128


class IndexServer:
    """The index served from a daemon thread; ``url`` is the ``/simple`` base."""

    def __init__(self, directory: Path, port: int = 0) -> None:
        self.index = Index(directory)
        self._server = _Server(("127.0.0.1", port), make_handler(self.index))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/simple"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> IndexServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    with IndexServer(args.directory, args.port) as server:
        print(f"serving {len(server.index.files)} files at {server.url}/", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
