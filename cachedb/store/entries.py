"""Where entries are written: archives registered and pointer rows moved, in plain SQL.

The statements run on sqlite3 itself (``db.lite``; psycopg on PostgreSQL,
``db.pg``), so storing wheels imports neither SQLAlchemy nor Alembic.
Order, for crash safety: the verified trees are renamed into ``archive-v0/``,
then their rows are written, then the pointers' links on disk. The rows of
every new archive, the pointer rows that name them and the leases are one
transaction, however many wheels are stored together.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..db.dialect import for_update, lock_names
from ..db.events import Event, record_many, record_sql
from ..db.lite import Executor, insert_rows
from ..errors import CacheError
from . import archive as archives
from . import catalog, pointers
from .layout import Layout
from .unpack import UnpackedWheel, unpack_wheel

if TYPE_CHECKING:
    from .cache import Cache

# Tries at storing an archive gc keeps collecting between our look and our transaction.
ATTEMPTS = 5
_POINTER_COLUMNS = ("bucket", "key", "archive_id", "kind", "created_at", "updated_at")


@dataclass(frozen=True)
class Wanted:
    """One entry to store: pointer ``bucket``/``key`` at the archive of ``wheel``."""

    bucket: str
    key: str
    wheel: Path
    archive_id: str
    lease: bool


Todo = list[tuple[int, Wanted]]  # (position in the caller's list, entry)


def store(
    cache: Cache, wanted: Sequence[Wanted], trees: dict[str, UnpackedWheel]
) -> list[int | None]:
    """Store every entry of ``wanted``; returns their lease ids (None where none was asked for).

    ``trees`` holds wheels already unpacked under ``tmp/``, by archive id; the
    archives missing one are unpacked here. A tree leaves ``trees`` when it is
    moved into the cache or discarded; the caller discards what is left.
    Each pointer is moved in the transaction that registers its archive; an
    archive gc collects between our look and that transaction is stored again.
    """
    leases: dict[int, int | None] = {}
    pending = list(range(len(wanted)))
    for _attempt in range(ATTEMPTS):
        leases.update(_store_round(cache, [(i, wanted[i]) for i in pending], trees))
        pending = [i for i in pending if i not in leases]
        if not pending:
            return [leases[i] for i in range(len(wanted))]
    name = wanted[pending[0]].wheel.name
    raise CacheError(f"{name} keeps being collected while it is stored; is gc looping?")


def _live(cache: Cache, archive_ids: list[str]) -> set[str]:
    """Those of ``archive_ids`` registered and whose tree really is in ``archive-v0/``."""
    if not archive_ids:
        return set()
    rows = cache.read_sql(lambda run: archives.live_archives(run, archive_ids))
    return {aid for aid, relpath in rows.items() if cache.canonical(aid, relpath) is not None}


def _store_round(
    cache: Cache, todo: Todo, trees: dict[str, UnpackedWheel]
) -> dict[int, int | None]:
    """One try at storing ``todo``: the lease ids of the entries stored (gc took the others)."""
    layout = cache.layout
    ids = list(dict.fromkeys(w.archive_id for _, w in todo))
    live = _live(cache, ids)
    new = [aid for aid in ids if aid not in live]
    for _, w in todo:
        if w.archive_id in new and w.archive_id not in trees:
            # Unpacked outside the locks: two racing processes both unpack, the second discards.
            trees[w.archive_id] = unpack_wheel(w.wheel, layout.tmp, archive_id=w.archive_id)
    kind = cache.pointer_kind  # a file system probe: before the transaction
    with archives.locked(layout, new, cache.archive_lock):
        # Stored by a racing process since we looked: point at theirs (our tree goes below).
        raced = _live(cache, new)
        moved: list[UnpackedWheel] = []
        try:
            for aid in new:
                if aid not in raced:
                    archives.move_into_bucket(trees[aid], layout)
                    moved.append(trees.pop(aid))
        except BaseException:
            # Nothing names these yet and we hold their locks: take them out again.
            for tree in moved:
                archives.discard(layout.archive_dir(tree.archive_id), layout)
            raise
        now = time.time()
        leases = cache.write_sql(
            lambda run: _register_and_point(run, layout, moved, todo, kind, now)
        )
    for i, w in todo:
        if i in leases:
            _write_link(cache, w.bucket, w.key, w.archive_id, kind)
    for aid in {w.archive_id for i, w in todo if i in leases}:
        if aid in trees:  # the archive was there already
            archives.discard(trees.pop(aid).directory, layout)
    return leases


def _register_and_point(
    run: Executor, layout: Layout, moved: list[UnpackedWheel], todo: Todo, kind: str, now: float
) -> dict[int, int | None]:
    """Register ``moved``, then move every pointer of ``todo`` and lease (in the caller's txn).

    Returns the lease ids of the entries pointed; an entry whose archive gc marked
    deleted since we looked is left out (stored again by the next round).
    """
    # Pointer rows that may not exist yet: no two transactions insert one.
    lock_names(run, [f"pointer:{w.bucket}/{w.key}" for _, w in todo])
    registered = archives.register(run, moved, layout)
    filenames = {t.archive_id: t.filename for t in moved}
    others = list(dict.fromkeys(w.archive_id for _, w in todo if w.archive_id not in registered))
    # Locked: gc cannot mark them deleted before we commit the pointers and leases.
    alive = archives.live_archives(run, others, lock=True) if others else {}
    ready = [(i, w) for i, w in todo if w.archive_id in registered or w.archive_id in alive]
    current = {
        (bucket, key): (archive_id, kind)
        for bucket, key, archive_id, kind, _, _ in catalog.pointer_rows(
            run, [(w.bucket, w.key) for _, w in ready], lock="update"
        )
    }
    inserted = []
    events: list[Event] = []
    for _, w in ready:
        if w.archive_id in filenames:  # the archive's event before its first pointer's
            events.append(
                (registered[w.archive_id], filenames.pop(w.archive_id), None, w.archive_id, None)
            )
        subject = f"{w.bucket}/{w.key}"
        old = current.get((w.bucket, w.key))
        if old is None:
            inserted.append((w.bucket, w.key, w.archive_id, kind, now, now))
            events.append(("pointer.insert", subject, None, w.archive_id, None))
        elif old != (w.archive_id, kind):
            run(
                "UPDATE pointers SET archive_id = :a, kind = :kind, updated_at = :now"
                " WHERE bucket = :b AND key = :k",
                {"a": w.archive_id, "kind": kind, "now": now, "b": w.bucket, "k": w.key},
            )
            events.append(("pointer.swap", subject, old[0], w.archive_id, None))
    insert_rows(run, "pointers", _POINTER_COLUMNS, inserted)
    record_many(run, events)
    leased = [i for i, w in ready if w.lease]
    lease_ids = catalog.acquire_leases(run, [w.archive_id for _, w in ready if w.lease])
    leases: dict[int, int | None] = {i: None for i, _ in ready}
    leases.update(zip(leased, lease_ids, strict=True))
    return leases


def _write_link(cache: Cache, bucket: str, key: str, archive_id: str, kind: str) -> None:
    link = cache.layout.pointer_path(bucket, key)
    target = cache.archive_path(archive_id)
    if kind == pointers.SYMLINK and _new_symlink(link, target):
        return
    if pointers.read_pointer(link, kind) != target:
        pointers.write_pointer(link, target, kind)


def _new_symlink(link: Path, target: Path) -> bool:
    """Create the link where there is none yet: one step, so no temporary name to rename.

    A reader sees no link or this one (as with ``write_pointer``'s rename); where
    a link already exists, False, and ``write_pointer`` replaces it if need be.
    """
    pointers.check_parents(link)
    relative = os.path.relpath(target, link.parent)
    for _ in range(2):
        try:
            os.symlink(relative, link, target_is_directory=True)
            return True
        except FileNotFoundError:
            link.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            return False
    return False


def drop_pointer(
    cache: Cache, bucket: str, key: str, archive_id: str, reason: str, *, vanished: bool
) -> None:
    """Forget a pointer found broken at lookup, unless it was swapped meanwhile."""

    def _drop(run: Executor) -> None:
        found = run(
            "SELECT id, archive_id FROM pointers WHERE bucket = :b AND key = :k" + for_update(run),
            {"b": bucket, "k": key},
        )
        if not found or found[0][1] != archive_id:
            return  # someone else repaired or swapped it meanwhile
        run("DELETE FROM pointers WHERE id = :id", {"id": found[0][0]})
        if vanished:
            run(
                "UPDATE archives SET deleted_at = :now WHERE id = :a AND deleted_at IS NULL",
                {"now": time.time(), "a": archive_id},
            )
        record_sql(run, reason, f"{bucket}/{key}", old_archive=archive_id)

    cache.write_sql(_drop)
    pointers.remove_pointer(cache.layout.pointer_path(bucket, key))
