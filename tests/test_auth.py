"""Credentials from .netrc and the keyring command reach a Basic-auth index, and nothing else."""

from __future__ import annotations

import base64
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from indexserver import IndexServer
from installtools import cachedb, run_in
from wheelbuilder import make_wheel

USER, SECRET = "alice", "s3cr3t-t0ken"
BASIC = "Basic " + base64.b64encode(f"{USER}:{SECRET}".encode()).decode()


@pytest.fixture
def private(tmp_path: Path) -> IndexServer:
    server = IndexServer(auth=(USER, SECRET))
    server.add(make_wheel(tmp_path / "w", "lib", "1.0", files={"lib/__init__.py": "V = 1\n"}))
    yield server  # type: ignore[misc]
    server.close()


def fake_keyring(bin_dir: Path, log: Path) -> dict[str, str]:
    """A ``keyring`` command that knows one credential for 127.0.0.1 and logs its calls."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "keyring"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        f"open({str(log)!r}, 'a').write(repr(sys.argv[1:]) + '\\n')\n"
        "args = sys.argv[1:]\n"
        f"if args == ['get', '127.0.0.1', {USER!r}]:\n"
        f"    print({SECRET!r})\n"
        "elif args == ['--mode', 'creds', 'get', '127.0.0.1', '']:\n"
        f"    print({USER!r}); print({SECRET!r})\n"
        "else:\n"
        "    sys.exit(1)\n"
    )
    script.chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def assert_nowhere(secret: str, texts: list[str], *roots: Path) -> None:
    """Not in any output, file (database included) or database row under ``roots``."""
    for text in texts:
        assert secret not in text
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                assert secret.encode() not in path.read_bytes(), path
                if path.suffix == ".sqlite3":
                    with sqlite3.connect(path) as db:
                        dump = "\n".join(db.iterdump())
                    assert secret not in dump


def _install(
    tmp_path: Path, url: str, *args: str, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return cachedb(
        "install", "--cache-dir", tmp_path / "cache", "-i", url, "--venv", tmp_path / "venv",
        "lib", "-v", *args, env={"HOME": str(tmp_path / "home"), **env},
    )  # fmt: skip


def test_netrc_credentials_reach_the_index_and_nothing_else(
    private: IndexServer, tmp_path: Path
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1\n  login {USER}\n  password {SECRET}\n")
    netrc.chmod(0o600)
    out = _install(tmp_path, private.url, env={"NETRC": str(netrc)})
    assert out.returncode == 0, out.stderr
    assert run_in(tmp_path / "venv", "import lib; print(lib.V)").stdout.strip() == "1"
    # Every request (page, metadata, file) carried them, from the first one.
    assert private.authorizations and set(private.authorizations) == {BASIC}
    assert_nowhere(SECRET, [out.stdout, out.stderr], tmp_path / "cache", tmp_path / "venv")


def test_netrc_in_home_is_read_without_the_variable(private: IndexServer, tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    netrc = tmp_path / "home" / ".netrc"
    netrc.write_text(f"machine 127.0.0.1 login {USER} password {SECRET}\n")
    netrc.chmod(0o600)
    out = _install(tmp_path, private.url, env={})
    assert out.returncode == 0, out.stderr


def test_netrc_credentials_stay_with_their_host(tmp_path: Path) -> None:
    """Kept for 127.0.0.1: an index reached as localhost gets none."""
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login {USER} password {SECRET}\n")
    with IndexServer() as public:
        public.add(make_wheel(tmp_path / "w", "lib", "1.0"))
        url = public.url.replace("127.0.0.1", "localhost")
        out = _install(tmp_path, url, env={"NETRC": str(netrc)})
        assert out.returncode == 0, out.stderr
        assert public.authorizations and set(public.authorizations) == {None}


def test_without_credentials_the_index_says_so(private: IndexServer, tmp_path: Path) -> None:
    log = tmp_path / "keyring.log"
    out = _install(tmp_path, private.url, env=fake_keyring(tmp_path / "bin", log))
    assert out.returncode == 1
    assert "HTTP 401" in out.stderr and "credentials" in out.stderr
    assert not log.exists()  # the keyring is asked only when enabled


@pytest.mark.parametrize("with_user", [True, False], ids=["user-in-url", "creds-mode"])
def test_keyring_subprocess_answers_after_a_401(
    private: IndexServer, tmp_path: Path, with_user: bool
) -> None:
    log = tmp_path / "keyring.log"
    url = private.url.replace("http://", f"http://{USER}@") if with_user else private.url
    env = fake_keyring(tmp_path / "bin", log)
    out = _install(tmp_path, url, "--keyring-provider", "subprocess", env=env)
    assert out.returncode == 0, out.stderr
    assert run_in(tmp_path / "venv", "import lib; print(lib.V)").stdout.strip() == "1"
    # Asked once for the host, not once per request.
    assert len(log.read_text().splitlines()) == 1
    assert BASIC in private.authorizations
    assert_nowhere(SECRET, [out.stdout, out.stderr], tmp_path / "cache", tmp_path / "venv")


def test_keyring_provider_from_the_environment(private: IndexServer, tmp_path: Path) -> None:
    env = fake_keyring(tmp_path / "bin", tmp_path / "keyring.log")
    out = _install(tmp_path, private.url, env={**env, "CACHEDB_KEYRING_PROVIDER": "subprocess"})
    assert out.returncode == 0, out.stderr


def test_an_unknown_keyring_provider_is_a_usage_error(tmp_path: Path) -> None:
    out = _install(tmp_path, "http://127.0.0.1:9/simple", "--keyring-provider", "import", env={})
    assert out.returncode == 2
    assert out.stderr == (
        "error: --keyring-provider must be one of disabled, subprocess, not 'import'\n"
    )
