"""An exclusive ``flock`` taken directly, where FileLock's bookkeeping is not needed.

FileLock takes the same ``flock``; importing it costs some 6 ms (a cold command
pays that before anything else) and each lock about 0.1 ms, against a few
microseconds here. Callers fall back to FileLock where this returns None.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: FileLock's msvcrt locks instead
    fcntl = None  # type: ignore[assignment]


def flock(path: Path) -> int | None:
    """An open descriptor of ``path`` holding its exclusive lock (closing it drops the lock);
    None where ``flock`` is unavailable (no ``fcntl``, a file system without it)."""
    if fcntl is None:
        return None
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException as exc:
        os.close(fd)
        if isinstance(exc, OSError):
            return None
        raise
    return fd


@contextmanager
def exclusive(path: Path, fallback: Callable[[], AbstractContextManager[object]]) -> Iterator[None]:
    """Hold ``path``'s lock: the ``flock`` taken here, else ``fallback()`` (a FileLock on it)."""
    fd = flock(path)
    if fd is None:
        with fallback():
            yield
        return
    try:
        yield
    finally:
        os.close(fd)  # drops the lock
