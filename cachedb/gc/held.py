"""Which archives live leases hold, and dropping dead leases, in plain SQL.

A lease dies when it expires or, on the host that took it, when its process is
gone (the rule ``store.leases`` applies too). Installs take and release their
leases in ``store.catalog``; gc only reads them, and drops the dead ones.
"""

from __future__ import annotations

import time
from typing import Any

from .._process import host_id, pid_alive
from ..db.lite import Executor

_COLUMNS = "id, archive_id, pid, host, expires_at"


class _Liveness:
    """``is_live`` for lease rows, asking the kernel about each pid once."""

    def __init__(self) -> None:
        self.now = time.time()
        self.host = host_id()
        self._pids: dict[int, bool] = {}

    def __call__(self, row: tuple[Any, ...]) -> bool:
        _id, _archive, pid, host, expires_at = row
        if expires_at <= self.now:
            return False
        if host != self.host:
            return True  # another machine's process: only its expiry can tell
        if pid not in self._pids:
            self._pids[pid] = pid_alive(pid)
        return self._pids[pid]


def live_leased(run: Executor, archive_id: str | None = None) -> set[str]:
    """The archives (``archive_id``, or all) that a live lease holds."""
    if archive_id is None:
        rows = run(f"SELECT {_COLUMNS} FROM leases")
    else:
        rows = run(f"SELECT {_COLUMNS} FROM leases WHERE archive_id = :a", {"a": archive_id})
    live = _Liveness()
    return {row[1] for row in rows if live(row)}


def dead(run: Executor) -> list[int]:
    """Ids of leases that expired or whose process died (reads only)."""
    live = _Liveness()
    return [int(row[0]) for row in run(f"SELECT {_COLUMNS} FROM leases") if not live(row)]


def purge_dead(run: Executor) -> int:
    """Delete dead leases (in the caller's write transaction); returns how many."""
    ids = dead(run)
    for lease_id in ids:
        run("DELETE FROM leases WHERE id = :id", {"id": lease_id})
    return len(ids)
