"""``cachedb sync``: an environment made to match a lock file exactly."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from indexserver import IndexServer
from installtools import VENV_BIN, cachedb, make_venv, pip, tree
from wheelbuilder import make_wheel


@pytest.fixture
def index(tmp_path: Path) -> IndexServer:
    server = IndexServer()
    wheels = tmp_path / "wheels"
    server.add(make_wheel(wheels, "app", "1.0", requires=["lib>=1"]))
    server.add(make_wheel(wheels, "lib", "1.0"))
    server.add(make_wheel(wheels, "lib", "2.0"))
    server.add(make_wheel(wheels, "extra", "1.0"))
    yield server
    server.close()


def _site(venv: Path) -> Path:
    return next((venv / "lib").glob("python3*/site-packages"))


def _installed(venv: Path) -> dict[str, str]:
    listed = pip(venv, "list", "--format", "freeze", "--exclude", "pip")
    assert listed.returncode == 0, listed.stderr
    return dict(line.split("==") for line in listed.stdout.split())


def _lock(tmp_path: Path, index: IndexServer, name: str, *reqs: str) -> Path:
    (tmp_path / "requirements.in").write_text("".join(f"{r}\n" for r in reqs))
    out = cachedb(
        "compile", "requirements.in", "-o", name, "--generate-hashes",
        "-i", index.url, "--cache-dir", tmp_path / "cache-compile", cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return tmp_path / name


@pytest.mark.parametrize("name", ["requirements.txt", "pylock.toml"])
def test_compile_then_sync_reproduces_an_environment_file_for_file(
    tmp_path: Path, index: IndexServer, name: str
) -> None:
    lock = _lock(tmp_path, index, name, "app")
    envs = []
    for n in ("a", "b"):
        venv = tmp_path / f"venv-{n}"
        make_venv(venv)
        out = cachedb(
            "sync", lock, "--python", venv / VENV_BIN / "python", "-i", index.url,
            "--cache-dir", tmp_path / f"cache-{n}", "--link-mode", "copy",
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        envs.append(tree(_site(venv)))
    assert envs[0] == envs[1]
    assert _installed(tmp_path / "venv-a") == {"app": "1.0", "lib": "2.0"}


def test_sync_removes_the_extraneous_and_downgrades_the_changed(
    tmp_path: Path, index: IndexServer
) -> None:
    venv = tmp_path / "venv"
    python = make_venv(venv)
    cache = tmp_path / "cache"
    out = cachedb("install", "--python", python, "-i", index.url, "--cache-dir", cache,
                  "app", "lib==2.0", "extra")  # fmt: skip
    assert out.returncode == 0, out.stderr
    lock = tmp_path / "requirements.txt"
    lock.write_text("app==1.0\nlib==1.0\n")
    out = cachedb("sync", lock, "--python", python, "-i", index.url, "--cache-dir", cache)
    assert out.returncode == 0, out.stderr
    assert _installed(venv) == {"app": "1.0", "lib": "1.0"}
    assert " - extra==1.0" in out.stderr and " + lib==1.0" in out.stderr
    # In sync already: nothing to do, nothing changes.
    before = tree(_site(venv))
    again = cachedb("sync", lock, "--python", python, "-i", index.url, "--cache-dir", cache)
    assert again.returncode == 0, again.stderr
    assert tree(_site(venv)) == before


def test_dry_run_shows_the_plan_and_changes_nothing(tmp_path: Path, index: IndexServer) -> None:
    venv = tmp_path / "venv"
    python = make_venv(venv)
    cache = tmp_path / "cache"
    out = cachedb("install", "--python", python, "-i", index.url, "--cache-dir", cache,
                  "lib==2.0", "extra")  # fmt: skip
    assert out.returncode == 0, out.stderr
    lock = tmp_path / "requirements.txt"
    lock.write_text("app==1.0\nlib==1.0\n")
    before = tree(venv)
    out = cachedb("sync", lock, "--dry-run", "--python", python, "-i", index.url,
                  "--cache-dir", cache)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert tree(venv) == before
    for line in (" - extra==1.0", " - lib==2.0", " + lib==1.0", " + app==1.0"):
        assert line in out.stderr


def test_sync_replaces_another_build_of_the_locked_version(
    tmp_path: Path, index: IndexServer
) -> None:
    other = make_wheel(tmp_path / "elsewhere", "lib", "2.0", files={"lib/__init__.py": "X = 1\n"})
    venv = tmp_path / "venv"
    python = make_venv(venv)
    cache = tmp_path / "cache"
    out = cachedb("install", "--python", python, "--no-index", "-f", other.parent,
                  "--cache-dir", cache, "lib==2.0")  # fmt: skip
    assert out.returncode == 0, out.stderr
    lock = _lock(tmp_path, index, "requirements.txt", "lib==2.0")
    out = cachedb("sync", lock, "--python", python, "-i", index.url, "--cache-dir", cache)
    assert out.returncode == 0, out.stderr
    assert (_site(venv) / "lib" / "__init__.py").read_text() == "VERSION = '2.0'\n"


def test_sync_keeps_the_installers_it_is_not_told_about(tmp_path: Path, index: IndexServer) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / VENV_BIN / "python"
    lock = tmp_path / "requirements.txt"
    lock.write_text("lib==1.0\n")
    out = cachedb("sync", lock, "--python", python, "-i", index.url, "--cache-dir", tmp_path / "c")
    assert out.returncode == 0, out.stderr
    assert (_site(venv) / "pip").is_dir()


@pytest.mark.parametrize("name", ["requirements.txt", "pylock.toml"])
def test_uv_installs_the_set_cachedb_locked(tmp_path: Path, index: IndexServer, name: str) -> None:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent))
    if uv is None:
        pytest.skip("uv is not installed next to this Python")
    lock = _lock(tmp_path, index, name, "app")
    venv = tmp_path / "venv"
    make_venv(venv)
    got = subprocess.run(
        [uv, "pip", "sync", "--python", str(venv / VENV_BIN / "python"), "--index-url",
         index.url, "--cache-dir", str(tmp_path / "uv-cache"), str(lock)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert got.returncode == 0, got.stderr
    assert _installed(venv) == {"app": "1.0", "lib": "2.0"}


def test_install_reads_a_pylock(tmp_path: Path, index: IndexServer) -> None:
    lock = _lock(tmp_path, index, "pylock.toml", "app")
    venv = tmp_path / "venv"
    python = make_venv(venv)
    # The lock names its index: no -i needed.
    out = cachedb("install", "--python", python, "-r", lock, "--cache-dir", tmp_path / "c")
    assert out.returncode == 0, out.stderr
    assert _installed(venv) == {"app": "1.0", "lib": "2.0"}


def test_a_pylock_with_a_tampered_hash_installs_nothing(tmp_path: Path, index: IndexServer) -> None:
    lock = _lock(tmp_path, index, "pylock.toml", "lib")
    text = lock.read_text()
    digest = text.split('sha256 = "')[1].split('"')[0]
    lock.write_text(text.replace(digest, "0" * 64))
    venv = tmp_path / "venv"
    python = make_venv(venv)
    before = tree(venv)
    out = cachedb("sync", lock, "--python", python, "--cache-dir", tmp_path / "c")
    assert out.returncode != 0
    assert "hash" in out.stderr.lower()
    assert tree(venv) == before
