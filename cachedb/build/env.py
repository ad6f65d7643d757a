"""Isolated build environments, whose requirements cachedb installs itself.

A build environment is a fresh venv under the cache's ``tmp/``, made from the
target's interpreter. Its requirements are installed by a child ``cachedb
install`` with the same cache, database and indexes: from the cache, so a
second build needs no network. The child first tries ``--offline`` (cached
index pages and archives only) and goes to the network only when that fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BuildError

# The sources being built by this process and its ancestors: a build that
# needs itself (directly or not) would otherwise wait on its own lock forever.
BUILDING_ENV = "CACHEDB_BUILDING"
MAX_DEPTH = 8


@dataclass(frozen=True)
class EnvSettings:
    """Where build requirements come from: the installing command's cache and indexes."""

    cache_dir: Path
    db_url: str | None = None
    index_urls: Sequence[str] = field(default_factory=tuple)
    find_links: Sequence[str] = field(default_factory=tuple)
    offline: bool = False
    index_strategy: str = "first-index"
    network_args: Sequence[str] = field(default_factory=tuple)
    """--cert, --native-tls, --keyring-provider as the installing command had them."""

    def install_command(self, env_dir: Path, *, offline: bool) -> list[str]:
        cmd = [sys.executable, "-m", "cachedb", "install", "--quiet", "--venv", str(env_dir)]
        cmd += ["--cache-dir", str(self.cache_dir)]
        if self.db_url is not None:
            cmd += ["--db-url", self.db_url]
        if self.index_urls:
            cmd += ["--index-url", self.index_urls[0]]
            for url in self.index_urls[1:]:
                cmd += ["--extra-index-url", url]
            cmd += ["--index-strategy", self.index_strategy]
        else:
            cmd.append("--no-index")
        for location in self.find_links:
            cmd += ["--find-links", location]
        if offline:
            cmd.append("--offline")
        return [*cmd, *self.network_args]


def building() -> list[str]:
    """Source keys being built by this process's ancestors, outermost first."""
    value = os.environ.get(BUILDING_ENV, "")
    return [key for key in value.split(os.pathsep) if key]


def create_env(path: Path, python: str) -> Path:
    """A new venv at ``path`` made from ``python``; returns its interpreter."""
    from ..errors import UsageError
    from ..target import create_venv

    try:
        return create_venv(path, python=python)
    except UsageError as exc:
        raise BuildError(f"cannot create a build environment: {exc.message}") from None


def install_requirements(
    env_dir: Path,
    requirements: Sequence[str],
    settings: EnvSettings,
    *,
    chain: Sequence[str],
    what: str,
) -> None:
    """Install ``requirements`` into the build environment at ``env_dir`` with cachedb."""
    if not requirements:
        return
    env = {k: v for k, v in os.environ.items() if k not in ("CACHEDB_OFFLINE", "VIRTUAL_ENV")}
    env[BUILDING_ENV] = os.pathsep.join(chain)
    attempts = [True] if settings.offline else [True, False]
    proc: subprocess.CompletedProcess[str] | None = None
    for offline in attempts:
        cmd = [*settings.install_command(env_dir, offline=offline), "--", *requirements]
        proc = subprocess.run(
            cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
        if proc.returncode == 0:
            return
    assert proc is not None
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    reason = lines[0].removeprefix("error: ") if lines else f"exit status {proc.returncode}"
    details = "".join(f"\n  | {ln}" for ln in lines[1:])
    raise BuildError(
        f"cannot install the build requirements of {what} ({', '.join(requirements)}): "
        f"{reason}{details}"
    )
