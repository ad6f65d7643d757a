"""Keeping this process's leases alive while it runs: a heartbeat every quarter TTL.

A lease expires ``CACHEDB_LEASE_TTL`` seconds after its holder's last heartbeat,
so a host that dies or loses the database loses its leases soon, whatever its
pids mean elsewhere. The heartbeat is a daemon thread with a database connection
of its own (never the one the install is using), started once the process takes
a lease and stopped when the cache closes. It holds no lock another thread
waits for, so a fork meanwhile is safe (``forked.can_fork`` lets it run); a fork
takes no heartbeat along, and its leases are its parent's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from . import catalog

# The thread's name: ``forked.can_fork`` knows it holds nothing a child needs.
THREAD_NAME = "cachedb-lease-heartbeat"


# A connection of the heartbeat's own: (run a write transaction, close).
Connection = tuple[Callable[[Callable[[Any], int]], int], Callable[[], None]]


class Heartbeat:
    """Beats every ``ttl / 4`` seconds through ``connect()`` until ``stop``."""

    def __init__(self, connect: Callable[[], Connection], ttl: float) -> None:
        self._connect = connect
        self.ttl = ttl
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        db: Connection | None = None
        try:
            while not self._stopped.wait(self.ttl / 4):
                try:
                    if db is None:
                        db = self._connect()  # only an install that lasts needs one
                    db[0](lambda run: catalog.beat(run, self.ttl))
                except Exception:  # noqa: BLE001 - the next beat tries again
                    continue
        finally:
            if db is not None:
                db[1]()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=30)
