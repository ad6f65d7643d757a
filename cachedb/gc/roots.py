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

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import events
from ..db.engine import Database
from ..db.models import Environment, Install

SYMLINK_MODE = "symlink"


def _normal_version(version: str) -> str:
    try:
        return str(Version(version))
    except InvalidVersion:
        return version


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
                out.add((canonicalize_name(name), _normal_version(version)))
    return out


def has_distribution(prefix: Path, name: str, version: str) -> bool:
    return (canonicalize_name(name), _normal_version(version)) in installed_distributions(prefix)


@dataclass
class GoneRoots:
    """Environments and installs the database calls living but the disk does not."""

    environments: dict[int, str] = field(default_factory=dict)  # id -> prefix
    installs: set[int] = field(default_factory=set)  # ids, including those of gone environments

    def __bool__(self) -> bool:
        return bool(self.environments or self.installs)


def find_gone(session: Session) -> GoneRoots:
    """Check every living environment on disk (reads only)."""
    gone = GoneRoots()
    rows = session.execute(
        select(Environment.id, Environment.path, Install.id, Install.name, Install.version)
        .outerjoin(
            Install,
            (Install.environment_id == Environment.id) & Install.removed_at.is_(None),
        )
        .where(Environment.stale_at.is_(None))
    ).all()
    present: dict[int, set[tuple[str, str]] | None] = {}
    for env_id, path, install_id, name, version in rows:
        if env_id not in present:
            prefix = Path(path)
            present[env_id] = installed_distributions(prefix) if prefix.is_dir() else None
            if present[env_id] is None:
                gone.environments[env_id] = path
        dists = present[env_id]
        if install_id is None:
            continue
        if dists is None or (canonicalize_name(name), _normal_version(version)) not in dists:
            gone.installs.add(install_id)
    return gone


def mark_gone(db: Database, gone: GoneRoots) -> list[str]:
    """Record ``gone`` in the database, re-checking the disk; returns the prefixes marked stale.

    One short transaction per environment, so an install recording into it
    meanwhile either commits first (and we see it) or waits a moment.
    """
    stale: list[str] = []
    by_env: dict[int, list[int]] = {}
    with db.read() as session:
        for install in session.scalars(select(Install).where(Install.id.in_(gone.installs))):
            by_env.setdefault(install.environment_id, []).append(install.id)
    for env_id in set(by_env) | set(gone.environments):
        mark = functools.partial(
            _mark_environment, env_id=env_id, install_ids=by_env.get(env_id, [])
        )
        if db.write(mark):
            stale.append(gone.environments[env_id])
    return stale


def _mark_environment(session: Session, env_id: int, install_ids: Iterable[int]) -> bool:
    env = session.get(Environment, env_id)
    if env is None or env.stale_at is not None:
        return False
    now = time.time()
    prefix = Path(env.path)
    env_gone = not prefix.is_dir()
    if env_gone:
        # Everything still recorded as installed there is gone with it.
        installs = list(
            session.scalars(
                select(Install).where(
                    Install.environment_id == env_id, Install.removed_at.is_(None)
                )
            )
        )
    else:
        ids = list(install_ids)
        installs = list(
            session.scalars(
                select(Install).where(Install.id.in_(ids), Install.removed_at.is_(None))
            )
        )
        dists = installed_distributions(prefix)
        installs = [
            i
            for i in installs
            if (canonicalize_name(i.name), _normal_version(i.version)) not in dists
        ]
    for install in installs:
        install.removed_at = now
        events.record(
            session,
            "install.remove",
            f"{env.path}:{install.name}",
            old_archive=install.archive_id,
            detail="gc: no longer in the environment",
        )
    if env_gone:
        env.stale_at = now
        events.record(session, "environment.stale", env.path, detail="gc: prefix is gone")
    return env_gone


def living_install_modes(
    session: Session, archive_ids: Iterable[str] | None = None, *, ignore: GoneRoots | None = None
) -> dict[str, set[str]]:
    """archive id -> link modes of its installs in living environments."""
    query = (
        select(Install.id, Install.archive_id, Install.link_mode)
        .join(Environment, Environment.id == Install.environment_id)
        .where(Install.removed_at.is_(None), Environment.stale_at.is_(None))
    )
    if archive_ids is not None:
        query = query.where(Install.archive_id.in_(list(archive_ids)))
    out: dict[str, set[str]] = {}
    for install_id, archive_id, mode in session.execute(query):
        if ignore is not None and install_id in ignore.installs:
            continue
        out.setdefault(archive_id, set()).add(mode)
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
