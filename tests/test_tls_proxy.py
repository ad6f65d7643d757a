"""https indexes signed by a CA the test makes (--cert, SSL_CERT_FILE, --native-tls), and
HTTP_PROXY / HTTPS_PROXY / NO_PROXY through a forwarding proxy on 127.0.0.1."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from indexserver import IndexServer
from installtools import cachedb, run_in
from proxyserver import ProxyServer
from wheelbuilder import make_wheel

trustme = pytest.importorskip("trustme")


@pytest.fixture
def ca(tmp_path: Path) -> tuple[object, Path]:
    authority = trustme.CA()
    pem = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(pem))
    return authority, pem


def _tls_index(authority: object, tmp_path: Path) -> IndexServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)  # type: ignore[attr-defined]
    server = IndexServer(tls=context)
    server.add(make_wheel(tmp_path / "w", "lib", "1.0", files={"lib/__init__.py": "V = 1\n"}))
    return server


@pytest.fixture
def https_index(ca: tuple[object, Path], tmp_path: Path) -> Iterator[IndexServer]:
    server = _tls_index(ca[0], tmp_path)
    yield server
    server.close()


@pytest.fixture
def http_index(tmp_path: Path) -> Iterator[IndexServer]:
    with IndexServer() as server:
        server.add(make_wheel(tmp_path / "w", "lib", "1.0", files={"lib/__init__.py": "V = 1\n"}))
        yield server


@pytest.fixture
def proxy() -> Iterator[ProxyServer]:
    with ProxyServer() as server:
        yield server


def _install(
    tmp_path: Path, url: str, *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    # Proxy and certificate variables of the machine running the tests stay out.
    clean = {
        var: ""
        for var in ("SSL_CERT_FILE", "SSL_CERT_DIR", "NO_PROXY", "no_proxy", "ALL_PROXY",
                    "all_proxy", "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy")
    }  # fmt: skip
    # Python lets a lower-case variable (even empty) override its upper-case twin: set both.
    given = {name: value for k, value in (env or {}).items() for name in (k.upper(), k.lower())}
    return cachedb(
        "install", "--cache-dir", tmp_path / "cache", "-i", url, "--venv", tmp_path / "venv",
        "--no-config", "lib", *args, env={**clean, **given},
    )  # fmt: skip


def _works(tmp_path: Path, out: subprocess.CompletedProcess[str]) -> None:
    assert out.returncode == 0, out.stderr
    assert run_in(tmp_path / "venv", "import lib; print(lib.V)").stdout.strip() == "1"


def test_an_unknown_ca_is_refused_in_one_line(https_index: IndexServer, tmp_path: Path) -> None:
    out = _install(tmp_path, https_index.url)
    assert out.returncode == 1
    assert out.stderr.startswith("error: cannot connect to https://127.0.0.1")
    assert "CERTIFICATE_VERIFY_FAILED" in out.stderr and out.stderr.count("\n") == 1
    assert not list((tmp_path / "venv").rglob("lib/__init__.py"))


@pytest.mark.parametrize("how", ["--cert", "CACHEDB_CERT", "SSL_CERT_FILE", "config"])
def test_the_ca_given_is_trusted(
    https_index: IndexServer, ca: tuple[object, Path], tmp_path: Path, how: str
) -> None:
    pem = ca[1]
    if how == "--cert":
        out = _install(tmp_path, https_index.url, "--cert", pem)
    elif how == "config":
        named = tmp_path / "cachedb.toml"
        named.write_text(f'cert = "{pem}"\n')
        out = cachedb(
            "--config-file", named, "install", "--cache-dir", tmp_path / "cache",
            "-i", https_index.url, "--venv", tmp_path / "venv", "lib",
            env={"SSL_CERT_FILE": "", "HTTPS_PROXY": "", "https_proxy": ""},
        )  # fmt: skip
    else:
        out = _install(tmp_path, https_index.url, env={how: str(pem)})
    _works(tmp_path, out)


def test_a_missing_cert_file_is_a_usage_error(https_index: IndexServer, tmp_path: Path) -> None:
    out = _install(tmp_path, https_index.url, "--cert", tmp_path / "none.pem")
    assert out.returncode == 2
    assert out.stderr.startswith(f"error: cannot use --cert {tmp_path / 'none.pem'}")


def test_native_tls_asks_the_system_store(
    https_index: IndexServer, ca: tuple[object, Path], tmp_path: Path
) -> None:
    pytest.importorskip("truststore")
    # The system store does not know the test's CA ...
    out = _install(tmp_path, https_index.url, "--native-tls")
    assert out.returncode == 1 and "certificate" in out.stderr.lower(), out.stderr
    # ... until OpenSSL's own variable adds it to what the system trusts.
    out = _install(tmp_path, https_index.url, "--native-tls", env={"SSL_CERT_FILE": str(ca[1])})
    _works(tmp_path, out)


def test_plain_requests_go_through_http_proxy(
    http_index: IndexServer, proxy: ProxyServer, tmp_path: Path
) -> None:
    # As localhost: a name, the way a proxy usually sees it.
    url = http_index.url.replace("127.0.0.1", "localhost")
    _works(tmp_path, _install(tmp_path, url, env={"HTTP_PROXY": proxy.url}))
    assert proxy.seen and all(
        line.startswith(f"GET {http_index.root_url}".replace("127.0.0.1", "localhost"))
        for line in proxy.seen
    )
    assert any(line.endswith(".whl") for line in proxy.seen)
    assert len(proxy.seen) == len(http_index.requests)


def test_https_goes_through_the_proxy_tunnel(
    https_index: IndexServer, ca: tuple[object, Path], proxy: ProxyServer, tmp_path: Path
) -> None:
    out = _install(tmp_path, https_index.url, "--cert", ca[1], env={"https_proxy": proxy.url})
    _works(tmp_path, out)
    port = https_index.root_url.rsplit(":", 1)[1]
    assert proxy.seen and set(proxy.seen) == {f"CONNECT 127.0.0.1:{port}"}
    assert https_index.requests  # the index answered through the tunnel


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "*", "example.org,127.0.0.1"])
def test_no_proxy_skips_the_proxy(
    http_index: IndexServer, proxy: ProxyServer, tmp_path: Path, no_proxy: str
) -> None:
    env = {"HTTP_PROXY": proxy.url, "ALL_PROXY": proxy.url, "NO_PROXY": no_proxy}
    _works(tmp_path, _install(tmp_path, http_index.url, env=env))
    assert proxy.seen == []
    assert http_index.requests


def test_an_unreachable_proxy_is_a_one_line_error(http_index: IndexServer, tmp_path: Path) -> None:
    with ProxyServer() as gone:
        dead = gone.url
    out = _install(tmp_path, http_index.url, env={"HTTP_PROXY": dead})
    assert out.returncode == 1
    assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1, out.stderr
    assert http_index.requests == []
