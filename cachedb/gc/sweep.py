"""Removing what gc decided to collect, one archive at a time.

Order (docs/guarantees.md, "Crashes"): the transaction that re-checks a candidate also
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
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import _pause
from ..db.dialect import db_now, for_update
from ..db.events import record_sql
from ..db.lite import Executor
from ..store import Cache, staging
from ..store import pointers as links
from ..store.layout import POINTER_BUCKETS, is_archive_id
from . import held, roots
from .policy import Candidate, Options

Dropped = list[tuple[str, str, str]]  # (bucket, key, kind) of pointer rows deleted


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


def _discard(cache: Cache, path: Path) -> None:
    if os.path.islink(path) or (os.path.lexists(path) and not os.path.isdir(path)):
        # A file or a link is gone in one step (never following a link); moved into
        # tmp/ first it would only be left there, as rmtree takes directories alone.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    # Imported here, as only a removal needs it (and store.archive may load the ORM).
    from ..store.archive import discard

    discard(path, cache.layout)


def _pointers_of(run: Executor, archive_id: str) -> list[tuple[int, str, str, str]]:
    """The pointer rows leading to ``archive_id``, locked: a store cannot swap them meanwhile."""
    return [
        (r[0], r[1], r[2], r[3])
        for r in run(
            "SELECT id, bucket, key, kind FROM pointers WHERE archive_id = :a ORDER BY id"
            + for_update(run),
            {"a": archive_id},
        )
    ]


def _archive_row(run: Executor, archive_id: str, columns: str) -> list[tuple[Any, ...]]:
    """``columns`` of the archive's row, locked until the transaction ends.

    Every check-then-act transaction on an archive (gc marking and purging it, a
    store reviving it, an install leasing it) locks its row first, so on
    PostgreSQL they take turns as SQLite's one writer at a time does.
    """
    return run(f"SELECT {columns} FROM archives WHERE id = :a" + for_update(run), {"a": archive_id})


def collect(cache: Cache, candidate: Candidate, options: Options) -> Collected | None:
    """Re-check ``candidate``, mark it deleted (dropping its pointers when evicting), remove it.

    Returns None when the candidate is no longer collectable.
    """
    aid = candidate.archive_id

    def _mark(run: Executor) -> tuple[Collected, Dropped] | None:
        found_row = _archive_row(
            run, aid, "filename, unpacked_size, created_at, last_used_at, deleted_at"
        )
        if not found_row or found_row[0][4] is not None:
            return None
        filename, size, created_at, last_used_at, _deleted = found_row[0]
        now = db_now(run)
        if candidate.respect_grace and created_at > now - options.grace:
            return None
        if candidate.reason in ("max-age", "max-size") and last_used_at > candidate.last_used_at:
            return None  # used since we planned: no longer the least recently used
        found = _pointers_of(run, aid)
        if found and not candidate.evicting:
            return None
        modes = roots.living_install_modes(run, aid).get(aid, set())
        keep = bool(held.live_leased(run, aid)) or roots.protects(
            modes, evicting=candidate.evicting, keep_installed=options.keep_installed
        )
        _pause.point("gc.decide")
        if keep and not (candidate.unlink and found):
            return None
        detail = f"gc: {candidate.reason}"
        for pointer_id, bucket, key, _kind in found:
            run("DELETE FROM pointers WHERE id = :id", {"id": pointer_id})
            record_sql(run, "pointer.delete", f"{bucket}/{key}", old_archive=aid, detail=detail)
        dropped = [(bucket, key, kind) for _id, bucket, key, kind in found]
        if keep:
            return Collected(aid, filename, 0, candidate.reason, len(found), False), dropped
        run("UPDATE archives SET deleted_at = :now WHERE id = :a", {"now": now, "a": aid})
        record_sql(
            run, "archive.delete", filename, old_archive=aid, detail=f"{detail}; {size} bytes"
        )
        return Collected(aid, filename, size, candidate.reason, len(found), True), dropped

    marked = cache.write_sql(_mark)
    if marked is None:
        return None
    collected, dropped = marked
    _remove_links(cache, aid, dropped)
    if collected.removed:
        finish(cache, aid)
    return collected


def _remove_links(cache: Cache, archive_id: str, dropped: Dropped) -> None:
    target = cache.archive_path(archive_id)
    for bucket, key, kind in dropped:
        path = cache.layout.pointer_path(bucket, key)
        # A store may have re-created the entry meanwhile, pointing elsewhere: leave that.
        if links.read_pointer(path, kind) == target:
            links.remove_pointer(path)


def _deleted_at(run: Executor, archive_id: str) -> tuple[bool, float | None]:
    """Whether the archive has a row, and its ``deleted_at``."""
    rows = run("SELECT deleted_at FROM archives WHERE id = :a", {"a": archive_id})
    return (True, rows[0][0]) if rows else (False, None)


def finish(cache: Cache, archive_id: str) -> bool:
    """Remove the directory of an archive marked deleted, then purge its rows.

    Returns whether a directory was removed. A row revived meanwhile by a store
    is left alone. Rows still referenced by installs of living environments stay
    as tombstones (``deleted_at`` set, no files) so those install records remain.
    """
    path = cache.archive_path(archive_id)
    with _lock(cache, archive_id):  # type: ignore[attr-defined]
        has_row, deleted_at = cache.read_sql(lambda run: _deleted_at(run, archive_id))
        if has_row and deleted_at is None:
            return False  # revived
        existed = os.path.lexists(path)
        _discard(cache, path)
        dangling: Dropped = []
        if has_row:
            dangling = cache.write_sql(lambda run: _purge(run, archive_id))
    _remove_links(cache, archive_id, dangling)
    return existed


def _purge(run: Executor, archive_id: str) -> Dropped:
    found = _archive_row(run, archive_id, "filename, deleted_at")
    if not found or found[0][1] is None:
        return []
    filename = found[0][0]
    # A store that raced with the marking transaction may have pointed at it since.
    dangling = _pointers_of(run, archive_id)
    for pointer_id, bucket, key, _kind in dangling:
        run("DELETE FROM pointers WHERE id = :id", {"id": pointer_id})
        record_sql(
            run,
            "pointer.dangling",
            f"{bucket}/{key}",
            old_archive=archive_id,
            detail="gc: its archive was collected",
        )
    run("DELETE FROM installs WHERE archive_id = :a AND removed_at IS NOT NULL", {"a": archive_id})
    run("DELETE FROM archive_files WHERE archive_id = :a", {"a": archive_id})
    if not run("SELECT id FROM installs WHERE archive_id = :a LIMIT 1", {"a": archive_id}):
        run("DELETE FROM archives WHERE id = :a", {"a": archive_id})
        record_sql(run, "archive.purge", filename, old_archive=archive_id)
    return [(bucket, key, kind) for _id, bucket, key, kind in dangling]


# -- what archive-v0/ holds ------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    """One scan of ``archive-v0/``: entry names, and whether each is a directory.

    Shared by the vanished-archive check and the orphan search; both re-check
    under the archive's lock before changing anything, so a listing a little
    older than the moment of acting is safe.
    """

    entries: dict[str, bool]  # name -> is a directory (following a link, like os.path.isdir)

    @classmethod
    def scan(cls, directory: Path) -> Listing:
        try:
            with os.scandir(directory) as it:
                return cls({e.name: _is_dir(e) for e in it})
        except FileNotFoundError:
            return cls({})


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def vanished(ids: Iterable[str], listing: Listing) -> list[str]:
    """Of live archive ``ids``, those without a directory in ``listing``."""
    return [aid for aid in ids if not listing.entries.get(aid, False)]


def mark_vanished(cache: Cache, archive_id: str) -> bool:
    """Mark a live row whose tree is gone as deleted, then purge it like a collected archive."""
    path = cache.archive_path(archive_id)

    def _mark(run: Executor) -> bool:
        found = _archive_row(run, archive_id, "filename, deleted_at")
        if not found or found[0][1] is not None or os.path.isdir(path):
            return False
        run(
            "UPDATE archives SET deleted_at = :now WHERE id = :a",
            {"now": time.time(), "a": archive_id},
        )
        record_sql(
            run,
            "archive.vanished",
            found[0][0],
            old_archive=archive_id,
            detail="gc: its directory is missing",
        )
        return True

    # Under the lock, a store restoring the tree cannot be half-way through.
    with _lock(cache, archive_id):  # type: ignore[attr-defined]
        marked = cache.write_sql(_mark)
    if marked:
        finish(cache, archive_id)
    return marked


# -- orphans: what no row knows ---------------------------------------------------


def _older_than(path: str | Path, cutoff: float) -> bool:
    try:
        return os.lstat(path).st_mtime <= cutoff
    except FileNotFoundError:
        return False


def find_orphans(
    cache: Cache,
    grace: float,
    listing: Listing,
    known: Iterable[str],
    *,
    dry_run: bool = False,
) -> list[Path]:
    """Unregistered entries of ``archive-v0/`` and ``tmp/`` older than ``grace`` (reads only).

    ``archive-v0/`` is taken from ``listing``; ``known`` are archive ids the
    caller read from the database (rows, deleted or not), so only the other
    names need asking about.
    """
    cutoff = time.time() - grace
    layout = cache.layout
    unknown = sorted(set(listing.entries).difference(known))
    if unknown:
        registered = set(cache.read_sql(lambda run: [n for n in unknown if _deleted_at(run, n)[0]]))
        unknown = [n for n in unknown if n not in registered]
    out = [layout.archives / n for n in unknown if _older_than(layout.archives / n, cutoff)]
    with staging.unused(layout, create=not dry_run) as no_install_running:
        # With an install in flight, its downloads and unpacks live here: leave tmp/ be.
        for name in _names(layout.tmp) if no_install_running else []:
            entry = layout.tmp / name
            # trash-* is what discard() was removing when its process died: garbage at any age.
            if name.startswith("trash-") or _older_than(entry, cutoff):
                out.append(entry)
    return out


def _names(directory: Path | str) -> list[str]:
    try:
        return sorted(os.listdir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return []


def remove_orphan(cache: Cache, path: Path) -> bool:
    if path.parent == cache.layout.archives and is_archive_id(path.name):
        with _lock(cache, path.name):  # type: ignore[attr-defined]
            if cache.read_sql(lambda run: _deleted_at(run, path.name))[0]:
                return False  # registered since we looked
            _discard(cache, path)
    else:
        _rmtree(path)
    if os.path.lexists(path):
        return False
    subject = str(path.relative_to(cache.root))
    cache.write_sql(lambda run: record_sql(run, "orphan.delete", subject))
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
    rows = cache.read_sql(
        lambda run: {f"{b}/{k}" for b, k in run("SELECT bucket, key FROM pointers")}
    )
    for bucket in POINTER_BUCKETS:
        base = os.path.join(cache.root, bucket)
        for source in _subdirectories(base):
            source_dir = os.path.join(base, source)
            for name in _subdirectories(source_dir):
                name_dir = os.path.join(source_dir, name)
                prefix = f"{source}/{name}/"
                for link in _names(name_dir):
                    temp = link.startswith(".") and ".tmp-" in link
                    if temp and not _older_than(os.path.join(name_dir, link), cutoff):
                        continue
                    if temp or f"{bucket}/{prefix}{link}" not in rows:
                        out.append((bucket, prefix + link))
    return out


def _subdirectories(directory: str) -> list[str]:
    """Names of the real directories (not links to one) in ``directory``, sorted."""
    try:
        with os.scandir(directory) as it:
            return sorted(e.name for e in it if _is_real_dir(e))
    except (FileNotFoundError, NotADirectoryError):
        return []


def _is_real_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def remove_orphan_link(cache: Cache, bucket: str, key: str) -> bool:
    exists = cache.read_sql(
        lambda run: run(
            "SELECT id FROM pointers WHERE bucket = :b AND key = :k", {"b": bucket, "k": key}
        )
    )
    if exists:
        return False
    path = cache.root / bucket / key  # found by listing the bucket, so inside it
    if sys.platform != "win32" and os.path.isdir(path) and not os.path.islink(path):
        return False  # a real directory is not one of our links; leave it to a person
    links.remove_pointer(path)
    cache.write_sql(
        lambda run: record_sql(run, "orphan.delete", f"{bucket}/{key}", detail="pointer link")
    )
    return True
