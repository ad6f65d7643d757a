"""One writer per environment: the exclusive lock ``install`` and ``uninstall`` hold.

Two installs into one environment that each read what is installed, then
remove and link files, would interleave their changes (two versions' files
under one name, two dist-infos). The lock is held from before the environment
is read until its new state is recorded, so writers take turns; readers
(``list``) do not take it.

Like uv, the lock file is ``.lock`` at the root of a virtual environment. An
interpreter that is not in one (``--python /usr/bin/python3``), or a venv we
cannot write the lock file into, is locked by a file in the cache's ``locks/``
named after the environment's path instead. The file is opened without
following links, and is left in place: removing a lock file that another
process may be about to lock would let two processes hold "the" lock at once.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from cachedb._digest import sha256_hex
from cachedb.errors import InstallError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: installs into one env are not serialised
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".lock"
# How long a second writer waits quietly before saying why it is waiting.
QUIET_WAIT = 1.0
_POLL = 0.05


def _open(path: Path) -> int:
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    return os.open(path, flags, 0o666)


def lock_path(prefix: Path, locks_dir: Path) -> Path:
    """Where the lock of the environment at ``prefix`` lives (see the module docstring)."""
    if (prefix / "pyvenv.cfg").is_file():
        return prefix / LOCK_NAME
    return _fallback(prefix, locks_dir)


def _fallback(prefix: Path, locks_dir: Path) -> Path:
    digest = sha256_hex(os.fsencode(os.path.abspath(prefix)))[:16]
    return locks_dir / f"env-{digest}.lock"


def _open_lock(prefix: Path, locks_dir: Path) -> tuple[int, Path]:
    path = lock_path(prefix, locks_dir)
    try:
        return _open(path), path
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InstallError(
                f"refusing to lock {prefix}: its lock file {path} is a symbolic link"
            ) from None
        if path.parent == locks_dir or exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise InstallError(f"cannot lock {prefix}: {exc.strerror or exc} ({path})") from None
    # A venv we may not write the lock into: the install will say why if it writes at all.
    path = _fallback(prefix, locks_dir)
    try:
        return _open(path), path
    except OSError as exc:
        raise InstallError(f"cannot lock {prefix}: {exc.strerror or exc} ({path})") from None


def _try(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextmanager
def environment_lock(
    prefix: Path, locks_dir: Path, *, wait: bool, waiting: Callable[[str], None]
) -> Iterator[None]:
    """Hold the environment at ``prefix`` exclusively for the block.

    Another writer holding it makes this wait, calling ``waiting(message)`` once
    after about a second; without ``wait``, InstallError at once.
    """
    if fcntl is None:
        yield
        return
    fd, path = _open_lock(prefix, locks_dir)
    try:
        try:
            free = _try(fd)
        except OSError:
            free = True  # a file system without flock: writers are not serialised there
        if not free:
            if not wait:
                raise InstallError(
                    f"environment {prefix} is being changed by another process "
                    f"(lock {path} is held; --no-wait was given)"
                )
            deadline = time.monotonic() + QUIET_WAIT
            while not _try(fd):
                if time.monotonic() >= deadline:
                    waiting(f"Waiting for another process to finish changing {prefix} ({path})")
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    break
                time.sleep(_POLL)
        yield
    finally:
        os.close(fd)  # drops the lock


__all__ = ["LOCK_NAME", "environment_lock", "lock_path"]
