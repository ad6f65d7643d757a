"""Where entries are written: archives registered and pointer rows moved, through the ORM.

Storing is the cold path (a download and an unpack dwarf SQLAlchemy's import),
so it uses the models; ``cache.Cache`` imports this module only when it stores.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import events
from ..db.models import Archive, Pointer
from . import archive as archives
from . import leases, pointers
from .unpack import unpack_wheel

if TYPE_CHECKING:
    from .cache import Cache


class Gone:
    """The archive was collected between storing it and pointing at it."""


GONE = Gone()


def ensure_archive(cache: Cache, wheel: Path, archive_id: str) -> None:
    """Make ``archive-v0/<archive_id>`` hold ``wheel`` unpacked, registered in the database."""
    with cache.db.read() as session:
        live = archives.live_archive(session, archive_id)
    if live is not None and cache.canonical(live.relpath) is not None:
        return
    # Unpack outside the lock: two racing processes both unpack, the second discards.
    unpacked = unpack_wheel(wheel, cache.layout.tmp, archive_id=archive_id)
    try:
        with cache.archive_lock(archive_id):
            with cache.db.read() as session:
                live = archives.live_archive(session, archive_id)
            if live is not None and cache.canonical(live.relpath) is not None:
                return
            archives.move_into_bucket(unpacked, cache.layout)

            def _register(session: Session) -> None:
                row = session.get(Archive, archive_id)
                if row is not None and row.deleted_at is None:
                    # A live row whose tree vanished: the tree was just restored.
                    events.record(session, "archive.restore", row.filename, new_archive=row.id)
                    return
                archives.register(session, unpacked, cache.layout)

            cache.db.write(_register)
    finally:
        archives.discard(unpacked.directory, cache.layout)


def point(cache: Cache, bucket: str, key: str, archive_id: str, lease: bool) -> int | None | Gone:
    """Move pointer ``bucket``/``key`` to the archive (row first, then the link on disk).

    Returns the lease id when ``lease`` is set, or GONE when gc collected the
    archive after it was stored (the caller stores it again).
    """
    kind = cache.pointer_kind
    now = time.time()

    def _swap(session: Session) -> int | None | Gone:
        archive = session.get(Archive, archive_id)
        if archive is None or archive.deleted_at is not None:
            return GONE  # gc took it after we checked: store it again
        lease_id = leases.acquire(session, [archive_id])[0] if lease else None
        row = session.scalars(
            select(Pointer).where(Pointer.bucket == bucket, Pointer.key == key)
        ).first()
        if row is None:
            session.add(
                Pointer(
                    bucket=bucket,
                    key=key,
                    archive_id=archive_id,
                    kind=kind,
                    created_at=now,
                    updated_at=now,
                )
            )
            events.record(session, "pointer.insert", f"{bucket}/{key}", new_archive=archive_id)
            return lease_id
        old = row.archive_id
        if old == archive_id and row.kind == kind:
            return lease_id
        row.archive_id = archive_id
        row.kind = kind
        row.updated_at = now
        events.record(
            session, "pointer.swap", f"{bucket}/{key}", old_archive=old, new_archive=archive_id
        )
        return lease_id

    result = cache.db.write(_swap)
    if isinstance(result, Gone):
        return result
    link = cache.layout.pointer_path(bucket, key)
    target = cache.archive_path(archive_id)
    if pointers.read_pointer(link, kind) != target:
        pointers.write_pointer(link, target, kind)
    return result


def drop_pointer(
    cache: Cache, bucket: str, key: str, archive_id: str, reason: str, *, vanished: bool
) -> None:
    """Forget a pointer found broken at lookup, unless it was swapped meanwhile."""

    def _drop(session: Session) -> None:
        row = session.scalars(
            select(Pointer).where(Pointer.bucket == bucket, Pointer.key == key)
        ).first()
        if row is None or row.archive_id != archive_id:
            return  # someone else repaired or swapped it meanwhile
        session.delete(row)
        if vanished:
            archive = session.get(Archive, archive_id)
            if archive is not None and archive.deleted_at is None:
                archive.deleted_at = time.time()
        events.record(session, reason, f"{bucket}/{key}", old_archive=archive_id)

    cache.db.write(_drop)
    pointers.remove_pointer(cache.layout.pointer_path(bucket, key))
