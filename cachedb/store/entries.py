"""Where entries are written: archives registered and pointer rows moved, in plain SQL.

The statements run on sqlite3 itself (``db.lite``; through an ORM session on
other databases), so storing wheels imports neither SQLAlchemy nor Alembic.
Order, for crash safety: the verified tree is renamed into ``archive-v0/``,
then its rows are written, then the pointer's link on disk. A new archive's
rows and the pointer row that names it are one transaction.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..db.events import record_sql
from ..db.lite import Executor
from . import archive as archives
from . import catalog, pointers
from .unpack import UnpackedWheel, unpack_wheel

if TYPE_CHECKING:
    from .cache import Cache


class Gone:
    """The archive was collected between storing it and pointing at it."""


GONE = Gone()


@dataclass(frozen=True)
class Pointing:
    """A pointer to move in the transaction that registers a new archive."""

    bucket: str
    key: str
    lease: bool


@dataclass(frozen=True)
class Pointed:
    """The pointer was moved along with the registration; the lease id if one was asked for."""

    lease_id: int | None


def _is_live(cache: Cache, archive_id: str) -> bool:
    relpath = cache.read_sql(lambda run: archives.live_archive(run, archive_id))
    return relpath is not None and cache.canonical(relpath) is not None


def ensure_archive(
    cache: Cache,
    wheel: Path,
    archive_id: str,
    *,
    unpacked: UnpackedWheel | None = None,
    pointing: Pointing | None = None,
) -> Pointed | None:
    """Make ``archive-v0/<archive_id>`` hold ``wheel`` unpacked, registered in the database.

    ``unpacked`` is ``wheel`` already unpacked under ``tmp/`` (``unpack_wheel``);
    it is used instead of unpacking again, and consumed either way. With
    ``pointing``, a newly registered archive's pointer is moved in the same
    transaction (and its link written): the result is then ``Pointed``. None
    means the caller still has to ``point``.
    """
    try:
        if _is_live(cache, archive_id):
            return None
        if unpacked is None:
            # Unpack outside the lock: two racing processes both unpack, the second discards.
            unpacked = unpack_wheel(wheel, cache.layout.tmp, archive_id=archive_id)
        with cache.archive_lock(archive_id):
            if _is_live(cache, archive_id):
                return None
            # Probe the pointer kind (a file system check) before the transaction.
            kind = cache.pointer_kind if pointing is not None else ""
            archives.move_into_bucket(unpacked, cache.layout)
            now = time.time()
            tree = unpacked

            def _register(run: Executor) -> Pointed | None:
                archives.register(run, tree, cache.layout)
                if pointing is None:
                    return None
                return Pointed(_move_pointer(run, pointing, archive_id, kind, now))

            pointed = cache.write_sql(_register)
    finally:
        if unpacked is not None:
            archives.discard(unpacked.directory, cache.layout)
    if pointing is not None and pointed is not None:
        _write_link(cache, pointing.bucket, pointing.key, archive_id, kind)
    return pointed


def _move_pointer(
    run: Executor, pointing: Pointing, archive_id: str, kind: str, now: float
) -> int | None:
    """Insert or swap the pointer row (and lease the archive) in the caller's transaction."""
    bucket, key = pointing.bucket, pointing.key
    lease_id = catalog.acquire_leases(run, [archive_id])[0] if pointing.lease else None
    found = run(
        "SELECT archive_id, kind FROM pointers WHERE bucket = :b AND key = :k",
        {"b": bucket, "k": key},
    )
    if not found:
        run(
            "INSERT INTO pointers (bucket, key, archive_id, kind, created_at, updated_at)"
            " VALUES (:b, :k, :a, :kind, :now, :now)",
            {"b": bucket, "k": key, "a": archive_id, "kind": kind, "now": now},
        )
        record_sql(run, "pointer.insert", f"{bucket}/{key}", new_archive=archive_id)
        return lease_id
    old, old_kind = found[0]
    if old == archive_id and old_kind == kind:
        return lease_id
    run(
        "UPDATE pointers SET archive_id = :a, kind = :kind, updated_at = :now"
        " WHERE bucket = :b AND key = :k",
        {"a": archive_id, "kind": kind, "now": now, "b": bucket, "k": key},
    )
    record_sql(run, "pointer.swap", f"{bucket}/{key}", old_archive=old, new_archive=archive_id)
    return lease_id


def _write_link(cache: Cache, bucket: str, key: str, archive_id: str, kind: str) -> None:
    link = cache.layout.pointer_path(bucket, key)
    target = cache.archive_path(archive_id)
    if pointers.read_pointer(link, kind) != target:
        pointers.write_pointer(link, target, kind)


def point(cache: Cache, bucket: str, key: str, archive_id: str, lease: bool) -> int | None | Gone:
    """Move pointer ``bucket``/``key`` to the archive (row first, then the link on disk).

    Returns the lease id when ``lease`` is set, or GONE when gc collected the
    archive after it was stored (the caller stores it again).
    """
    kind = cache.pointer_kind
    now = time.time()

    def _swap(run: Executor) -> int | None | Gone:
        if archives.live_archive(run, archive_id) is None:
            return GONE  # gc took it after we checked: store it again
        return _move_pointer(run, Pointing(bucket, key, lease), archive_id, kind, now)

    result = cache.write_sql(_swap)
    if not isinstance(result, Gone):
        _write_link(cache, bucket, key, archive_id, kind)
    return result


def drop_pointer(
    cache: Cache, bucket: str, key: str, archive_id: str, reason: str, *, vanished: bool
) -> None:
    """Forget a pointer found broken at lookup, unless it was swapped meanwhile."""

    def _drop(run: Executor) -> None:
        found = run(
            "SELECT id, archive_id FROM pointers WHERE bucket = :b AND key = :k",
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
