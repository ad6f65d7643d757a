"""Leases: archives held by an install in flight, which gc must not collect.

An install takes its leases in the same write transaction that reads the
pointer rows, so gc (whose deciding transaction is also a write transaction)
sees either the lease or no pointer: never a window in between. A lease dies
when it expires or, on the host that took it, when its process is gone, so a
crashed install never pins an archive for long.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from .._process import pid_alive, this_host
from ..db.engine import Database
from ..db.models import Archive, Lease, Pointer
from . import catalog

DEFAULT_TTL = catalog.LEASE_TTL


def is_live(lease: Lease, *, now: float | None = None, host: str | None = None) -> bool:
    now = time.time() if now is None else now
    if lease.expires_at <= now:
        return False
    if lease.host == (this_host() if host is None else host):
        return pid_alive(lease.pid)
    return True  # another machine's process: only its expiry can tell


def acquire(session: Session, archive_ids: Iterable[str], *, ttl: float = DEFAULT_TTL) -> list[int]:
    """Lease ``archive_ids`` for this process inside the caller's (write) transaction.

    Call it in the same ``db.write`` function that reads the pointer rows.
    Returns the lease ids, in the order of ``archive_ids``, for ``release``.
    """
    from ..db.engine import session_executor

    return catalog.acquire_leases(session_executor(session), archive_ids, ttl=ttl)


def acquire_pointed(
    session: Session, bucket: str, key: str, *, ttl: float = DEFAULT_TTL
) -> tuple[str, int] | None:
    """Read pointer ``bucket``/``key`` and lease its live archive in one step.

    Returns ``(archive_id, lease_id)``, or None when there is no live entry.
    """
    archive_id = session.scalars(
        select(Pointer.archive_id)
        .join(Archive, Archive.id == Pointer.archive_id)
        .where(Pointer.bucket == bucket, Pointer.key == key, Archive.deleted_at.is_(None))
    ).first()
    if archive_id is None:
        return None
    return archive_id, acquire(session, [archive_id], ttl=ttl)[0]


def release_in(session: Session, lease_ids: Sequence[int]) -> None:
    if lease_ids:
        session.execute(delete(Lease).where(Lease.id.in_(list(lease_ids))))


def release(db: Database, lease_ids: Sequence[int]) -> None:
    """Drop leases taken by ``acquire`` (its own short write transaction)."""
    if lease_ids:
        db.write(lambda session: release_in(session, lease_ids))


def renew(db: Database, lease_ids: Sequence[int], *, ttl: float = DEFAULT_TTL) -> None:
    if lease_ids:
        expires = time.time() + ttl
        db.write(
            lambda session: session.execute(
                update(Lease).where(Lease.id.in_(list(lease_ids))).values(expires_at=expires)
            )
        )


@contextmanager
def holding(
    db: Database, archive_ids: Iterable[str], *, ttl: float = DEFAULT_TTL
) -> Iterator[list[int]]:
    """Lease ``archive_ids`` for the duration of a ``with`` block.

    Only safe for archives the caller knows are live (for instance already
    leased, or just stored by this process); otherwise use ``acquire`` in the
    transaction that reads the pointers.
    """
    ids = list(archive_ids)
    lease_ids = db.write(lambda session: acquire(session, ids, ttl=ttl))
    try:
        yield lease_ids
    finally:
        release(db, lease_ids)


def live_leased(session: Session, archive_ids: Iterable[str] | None = None) -> set[str]:
    """The archives (of ``archive_ids``, or all) that a live lease holds."""
    query = select(Lease)
    if archive_ids is not None:
        query = query.where(Lease.archive_id.in_(list(archive_ids)))
    now, host = time.time(), this_host()
    return {
        lease.archive_id for lease in session.scalars(query) if is_live(lease, now=now, host=host)
    }


def purge_dead(session: Session) -> int:
    """Delete leases that expired or whose process died; returns how many."""
    now, host = time.time(), this_host()
    dead = [
        lease.id
        for lease in session.scalars(select(Lease))
        if not is_live(lease, now=now, host=host)
    ]
    release_in(session, dead)
    return len(dead)
