"""Writing to a file descriptor: every byte, however many ``os.write`` calls it takes;
replacing a file at once through a new sibling; reading a file never through a link."""

from __future__ import annotations

import contextlib
import os

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)  # not on Windows
# A new file only: never an existing one, never through a link planted at its name.
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW


def write_all(fd: int, data: bytes | memoryview) -> None:
    """Write all of ``data`` to ``fd`` (one call in the usual case, no copy after a short one)."""
    written = os.write(fd, data)
    if written < len(data):
        view = memoryview(data)
        while written < len(data):
            written += os.write(fd, view[written:])


def replace_file(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with a file holding ``data``, at once: written to a sibling of a
    name nobody can guess, made new (mode 0o666 less the umask), then renamed over it.
    On failure the sibling is removed and the error raised."""
    path = os.fspath(path)
    head, name = os.path.split(path)
    tmp = os.path.join(head, f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, _NEW, 0o666)
    try:
        try:
            write_all(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_nofollow(path: str | os.PathLike[str]) -> bytes:
    """The bytes of the file at ``path``; OSError if ``path`` itself is a link (a cache
    file planted as one would be read from outside the cache)."""
    with open(os.open(path, os.O_RDONLY | _NOFOLLOW), "rb") as fh:
        return fh.read()
