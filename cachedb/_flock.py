"""An exclusive ``flock`` taken directly, where FileLock's bookkeeping is not needed.

FileLock takes the same ``flock``; importing it costs some 6 ms (a cold command
pays that before anything else) and each lock about 0.1 ms, against a few
microseconds here. Callers fall back to FileLock where this returns None.
"""

from __future__ import annotations

import errno
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
    except OSError as exc:
        refuse_link(path, exc)
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException as exc:
        os.close(fd)
        if isinstance(exc, OSError):
            return None
        raise
    return fd


def refuse_link(path: Path, exc: OSError | None = None) -> None:
    """Raise if ``path`` is a symbolic link: a lock file planted as one would make
    cachedb create or lock a file wherever it leads, outside the cache."""
    if (exc is not None and exc.errno == errno.ELOOP) or os.path.islink(path):
        from .errors import CacheError

        raise CacheError(f"refusing lock file {str(path)!r}: it is a symbolic link")


def file_lock(path: Path) -> AbstractContextManager[object]:
    """The lock on ``path`` (``exclusive``, FileLock where ``flock`` fails); never a link."""

    def fallback() -> AbstractContextManager[object]:
        from filelock import FileLock

        return FileLock(str(path))

    return exclusive(path, fallback)


@contextmanager
def exclusive(path: Path, fallback: Callable[[], AbstractContextManager[object]]) -> Iterator[None]:
    """Hold ``path``'s lock: the ``flock`` taken here, else ``fallback()`` (a FileLock on it)."""
    fd = flock(path)
    if fd is None:
        refuse_link(path)  # FileLock would follow it
        with fallback():
            yield
        return
    try:
        yield
    finally:
        os.close(fd)  # drops the lock
