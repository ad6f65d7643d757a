"""A direct wheel URL with a query string (a signed or token URL) installs as with pip
and uv; the query (the token) reaches the server but is never stored or shown."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from indexserver import IndexServer
from installtools import cachedb, run_in
from wheelbuilder import make_wheel

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX venv layout")

TOKEN = "s3cr3tT0ken"


def _files_holding(root: Path, secret: str) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and secret.encode() in path.read_bytes():
            found.append(str(path.relative_to(root)))
    return found


@pytest.mark.parametrize("named", [False, True])
def test_wheel_url_with_a_query_string_installs_and_the_token_is_kept_nowhere(
    tmp_path: Path, index_server: IndexServer, named: bool
) -> None:
    index_server.add(make_wheel(tmp_path / "wheels", "demo", "1.0"))
    base = index_server.url.rsplit("/simple", 1)[0]
    url = f"{base}/files/demo-1.0-py3-none-any.whl?token={TOKEN}&x=1"
    cache, venv = tmp_path / "cache", tmp_path / "venv"
    proc = cachedb(
        "install", "--cache-dir", cache, "--venv", venv, f"demo @ {url}" if named else url
    )
    assert proc.returncode == 0, proc.stderr
    assert "+ demo==1.0" in proc.stderr
    assert any(TOKEN in r for r in index_server.requests)  # the server got it
    ran = run_in(venv, "import demo; print(demo.VERSION)")
    assert ran.stdout.strip() == "1.0", ran.stderr
    assert TOKEN not in proc.stdout + proc.stderr
    assert _files_holding(cache, TOKEN) == []
    assert _files_holding(venv, TOKEN) == []
    # Installed again from the cache: the same, still nowhere.
    again = cachedb("install", "--cache-dir", cache, "--venv", tmp_path / "venv2", url)
    assert again.returncode == 0, again.stderr
    assert _files_holding(cache, TOKEN) == []


def test_failing_token_url_is_one_line_without_the_token(
    tmp_path: Path, index_server: IndexServer
) -> None:
    base = index_server.url.rsplit("/simple", 1)[0]
    url = f"{base}/files/demo-1.0-py3-none-any.whl?token={TOKEN}"
    proc = cachedb("install", "--cache-dir", tmp_path / "cache", "--venv", tmp_path / "venv", url)
    assert proc.returncode == 1, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert TOKEN not in proc.stderr
    assert _files_holding(tmp_path / "cache", TOKEN) == []


def test_compile_locks_a_wheel_url_with_a_query_string_as_install_reads_it(
    tmp_path: Path, index_server: IndexServer
) -> None:
    # compile and install read what a requirement names by URL through one function:
    # the file's name is the URL path's last part, the query left out.
    wheel = make_wheel(tmp_path / "wheels", "demo", "1.0")
    index_server.add(wheel)
    base = index_server.url.rsplit("/simple", 1)[0]
    url = f"{base}/files/demo-1.0-py3-none-any.whl?token={TOKEN}"
    (tmp_path / "requirements.in").write_text(f"demo @ {url}\n")
    lock = tmp_path / "pylock.toml"
    cache = tmp_path / "cache"
    proc = cachedb(
        "compile", "--cache-dir", cache, "--no-index", "-o", lock, tmp_path / "requirements.in"
    )
    assert proc.returncode == 0, proc.stderr
    sha256 = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert f'sha256 = "{sha256}"' in lock.read_text()
    assert _files_holding(cache, TOKEN) == []
    # A lock is a file to share (commit, publish): the token is not written to it, and
    # compile says so in one warning, without the token.
    assert TOKEN not in lock.read_text()
    assert f"{base}/files/demo-1.0-py3-none-any.whl" in lock.read_text()
    assert "not written to the lock" in proc.stderr and TOKEN not in proc.stderr


def test_compile_writes_no_credentials_of_a_url_into_the_lock(
    tmp_path: Path, index_server: IndexServer
) -> None:
    wheel = make_wheel(tmp_path / "wheels", "demo", "1.0")
    index_server.add(wheel)
    base = index_server.url.rsplit("/simple", 1)[0]
    url = base.replace("http://", f"http://user:{TOKEN}@") + "/files/demo-1.0-py3-none-any.whl"
    (tmp_path / "requirements.in").write_text(f"demo @ {url}\n")
    for name in ("requirements.txt", "pylock.toml"):
        lock = tmp_path / name
        proc = cachedb(
            "compile", "--cache-dir", tmp_path / "cache", "--no-index", "--generate-hashes",
            "-o", lock, tmp_path / "requirements.in",
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert TOKEN not in lock.read_text() and "user" not in lock.read_text()
        assert f"{base}/files/demo-1.0-py3-none-any.whl" in lock.read_text()
