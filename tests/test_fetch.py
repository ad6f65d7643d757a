"""Downloads: verified streaming to disk, and every way a download can fail."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from wheelbuilder import make_wheel

from cachedb.errors import HashMismatch, NetworkError
from cachedb.fetch import Downloaded, HttpSession, download

if TYPE_CHECKING:
    from indexserver import IndexServer


@pytest.fixture
def session() -> Iterator[HttpSession]:
    s = HttpSession(timeout=5.0, concurrency=4)
    yield s
    s.close()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_download_streams_to_dest_with_sha256(
    tmp_path: Path, index_server: IndexServer, session: HttpSession
) -> None:
    wheel = make_wheel(tmp_path / "src", "alpha", "1.0")
    index_server.add(wheel)
    url = f"{index_server.root_url}/files/{wheel.name}"
    got = download(session, url, tmp_path / "out", wheel.name, hashes={"sha256": _sha(wheel)})
    assert got == Downloaded(
        path=tmp_path / "out" / wheel.name, sha256=_sha(wheel), size=wheel.stat().st_size
    )
    assert got.path.read_bytes() == wheel.read_bytes()
    assert [p.name for p in (tmp_path / "out").iterdir()] == [wheel.name]


def test_download_local_file_url_needs_no_session(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "src", "alpha", "1.0")
    got = download(None, wheel.as_uri(), tmp_path / "out", wheel.name)
    assert got.sha256 == _sha(wheel)


@pytest.mark.parametrize("which", ["hashes", "expected"])
def test_hash_mismatch_names_both_digests_and_leaves_nothing(
    tmp_path: Path, index_server: IndexServer, session: HttpSession, which: str
) -> None:
    wheel = make_wheel(tmp_path / "src", "alpha", "1.0")
    index_server.add(wheel)
    wrong = "0" * 64
    kwargs = {which: {"sha256": wrong}}
    with pytest.raises(HashMismatch) as info:
        download(
            session, f"{index_server.root_url}/files/{wheel.name}", tmp_path / "out",
            wheel.name, **kwargs,
        )  # fmt: skip
    assert wrong in str(info.value) and _sha(wheel) in str(info.value)
    assert list((tmp_path / "out").iterdir()) == []


def test_unsupported_expected_algorithm_is_refused(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "src", "alpha", "1.0")
    with pytest.raises(HashMismatch, match="unsupported"):
        download(None, wheel.as_uri(), tmp_path / "out", wheel.name, expected={"foo": "ab"})


def test_truncated_body_is_network_error_and_leaves_nothing(
    tmp_path: Path, index_server: IndexServer, session: HttpSession
) -> None:
    wheel = make_wheel(tmp_path / "src", "alpha", "1.0", files={"alpha/big.bin": b"x" * 200_000})
    index_server.add(wheel)
    index_server.faults[wheel.name] = "truncate"
    with pytest.raises(NetworkError):
        download(session, f"{index_server.root_url}/files/{wheel.name}", tmp_path / "o", wheel.name)
    assert list((tmp_path / "o").iterdir()) == []


def test_http_error_status(tmp_path: Path, index_server: IndexServer, session: HttpSession) -> None:
    with pytest.raises(NetworkError, match="HTTP 404"):
        download(session, f"{index_server.root_url}/files/nope-1.0-py3-none-any.whl",
                 tmp_path, "nope-1.0-py3-none-any.whl")  # fmt: skip


def test_redirect_loop(tmp_path: Path, index_server: IndexServer, session: HttpSession) -> None:
    wheel = make_wheel(tmp_path / "src", "alpha", "1.0")
    index_server.add(wheel)
    index_server.faults[wheel.name] = "redirect-loop"
    with pytest.raises(NetworkError, match="redirect"):
        download(session, f"{index_server.root_url}/files/{wheel.name}", tmp_path / "o", wheel.name)


def test_stall_times_out(tmp_path: Path, index_server: IndexServer) -> None:
    wheel = make_wheel(tmp_path / "src", "alpha", "1.0")
    index_server.add(wheel)
    index_server.faults[wheel.name] = "stall"
    s = HttpSession(timeout=0.3)
    try:
        with pytest.raises(NetworkError, match="timed out"):
            download(s, f"{index_server.root_url}/files/{wheel.name}", tmp_path / "o", wheel.name)
    finally:
        s.close()
    assert list((tmp_path / "o").iterdir()) == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_host_and_credentials_are_redacted(
    tmp_path: Path, session: HttpSession
) -> None:
    url = f"http://user:secret@127.0.0.1:{_free_port()}/files/a-1.0-py3-none-any.whl"
    with pytest.raises(NetworkError) as info:
        download(session, url, tmp_path, "a-1.0-py3-none-any.whl")
    assert "secret" not in str(info.value) and "user" not in str(info.value)
    assert "****@127.0.0.1" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_unsafe_filename_refused(tmp_path: Path) -> None:
    with pytest.raises(NetworkError, match="unsafe"):
        download(None, "file:///etc/passwd", tmp_path, "../passwd")


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """An https file server on 127.0.0.1 with a self-signed certificate: (URL, its directory,
    the certificate)."""
    import shutil
    import ssl
    import subprocess
    import threading
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl command to make a certificate with")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    served = tmp_path / "served"
    served.mkdir()

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(served)))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_address[1]}", served, cert
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_https_certificates_are_verified(
    tmp_path: Path, tls_server: tuple[str, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, served, cert = tls_server
    wheel = make_wheel(served, "alpha", "1.0")
    # Self-signed, so not trusted: the download fails and saves nothing.
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    untrusting = HttpSession(timeout=5.0)
    try:
        with pytest.raises(NetworkError, match="(?i)certificate"):
            download(untrusting, f"{url}/{wheel.name}", tmp_path / "no", wheel.name)
    finally:
        untrusting.close()
    assert not list((tmp_path / "no").glob("*"))
    # Trusted through SSL_CERT_FILE, as with pip and uv.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    trusting = HttpSession(timeout=5.0)
    try:
        got = download(trusting, f"{url}/{wheel.name}", tmp_path / "yes", wheel.name)
    finally:
        trusting.close()
    assert got.sha256 == _sha(wheel)


def test_the_known_algorithms_are_the_ones_every_python_has() -> None:
    """The digests an index may promise that we check: hashlib's guaranteed ones, less the
    shakes (their length is not part of the name); written out so a page read loads no
    OpenSSL."""
    import hashlib

    from cachedb.fetch._hashes import _KNOWN

    assert hashlib.algorithms_guaranteed - {"shake_128", "shake_256"} == _KNOWN


def test_connect_loads_what_a_download_needs_before_the_workers_fork() -> None:
    """The unpacking workers fork after the session connects and download on their
    own: whatever a download imports on first use must be loaded by then, or each
    worker imports it again."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from cachedb.fetch import HttpSession\n"
        "HttpSession().connect()\n"
        "wanted = ('cachedb.fetch._download', 'cachedb.fetch._limits', 'netrc', 'encodings.idna')\n"
        "print(sorted(m for m in wanted if m not in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
