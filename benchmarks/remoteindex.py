"""An index that behaves like a remote one: its own network namespace, latency, a bandwidth cap.

The benchmark's local index answers from 127.0.0.1 at once, and on loopback the
tools switch to settings they use only for an index on this machine (cachedb
downloads inside its unpack workers, two requests at once). Users' indexes are
elsewhere: this one is the same index (``indexserver.py``) served from a network
namespace the benchmark creates, on an address it gives that namespace, so every
tool sees a non-loopback host and runs with its default settings. The kernel
here has no ``netem``, so the server itself makes the network slow:

- every response waits ``latency`` seconds before its first byte (PyPI's CDN
  answers in about 20 ms from a well-connected machine);
- every byte is paced: each connection gets at most ``connection_rate`` bytes
  per second, and all of them together at most ``link_rate`` (a link shared by
  the parallel downloads of one tool).

Needs root (``ip netns``, ``ip link``): the benchmark uses it where it can and
says so where it cannot. Traffic goes only to the address created here.

Standalone (inside a namespace): ``python remoteindex.py serve DIR --host H --port N``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
LATENCY = 0.020  # seconds before each response
CONNECTION_RATE = 12 * 1024**2  # bytes per second, one connection
LINK_RATE = 40 * 1024**2  # bytes per second, all connections together
CHUNK = 64 * 1024
COUNT_PATH = "/_bench/requests"  # answered at once, not counted: the benchmark reads it


class Pacer:
    """When the next bytes may go: one schedule per connection, one for the whole link."""

    def __init__(self, rate: float, link: Pacer | None = None) -> None:
        self.rate = rate
        self.link = link
        self._next = 0.0
        self._lock = threading.Lock()

    def _book(self, size: int, now: float) -> float:
        with self._lock:
            start = max(now, self._next)
            self._next = start + size / self.rate
            return start

    def wait(self, size: int) -> None:
        now = time.monotonic()
        start = self._book(size, now)
        if self.link is not None:
            start = max(start, self.link._book(size, now))
        if start > now:
            time.sleep(start - now)


def serve(
    directory: Path,
    host: str,
    port: int,
    latency: float,
    rates: tuple[float, float],
    log: Path | None = None,
) -> None:
    """The benchmark's index (``indexserver.py``: its ``delay`` is the latency) with bodies
    paced per connection and over the link, and a request counter the benchmark reads."""
    sys.path.insert(0, str(HERE))
    import indexserver

    link = Pacer(rates[1])

    class Paced(indexserver.Handler):
        def setup(self) -> None:
            super().setup()
            self.pacer = Pacer(rates[0], link)  # one per connection

        def do_GET(self) -> None:  # noqa: N802
            if self.path == COUNT_PATH:
                body = json.dumps({"requests": self.index.take_count()}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            super().do_GET()

        def paced(self) -> bool:
            return True

        def write_body(self, body: bytes) -> None:
            if not self.send_body or not body:
                return
            view = memoryview(body)
            for start in range(0, len(view), CHUNK):
                piece = view[start : start + CHUNK]
                self.pacer.wait(len(piece))
                self.wfile.write(piece)

    server = indexserver.IndexServer(
        directory, host=host, port=port, delay=latency, handler=Paced, log=log
    )
    print(f"serving {len(server.files)} files at {server.url}/", flush=True)
    with server, contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()


def _ip(*args: str, netns: str | None = None) -> None:
    argv = ["ip", *(["netns", "exec", netns, "ip"] if netns else []), *args]
    subprocess.run(argv, check=True, capture_output=True)


def available() -> str | None:
    """Why a namespace cannot be made here, or None when it can."""
    if shutil.which("ip") is None:
        return "no `ip` command"
    if os.geteuid() != 0:
        return "needs root (ip netns)"
    return None


def _sweep_leftovers() -> None:
    """Remove the namespaces (and veth ends) of earlier benchmark runs that were killed."""
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for line in listed.splitlines():
        name = line.split()[0] if line.split() else ""
        tag = name.removeprefix("cachedb-bench-")
        if tag == name or not tag.isdigit():
            continue
        try:
            os.kill(int(tag), 0)
            continue  # its benchmark still runs
        except PermissionError:
            continue  # so does this process, another user's
        except ProcessLookupError:
            pass
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("netns", "del", name)
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("link", "del", f"cbh{tag}")


def _free_subnet() -> int:
    """A /30 in 10.213.0.0/16 that no interface of this machine uses."""
    used = subprocess.run(["ip", "-4", "addr"], capture_output=True, text=True).stdout
    for third in range(1, 250):
        if f"10.213.{third}." not in used:
            return third
    raise RuntimeError("no free 10.213.x.0/30 subnet")


class RemoteIndex:
    """The index over ``directory`` in a namespace of its own; ``url`` is its ``/simple``."""

    def __init__(
        self,
        directory: Path,
        *,
        latency: float = LATENCY,
        connection_rate: float = CONNECTION_RATE,
        link_rate: float = LINK_RATE,
        port: int = 8080,
        log: Path | None = None,
    ) -> None:
        self.directory = directory
        self.log = log
        """Where the server appends its request log (indexserver.py), or None."""
        self.latency = latency
        self.connection_rate = connection_rate
        self.link_rate = link_rate
        _sweep_leftovers()
        tag = str(os.getpid())
        self.netns = f"cachedb-bench-{tag}"
        self.outer, self.inner = f"cbh{tag}", f"cbn{tag}"
        third = _free_subnet()
        self.host_address = f"10.213.{third}.1"
        self.address = f"10.213.{third}.2"
        self.port = port
        self.url = f"http://{self.address}:{port}/simple"
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> RemoteIndex:
        try:
            _ip("netns", "add", self.netns)
            _ip("link", "add", self.outer, "type", "veth", "peer", "name", self.inner)
            _ip("link", "set", self.inner, "netns", self.netns)
            _ip("addr", "add", f"{self.host_address}/30", "dev", self.outer)
            _ip("link", "set", self.outer, "up")
            _ip("addr", "add", f"{self.address}/30", "dev", self.inner, netns=self.netns)
            _ip("link", "set", self.inner, "up", netns=self.netns)
            _ip("link", "set", "lo", "up", netns=self.netns)
            self._proc = subprocess.Popen(
                ["ip", "netns", "exec", self.netns, sys.executable, str(Path(__file__)),
                 "serve", str(self.directory), "--host", self.address, "--port", str(self.port),
                 "--latency", str(self.latency), "--connection-rate", str(self.connection_rate),
                 "--link-rate", str(self.link_rate),
                 *(["--log", str(self.log)] if self.log is not None else [])],
                stdout=subprocess.PIPE,
                text=True,
            )  # fmt: skip
            assert self._proc.stdout is not None
            line = self._proc.stdout.readline()
            if not line.startswith("serving"):
                raise RuntimeError(f"the remote index did not start: {line!r}")
        except BaseException:
            self.__exit__()
            raise
        return self

    def take_count(self) -> int:
        """Requests served since the last call (the count endpoint itself not included)."""
        url = f"http://{self.address}:{self.port}{COUNT_PATH}"
        with urllib.request.urlopen(url, timeout=10) as reply:  # noqa: S310 - our own address
            return int(json.load(reply)["requests"])

    def describe(self) -> str:
        return (
            f"{self.latency * 1000:.0f} ms per response, "
            f"{self.connection_rate / 1024**2:.0f} MiB/s per connection, "
            f"{self.link_rate / 1024**2:.0f} MiB/s in all, from {self.address} "
            "(a network namespace of its own)"
        )

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("netns", "del", self.netns)  # takes its end of the veth pair, and so both
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("link", "del", self.outer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("serve")
    run.add_argument("directory", type=Path)
    run.add_argument("--host", required=True)
    run.add_argument("--port", type=int, default=8080)
    run.add_argument("--latency", type=float, default=LATENCY)
    run.add_argument("--connection-rate", type=float, default=CONNECTION_RATE)
    run.add_argument("--link-rate", type=float, default=LINK_RATE)
    run.add_argument("--log", type=Path, default=None, help="append a request log here")
    args = parser.parse_args()
    rates = (args.connection_rate, args.link_rate)
    serve(args.directory, args.host, args.port, args.latency, rates, args.log)


if __name__ == "__main__":
    main()
