"""A forwarding HTTP proxy on 127.0.0.1 for tests, recording what went through it.

    with ProxyServer() as proxy:       # proxy.url: http://127.0.0.1:<port>
        ...                            # proxy.seen: ["GET http://...", "CONNECT host:port"]

Plain requests (an absolute URL in the request line) are forwarded with
http.client; ``CONNECT host:port`` opens a tunnel and copies bytes both ways.
Only loopback targets are accepted: tests never send traffic elsewhere.
"""

from __future__ import annotations

import http.client
import select
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class ProxyServer:
    def __init__(self) -> None:
        self.seen: list[str] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def _record(self, line: str) -> None:
        with self._lock:
            self.seen.append(line)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ProxyServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_CONNECT(self) -> None:
                proxy._record(f"CONNECT {self.path}")
                host, _, port = self.path.rpartition(":")
                if host.strip("[]") not in _LOOPBACK:
                    self.send_error(403)
                    return
                upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=30)
                self.send_response(200, "Connection established")
                self.end_headers()
                self._tunnel(self.connection, upstream)
                self.close_connection = True

            def _tunnel(self, client: socket.socket, upstream: socket.socket) -> None:
                sockets = [client, upstream]
                try:
                    while True:
                        ready, _, _ = select.select(sockets, [], [], 30)
                        if not ready:
                            return
                        for sock in ready:
                            data = sock.recv(65536)
                            if not data:
                                return
                            (upstream if sock is client else client).sendall(data)
                finally:
                    upstream.close()

            def do_GET(self) -> None:
                proxy._record(f"GET {self.path}")
                target = urlsplit(self.path)
                if target.scheme != "http" or target.hostname not in _LOOPBACK:
                    self.send_error(403)
                    return
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                path = target.path + (f"?{target.query}" if target.query else "")
                hop = {"proxy-connection", "connection", "keep-alive", "proxy-authorization"}
                headers = {k: v for k, v in self.headers.items() if k.lower() not in hop}
                conn.request("GET", path, headers=headers)
                reply = conn.getresponse()
                body = reply.read()
                self.send_response(reply.status)
                for key, value in reply.getheaders():
                    if key.lower() not in hop | {"transfer-encoding", "content-length"}:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                conn.close()

        return Handler
