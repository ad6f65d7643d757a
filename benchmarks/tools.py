"""The three installers and how each is asked to do the same thing.

Every tool gets the same pinned requirements file, the same source (the local
index or the local find-links directory), its own cache directory and a fresh
target venv, and runs without user configuration. Options that would make one
tool do extra work are switched off: pip does not byte-compile (neither uv nor
cachedb do by default). Link modes are each tool's default; the benchmark
records what each one actually did (``link_mode_seen``).
"""

from __future__ import annotations

import os
import venv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

TOOLS = ("cachedb", "uv", "pip")


@dataclass(frozen=True)
class Source:
    """Where packages come from: ``index`` (HTTP on 127.0.0.1), ``remote`` (HTTP from a
    network namespace, slowed like a remote index: remoteindex.py) or ``find-links``."""

    kind: str
    location: str  # the index URL or the directory

    def args(self, tool: str) -> list[str]:
        if self.kind in ("index", "remote"):
            from urllib.parse import urlsplit

            # pip caches HTTP responses only from https or trusted hosts (uv and cachedb
            # cache plain http too); trusting the benchmark's index gives pip its warm path.
            host = urlsplit(self.location).hostname or "127.0.0.1"
            trust = ["--trusted-host", host] if tool == "pip" else []
            return ["--index-url", self.location, *trust]
        return ["--no-index", "--find-links", self.location]


def clean_env(scratch: Path) -> dict[str, str]:
    """The environment for every child: no tool configuration leaks in from the user's."""
    drop = ("PIP_", "UV_", "CACHEDB_", "VIRTUAL_ENV", "CONDA_", "PYTHON")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        UV_NO_CONFIG="1",
        # Nothing writes to the user's caches or config: everything lands under scratch.
        XDG_CACHE_HOME=str(scratch / "xdg-cache"),
        XDG_CONFIG_HOME=str(scratch / "xdg-config"),
        XDG_DATA_HOME=str(scratch / "xdg-data"),
        NO_COLOR="1",
    )
    return env


def install_argv(
    tool: str, bin_dir: Path, target: Path, cache: Path, source: Source, requirements: Path
) -> list[str]:
    """The command line installing ``requirements`` into the venv at ``target``."""
    python = str(target / "bin" / "python")
    common = ["--cache-dir", str(cache), *source.args(tool), "-r", str(requirements)]
    if tool == "cachedb":
        return [str(bin_dir / "cachedb"), "install", "-q", "--python", python, *common]
    if tool == "uv":
        return [str(bin_dir / "uv"), "pip", "install", "-q", "--python", python, *common]
    if tool == "pip":
        return [
            str(bin_dir / "python"), "-m", "pip", "--python", python, "install", "-q",
            "--no-compile", "--disable-pip-version-check", *common,
        ]  # fmt: skip
    raise ValueError(tool)


def make_venv(path: Path) -> None:
    """A bare target venv (no pip: every tool installs into it from outside)."""
    venv.EnvBuilder(with_pip=False, symlinks=True, clear=True).create(path)


def site_packages(target: Path) -> Path:
    return next((target / "lib").glob("python*/site-packages"))


def count_files(root: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(root))


def link_mode_seen(target: Path, probe: str) -> str:
    """What a tool did with one installed file: hardlink (shared inode), symlink, or copy."""
    path = site_packages(target) / probe
    if path.is_symlink():
        return "symlink"
    # A hard link shares its inode with the cache; a copy or reflink has a link count of 1.
    return "hardlink" if path.stat().st_nlink > 1 else "copy/clone"


def versions(bin_dir: Path, env: Mapping[str, str]) -> dict[str, str]:
    import subprocess

    def out(*argv: str) -> str:
        done = subprocess.run(argv, env=dict(env), capture_output=True, text=True, check=False)
        return (done.stdout or done.stderr).strip().splitlines()[0]

    return {
        "cachedb": out(str(bin_dir / "cachedb"), "--version"),
        "uv": out(str(bin_dir / "uv"), "--version"),
        "pip": out(str(bin_dir / "python"), "-m", "pip", "--version").split(" from ")[0],
        "python": out(str(bin_dir / "python"), "--version"),
    }
