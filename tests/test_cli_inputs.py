"""What the command line reads besides its arguments: requirements from pipes and stdin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from installtools import cachedb, run_in
from wheelbuilder import make_wheel


@pytest.fixture
def wheel_dir(tmp_path: Path) -> Path:
    make_wheel(tmp_path / "wheels", "lib", "1.0", files={"lib/__init__.py": "VALUE = 1\n"})
    return tmp_path / "wheels"


def _install(
    tmp_path: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CACHEDB_")}
    env.pop("VIRTUAL_ENV", None)
    cmd = [sys.executable, "-m", "cachedb", "install", "--cache-dir", str(tmp_path / "cache")]
    return subprocess.run(
        [*cmd, "--venv", str(tmp_path / "venv"), *args],
        input=stdin, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize("name", ["-", "/dev/stdin"])
def test_requirements_from_standard_input(tmp_path: Path, wheel_dir: Path, name: str) -> None:
    out = _install(tmp_path, "--no-index", "-f", "wheels", "-r", name, stdin="lib==1.0\n")
    assert out.returncode == 0, out.stderr
    assert run_in(tmp_path / "venv", "import lib; print(lib.VALUE)").stdout.strip() == "1"


def test_constraints_from_standard_input(tmp_path: Path, wheel_dir: Path) -> None:
    make_wheel(wheel_dir, "lib", "2.0", files={"lib/__init__.py": "VALUE = 2\n"})
    out = _install(tmp_path, "--no-index", "-f", "wheels", "lib", "-c", "-", stdin="lib<2\n")
    assert out.returncode == 0, out.stderr
    assert run_in(tmp_path / "venv", "import lib; print(lib.VALUE)").stdout.strip() == "1"


def test_requirements_from_process_substitution(tmp_path: Path, wheel_dir: Path) -> None:
    # What `-r <(echo ./wheels/lib-...)` hands over: a /dev/fd path of a pipe.
    wheel = next(wheel_dir.iterdir())
    read_end, write_end = os.pipe()
    os.write(write_end, f"./wheels/{wheel.name}\n".encode())
    os.close(write_end)
    try:
        out = subprocess.run(
            [sys.executable, "-m", "cachedb", "install", "--cache-dir", str(tmp_path / "cache"),
             "--venv", str(tmp_path / "venv"), "-r", f"/dev/fd/{read_end}"],
            pass_fds=[read_end], capture_output=True, text=True, cwd=tmp_path, timeout=300,
            env={k: v for k, v in os.environ.items() if not k.startswith("CACHEDB_")},
        )  # fmt: skip
    finally:
        os.close(read_end)
    assert out.returncode == 0, out.stderr
    assert run_in(tmp_path / "venv", "import lib; print(lib.VALUE)").stdout.strip() == "1"


def test_a_directory_is_still_refused(tmp_path: Path) -> None:
    out = cachedb("install", "--venv", tmp_path / "venv", "-r", tmp_path, cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr == f"error: requirements file is a directory: {tmp_path}\n"
