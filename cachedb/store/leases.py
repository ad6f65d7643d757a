"""Leases: archives held by an install in flight, which gc must not collect.

An install takes its leases in the same write transaction that reads the
pointer rows, so gc (whose deciding transaction locks the archive row it
decides on) sees either the lease or no pointer: never a window in between. A
lease dies when its holder's heartbeats stop for a TTL (``store.heartbeat``) or,
on the host that took it, when its process is gone (``gc.held`` judges that), so
a crashed install or a dead host never pins an archive for long. Plain SQL
through ``Cache.write_sql``, like the rest of the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..db.lite import Executor
from . import catalog

if TYPE_CHECKING:
    from .cache import Cache

DEFAULT_TTL = catalog.LEASE_TTL  # CACHEDB_LEASE_TTL overrides it (``catalog.lease_ttl``)


def acquire(run: Executor, archive_ids: Iterable[str], *, ttl: float | None = None) -> list[int]:
    """Lease ``archive_ids`` for this process inside the caller's write transaction.

    Call it in the same ``write_sql`` function that read the pointer rows (with
    ``lock="share"``). Returns the lease ids, in the order of ``archive_ids``.
    """
    return catalog.acquire_leases(run, archive_ids, ttl=ttl)


def acquire_pointed(
    run: Executor, bucket: str, key: str, *, ttl: float | None = None
) -> tuple[str, int] | None:
    """Read pointer ``bucket``/``key`` and lease its live archive in one step.

    Returns ``(archive_id, lease_id)``, or None when there is no live entry.
    """
    rows = catalog.pointer_rows(run, [(bucket, key)], lock="share")
    live = [row[2] for row in rows if row[5] is None]
    if not live:
        return None
    return str(live[0]), acquire(run, live[:1], ttl=ttl)[0]


def release(cache: Cache, lease_ids: Sequence[int]) -> None:
    """Drop leases (their own short write transaction)."""
    cache.release(lease_ids)


@contextmanager
def holding(
    cache: Cache, archive_ids: Iterable[str], *, ttl: float | None = None
) -> Iterator[list[int]]:
    """Lease ``archive_ids`` for the duration of a ``with`` block.

    Only safe for archives the caller knows are live (for instance already
    leased, or just stored by this process); otherwise use ``acquire`` in the
    transaction that reads the pointers.
    """
    ids = list(archive_ids)
    lease_ids = cache.write_sql(lambda run: acquire(run, ids, ttl=ttl))
    try:
        yield lease_ids
    finally:
        release(cache, lease_ids)
