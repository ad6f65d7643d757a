"""Running the real ``cachedb`` CLI against real venvs, and comparing environments."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cachestate import listing
from wheelbuilder import make_wheel

VENV_BIN = "Scripts" if sys.platform == "win32" else "bin"


def cachedb(
    *args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    # The developer's CACHEDB_* settings stay out; the database a test chose (backend) stays in.
    keep = set(os.environ.get("CACHEDB_TEST_KEEP", "").split())
    base = {
        k: v
        for k, v in os.environ.items()
        # FORCE_COLOR would colour the "error:" lines tests read.
        if (not k.startswith("CACHEDB_") or k in keep)
        and k not in ("VIRTUAL_ENV", "FORCE_COLOR", "CLICOLOR_FORCE")
    }
    return subprocess.run(
        [sys.executable, "-m", "cachedb", *map(str, args)],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        cwd=cwd,
        timeout=300,
    )


def modules_loaded(code: str, *args: str | Path, env: dict[str, str] | None = None) -> set[str]:
    """The module names ``python -c CODE ARGS`` prints as a JSON list on its last line of
    output, run without the developer's ``CACHEDB_*`` settings."""
    import json

    env = {k: v for k, v in os.environ.items() if not k.startswith("CACHEDB_")} | (env or {})
    out = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.splitlines()[-1]))


def make_venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return path / VENV_BIN / "python"


def installed_world(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A venv holding ``app`` and the ``lib`` it requires, installed from find-links with a
    cache: ``(venv, cache, wheels)``."""
    wheels, cache = tmp_path / "wheels", tmp_path / "cache"
    make_wheel(wheels, "app", "1.0", requires=["lib>=1"])
    make_wheel(wheels, "lib", "1.0")
    venv = tmp_path / "v"
    make_venv(venv)
    done = cachedb(
        "install", "-q", "--python", venv, "--cache-dir", cache,
        "--no-index", "--find-links", wheels, "app",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return venv, cache, wheels


def run_in(venv: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / VENV_BIN / "python"), "-c", code], capture_output=True, text=True, timeout=60
    )


def tree(root: Path) -> dict[str, str]:
    """An environment's files, links and directories (``cachestate.listing``), bytecode left out."""
    return listing(root, bytecode=False)


def pip(venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / VENV_BIN / "python"),
            "--disable-pip-version-check",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
