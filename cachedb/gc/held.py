"""Which archives live leases hold, and dropping dead leases, in plain SQL.

A lease dies when it expires (its holder's heartbeats stopped for a whole TTL:
its host is down or cut off) or, on the host that took it, when its process is
gone: no process with its pid, or one that started at another time (the pid was
reused). Expiry is judged by the database's clock, which wrote the heartbeats.
Installs take and release their leases in ``store.catalog``; gc only reads them,
and drops the dead ones.
"""

from __future__ import annotations

from typing import Any

from .._process import host_id, process_alive
from ..db.dialect import db_now
from ..db.lite import Executor

_COLUMNS = "id, archive_id, pid, host, expires_at, started_at"


class _Liveness:
    """``is_live`` for lease rows, asking the kernel about each process once.

    ``now`` is the database's clock, which every host's heartbeats were written by.
    """

    def __init__(self, now: float) -> None:
        self.now = now
        self.host = host_id()
        self._processes: dict[tuple[int, float | None], bool] = {}

    def __call__(self, row: tuple[Any, ...]) -> bool:
        _id, _archive, pid, host, expires_at, started_at = row
        if expires_at <= self.now:
            return False  # no heartbeat for a whole TTL: its host or its process is gone
        if host != self.host:
            return True  # another machine's process: only its heartbeats can tell
        key = (int(pid), started_at)
        if key not in self._processes:
            self._processes[key] = process_alive(*key)
        return self._processes[key]


def live_leased(run: Executor, archive_id: str | None = None) -> set[str]:
    """The archives (``archive_id``, or all) that a live lease holds."""
    if archive_id is None:
        rows = run(f"SELECT {_COLUMNS} FROM leases")
    else:
        rows = run(f"SELECT {_COLUMNS} FROM leases WHERE archive_id = :a", {"a": archive_id})
    live = _Liveness(db_now(run))
    return {row[1] for row in rows if live(row)}


def dead(run: Executor) -> list[int]:
    """Ids of leases that expired or whose process died (reads only)."""
    live = _Liveness(db_now(run))
    return [int(row[0]) for row in run(f"SELECT {_COLUMNS} FROM leases") if not live(row)]


def purge_dead(run: Executor) -> int:
    """Delete dead leases (in the caller's write transaction); returns how many."""
    ids = dead(run)
    for lease_id in ids:
        run("DELETE FROM leases WHERE id = :id", {"id": lease_id})
    return len(ids)
