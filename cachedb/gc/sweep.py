"""Removing what gc decided to collect, one archive at a time.

Order (DESIGN invariant 5): the transaction that re-checks a candidate also
marks it deleted and records the event; only then, holding the archive's lock,
is its directory renamed into ``tmp/`` and removed, and its rows purged. A
crash anywhere leaves a row marked deleted, which the next run finishes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..db import events
from ..db.models import Archive, ArchiveFile, Install, Pointer
from ..store import Cache, leases, staging
from ..store import pointers as links
from ..store.archive import discard
from ..store.layout import POINTER_BUCKETS
from . import roots
from .policy import Candidate, Options


@dataclass(frozen=True)
class Collected:
    archive_id: str
    filename: str
    size: int
    reason: str
    pointers: int  # pointer rows dropped
    removed: bool  # False: the archive stays (in use), only its pointers went


def _lock(cache: Cache, archive_id: str) -> object:
    return cache.archive_lock(archive_id)


def collect(cache: Cache, candidate: Candidate, options: Options) -> Collected | None:
    """Re-check ``candidate``, mark it deleted (dropping its pointers when evicting), remove it.

    Returns None when the candidate is no longer collectable.
    """
    aid = candidate.archive_id

    def _mark(session: Session) -> tuple[Collected, list[tuple[str, str, str]]] | None:
        row = session.get(Archive, aid)
        if row is None or row.deleted_at is not None:
            return None
        now = time.time()
        if candidate.respect_grace and row.created_at > now - options.grace:
            return None
        if candidate.reason in ("max-age", "max-size") and (
            row.last_used_at > candidate.last_used_at
        ):
            return None  # used since we planned: no longer the least recently used
        found = list(session.scalars(select(Pointer).where(Pointer.archive_id == aid)))
        if found and not candidate.evicting:
            return None
        modes = roots.living_install_modes(session, [aid]).get(aid, set())
        keep = bool(leases.live_leased(session, [aid])) or roots.protects(
            modes, evicting=candidate.evicting, keep_installed=options.keep_installed
        )
        if keep and not (candidate.unlink and found):
            return None
        detail = f"gc: {candidate.reason}"
        for pointer in found:
            session.delete(pointer)
            events.record(
                session,
                "pointer.delete",
                f"{pointer.bucket}/{pointer.key}",
                old_archive=aid,
                detail=detail,
            )
        dropped = [(p.bucket, p.key, p.kind) for p in found]
        if keep:
            return Collected(aid, row.filename, 0, candidate.reason, len(found), False), dropped
        row.deleted_at = now
        events.record(
            session,
            "archive.delete",
            row.filename,
            old_archive=aid,
            detail=f"{detail}; {row.unpacked_size} bytes",
        )
        collected = Collected(
            aid, row.filename, row.unpacked_size, candidate.reason, len(found), True
        )
        return collected, dropped

    marked = cache.db.write(_mark)
    if marked is None:
        return None
    collected, dropped = marked
    _remove_links(cache, aid, dropped)
    if collected.removed:
        finish(cache, aid)
    return collected


def _remove_links(cache: Cache, archive_id: str, dropped: list[tuple[str, str, str]]) -> None:
    target = cache.archive_path(archive_id)
    for bucket, key, kind in dropped:
        path = cache.layout.pointer_path(bucket, key)
        # A store may have re-created the entry meanwhile, pointing elsewhere: leave that.
        if links.read_pointer(path, kind) == target:
            links.remove_pointer(path)


def finish(cache: Cache, archive_id: str) -> bool:
    """Remove the directory of an archive marked deleted, then purge its rows.

    Returns whether a directory was removed. A row revived meanwhile by a store
    is left alone. Rows still referenced by installs of living environments stay
    as tombstones (``deleted_at`` set, no files) so those install records remain.
    """
    path = cache.archive_path(archive_id)
    with _lock(cache, archive_id):  # type: ignore[attr-defined]
        with cache.db.read() as session:
            row = session.get(Archive, archive_id)
            revived = row is not None and row.deleted_at is None
        if revived:
            return False
        existed = os.path.lexists(path)
        discard(path, cache.layout)
        dangling: list[tuple[str, str, str]] = []
        if row is not None:
            dangling = cache.db.write(lambda s: _purge(s, archive_id))
    _remove_links(cache, archive_id, dangling)
    return existed


def _purge(session: Session, archive_id: str) -> list[tuple[str, str, str]]:
    row = session.get(Archive, archive_id)
    if row is None or row.deleted_at is None:
        return []
    # A store that raced with the marking transaction may have pointed at it since.
    dangling = list(session.scalars(select(Pointer).where(Pointer.archive_id == archive_id)))
    for pointer in dangling:
        session.delete(pointer)
        events.record(
            session,
            "pointer.dangling",
            f"{pointer.bucket}/{pointer.key}",
            old_archive=archive_id,
            detail="gc: its archive was collected",
        )
    session.execute(
        delete(Install).where(Install.archive_id == archive_id, Install.removed_at.is_not(None))
    )
    session.execute(delete(ArchiveFile).where(ArchiveFile.archive_id == archive_id))
    referenced = session.scalars(select(Install.id).where(Install.archive_id == archive_id)).first()
    if referenced is None:
        session.delete(row)
        events.record(session, "archive.purge", row.filename, old_archive=archive_id)
    return [(p.bucket, p.key, p.kind) for p in dangling]


def vanished(cache: Cache) -> list[str]:
    """Live archive rows whose directory is missing (reads only)."""
    with cache.db.read() as session:
        ids = list(session.scalars(select(Archive.id).where(Archive.deleted_at.is_(None))))
    return [aid for aid in ids if not os.path.isdir(cache.archive_path(aid))]


def mark_vanished(cache: Cache, archive_id: str) -> bool:
    """Mark a live row whose tree is gone as deleted, then purge it like a collected archive."""
    path = cache.archive_path(archive_id)

    def _mark(session: Session) -> bool:
        row = session.get(Archive, archive_id)
        if row is None or row.deleted_at is not None or os.path.isdir(path):
            return False
        row.deleted_at = time.time()
        events.record(
            session,
            "archive.vanished",
            row.filename,
            old_archive=archive_id,
            detail="gc: its directory is missing",
        )
        return True

    # Under the lock, a store restoring the tree cannot be half-way through.
    with _lock(cache, archive_id):  # type: ignore[attr-defined]
        marked = cache.db.write(_mark)
    if marked:
        finish(cache, archive_id)
    return marked


# -- orphans: what no row knows ---------------------------------------------------


def _older_than(path: Path, cutoff: float) -> bool:
    try:
        return os.lstat(path).st_mtime <= cutoff
    except FileNotFoundError:
        return False


def find_orphans(cache: Cache, grace: float, *, dry_run: bool = False) -> list[Path]:
    """Unregistered entries of ``archive-v0/`` and ``tmp/`` older than ``grace`` (reads only)."""
    cutoff = time.time() - grace
    with cache.db.read() as session:
        known = set(session.scalars(select(Archive.id)))
    out: list[Path] = []
    layout = cache.layout
    for entry in _list(layout.archives):
        if entry.name not in known and _older_than(entry, cutoff):
            out.append(entry)
    with staging.unused(layout, create=not dry_run) as no_install_running:
        # With an install in flight, its downloads and unpacks live here: leave tmp/ be.
        for entry in _list(layout.tmp) if no_install_running else []:
            # trash-* is what discard() was removing when its process died: garbage at any age.
            if entry.name.startswith("trash-") or _older_than(entry, cutoff):
                out.append(entry)
    return out


def _list(directory: Path) -> list[Path]:
    try:
        return sorted(directory.iterdir())
    except FileNotFoundError:
        return []


def remove_orphan(cache: Cache, path: Path) -> bool:
    if path.parent == cache.layout.archives:
        with _lock(cache, path.name):  # type: ignore[attr-defined]
            with cache.db.read() as session:
                if session.get(Archive, path.name) is not None:
                    return False  # registered since we looked
            discard(path, cache.layout)
    else:
        _rmtree(path)
    if os.path.lexists(path):
        return False
    cache.db.write(lambda s: events.record(s, "orphan.delete", str(path.relative_to(cache.root))))
    return True


def _rmtree(path: Path) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


# -- pointer links on disk whose row is gone ---------------------------------------


def find_orphan_links(cache: Cache, grace: float) -> list[tuple[str, str]]:
    """``(bucket, key)`` of on-disk pointers with no row, plus stale temp links (reads only)."""
    cutoff = time.time() - grace
    out: list[tuple[str, str]] = []
    with cache.db.read() as session:
        rows = {(b, k) for b, k in session.execute(select(Pointer.bucket, Pointer.key))}
    for bucket in POINTER_BUCKETS:
        base = cache.root / bucket
        for source in _list(base):
            for name in _list(source) if source.is_dir() and not source.is_symlink() else []:
                for link in _list(name) if name.is_dir() and not name.is_symlink() else []:
                    key = f"{source.name}/{name.name}/{link.name}"
                    temp = link.name.startswith(".") and ".tmp-" in link.name
                    if temp and not _older_than(link, cutoff):
                        continue
                    if temp or (bucket, key) not in rows:
                        out.append((bucket, key))
    return out


def remove_orphan_link(cache: Cache, bucket: str, key: str) -> bool:
    with cache.db.read() as session:
        exists = session.scalars(
            select(Pointer.id).where(Pointer.bucket == bucket, Pointer.key == key)
        ).first()
    if exists is not None:
        return False
    path = cache.layout.pointer_path(bucket, key)
    if sys.platform != "win32" and os.path.isdir(path) and not os.path.islink(path):
        return False  # a real directory is not one of our links; leave it to a person
    links.remove_pointer(path)
    cache.db.write(
        lambda s: events.record(s, "orphan.delete", f"{bucket}/{key}", detail="pointer link")
    )
    return True
