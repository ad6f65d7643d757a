"""Who is using ``tmp/``: installs in flight, so that gc leaves their staging alone.

An install holds a shared lock on ``locks/staging.lock`` from before it creates
anything under ``tmp/`` until it is done. gc removes ``tmp/`` leftovers only
while it can take that lock exclusively, that is when no install is running:
then every entry there belongs to a process that finished or died, and no
later process reuses a name (they are random). So ``gc --grace 0s`` cannot
pull a download or an unpack out from under a running install.

The kernel drops a lock when its process dies, so a killed install never
blocks gc. Where ``fcntl`` is missing (Windows) the lock is a no-op and only
the grace period protects staging directories.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from .._flock import refuse_link
from .layout import Layout

LOCK_NAME = "staging.lock"

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]


def _open(layout: Layout, *, create: bool = True) -> int | None:
    if fcntl is None:
        return None
    flags = os.O_RDWR | (os.O_CREAT if create else 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        return os.open(layout.locks / LOCK_NAME, flags, 0o666)
    except OSError as exc:
        refuse_link(layout.locks / LOCK_NAME, exc)
        return None  # missing, or a read-only cache (where nothing can be staged anyway)


@contextlib.contextmanager
def in_use(layout: Layout) -> Iterator[None]:
    """Mark ``tmp/`` as in use by this process for the duration of the block."""
    fd = _open(layout)
    if fd is None:
        yield
        return
    try:
        # Waits only while a gc is sweeping tmp/ (it holds the lock for that alone).
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # also releases the lock


@contextlib.contextmanager
def unused(layout: Layout, *, create: bool = True) -> Iterator[bool]:
    """Whether no install is using ``tmp/``; while True, none can start until the block ends.

    Without ``create`` (a report that changes nothing), a missing lock file means
    no install is running.
    """
    fd = _open(layout, create=create)
    if fd is None:
        yield fcntl is None or (not create and not (layout.locks / LOCK_NAME).exists())
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True
    finally:
        os.close(fd)
