"""Roots: what keeps an archive alive besides its pointers.

Environments are checked on disk, not trusted from the database: an
environment whose prefix is gone, or that no longer holds a distribution,
stops being a root for it, and gc records that (``environments.stale_at``,
``installs.removed_at``) with event rows.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .._process import host_id
from ..db.dialect import for_update
from ..db.events import record_sql
from ..db.lite import Executor

if TYPE_CHECKING:
    from ..store import Cache

SYMLINK_MODE = "symlink"


@functools.lru_cache(maxsize=4096)
def _normal_version(version: str) -> str:
    try:
        return str(Version(version))
    except InvalidVersion:
        return version


@functools.lru_cache(maxsize=4096)
def _dist_key(name: str, version: str) -> tuple[str, str]:
    # Environments share most distributions, so each pair is parsed once per run.
    return canonicalize_name(name), _normal_version(version)


def site_packages(prefix: Path) -> list[Path]:
    """The site-packages directories of the environment at ``prefix`` (POSIX or Windows)."""
    found = [
        p
        for pattern in ("lib/python*/site-packages", "lib64/python*/site-packages")
        for p in prefix.glob(pattern)
    ]
    windows = prefix / "Lib" / "site-packages"
    if windows.is_dir() and windows not in found:
        found.append(windows)
    return [p for p in found if p.is_dir()]


def installed_distributions(prefix: Path) -> set[tuple[str, str]]:
    """``(canonical name, normalized version)`` of every ``*.dist-info`` in the environment."""
    out: set[tuple[str, str]] = set()
    for directory in site_packages(prefix):
        try:
            entries = os.listdir(directory)
        except OSError:
            continue
        for entry in entries:
            if not entry.endswith(".dist-info"):
                continue
            name, sep, version = entry[: -len(".dist-info")].rpartition("-")
            if sep:
                out.add(_dist_key(name, version))
    return out


def has_distribution(prefix: Path, name: str, version: str) -> bool:
    return _dist_key(name, version) in installed_distributions(prefix)


@dataclass
class GoneRoots:
    """Environments and installs the database calls living but the disk does not."""

    environments: dict[int, str] = field(default_factory=dict)  # id -> prefix
    installs: set[int] = field(default_factory=set)  # ids, including those of gone environments
    install_env: dict[int, int] = field(default_factory=dict)  # install id -> environment id

    def __bool__(self) -> bool:
        return bool(self.environments or self.installs)


def living_installs(run: Executor) -> list[tuple[int, str, int | None, str | None, str | None]]:
    """``(environment id, prefix, install id, name, version)`` of this host's living environments.

    Only this host's disk can tell whether an environment is gone: another host's
    environments stay roots, unchecked, until that host's gc looks at them. Rows
    recorded before hosts were (no ``host_id``) count as this host's.
    """
    return [
        (r[0], r[1], r[2], r[3], r[4])
        for r in run(
            "SELECT e.id, e.path, i.id, i.name, i.version FROM environments e"
            " LEFT JOIN installs i ON i.environment_id = e.id AND i.removed_at IS NULL"
            " WHERE e.stale_at IS NULL AND (e.host_id IS NULL OR e.host_id IN"
            " (SELECT h.id FROM hosts h WHERE h.machine_id = :m)) ORDER BY e.id, i.id",
            {"m": host_id()},
        )
    ]


def find_gone(rows: Iterable[tuple[int, str, int | None, str | None, str | None]]) -> GoneRoots:
    """Check the environments of ``living_installs`` rows on disk (reads only)."""
    gone = GoneRoots()
    present: dict[int, set[tuple[str, str]] | None] = {}
    for env_id, path, install_id, name, version in rows:
        if env_id not in present:
            prefix = Path(path)
            present[env_id] = installed_distributions(prefix) if prefix.is_dir() else None
            if present[env_id] is None:
                gone.environments[env_id] = path
        dists = present[env_id]
        if install_id is None or name is None or version is None:
            continue
        if dists is None or _dist_key(name, version) not in dists:
            gone.installs.add(install_id)
            gone.install_env[install_id] = env_id
    return gone


def mark_gone(cache: Cache, gone: GoneRoots) -> list[str]:
    """Record ``gone`` in the database, re-checking the disk; returns the prefixes marked stale.

    One short transaction per environment, so an install recording into it
    meanwhile either commits first (and we see it) or waits a moment.
    """
    stale: list[str] = []
    by_env: dict[int, list[int]] = {}
    for install_id in sorted(gone.installs):
        by_env.setdefault(gone.install_env[install_id], []).append(install_id)
    for env_id in sorted(set(by_env) | set(gone.environments)):
        mark = functools.partial(
            _mark_environment, env_id=env_id, install_ids=by_env.get(env_id, [])
        )
        if cache.write_sql(mark):
            stale.append(gone.environments[env_id])
    return stale


def _mark_environment(run: Executor, env_id: int, install_ids: Iterable[int]) -> bool:
    found = run(
        "SELECT path, stale_at FROM environments WHERE id = :id" + for_update(run), {"id": env_id}
    )
    if not found or found[0][1] is not None:
        return False
    env_path = str(found[0][0])
    now = time.time()
    prefix = Path(env_path)
    env_gone = not prefix.is_dir()
    columns = "SELECT id, name, version, archive_id FROM installs"
    if env_gone:
        # Everything still recorded as installed there is gone with it.
        installs = run(
            f"{columns} WHERE environment_id = :e AND removed_at IS NULL ORDER BY id",
            {"e": env_id},
        )
    else:
        installs = []
        for install_id in install_ids:
            installs += run(f"{columns} WHERE id = :id AND removed_at IS NULL", {"id": install_id})
        dists = installed_distributions(prefix)
        installs = [i for i in installs if _dist_key(i[1], i[2]) not in dists]
    for install_id, name, _version, archive_id in installs:
        run("UPDATE installs SET removed_at = :now WHERE id = :id", {"now": now, "id": install_id})
        record_sql(
            run,
            "install.remove",
            f"{env_path}:{name}",
            old_archive=archive_id,
            detail="gc: no longer in the environment",
        )
    if env_gone:
        run("UPDATE environments SET stale_at = :now WHERE id = :id", {"now": now, "id": env_id})
        record_sql(run, "environment.stale", env_path, detail="gc: prefix is gone")
    return env_gone


def living_install_modes(
    run: Executor, archive_id: str | None = None, *, ignore: GoneRoots | None = None
) -> dict[str, set[str]]:
    """archive id -> link modes of its installs in living environments (``archive_id`` or all)."""
    sql = (
        "SELECT i.id, i.archive_id, i.link_mode FROM installs i"
        " JOIN environments e ON e.id = i.environment_id"
        " WHERE i.removed_at IS NULL AND e.stale_at IS NULL"
    )
    rows = (
        run(sql) if archive_id is None else run(sql + " AND i.archive_id = :a", {"a": archive_id})
    )
    out: dict[str, set[str]] = {}
    for install_id, aid, mode in rows:
        if ignore is not None and install_id in ignore.installs:
            continue
        out.setdefault(aid, set()).add(mode)
    return out


def protects(modes: set[str], *, evicting: bool, keep_installed: bool) -> bool:
    """Whether living installs with ``modes`` keep an archive.

    Any living install is a root for a plain sweep. An eviction (clean, max-age,
    max-size) only spares archives a living environment links to by symlink,
    which would break without it, or every installed one with ``keep_installed``.
    """
    if not modes:
        return False
    return bool(SYMLINK_MODE in modes or keep_installed or not evicting)
