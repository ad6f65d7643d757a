"""Link modes: how one cache file becomes one environment file, and which mode works where.

Every ``create_*`` function makes a new file at ``dst`` and raises
FileExistsError if something is already there, so the caller can place files
without a separate existence check on the fast path (a fresh environment).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path

from ..errors import UsageError

LINK_MODES = ("clone", "hardlink", "copy", "symlink")

_FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int)

# Errors that mean "this kind of link is impossible here", not "this file is bad".
_UNSUPPORTED = frozenset(
    {
        errno.EXDEV,
        errno.EOPNOTSUPP,
        errno.ENOTSUP,
        errno.EINVAL,
        errno.ENOTTY,
        errno.ENOSYS,
        errno.EPERM,
        errno.EACCES,
        errno.EMLINK,
    }
)

CreateFile = Callable[[str, str], None]


# Archives hold no links (wheels with link entries are refused): one there was planted, and
# is linked or refused as itself, never followed out of the cache.
_NOFOLLOW = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def create_hardlink(src: str, dst: str) -> None:
    os.link(src, dst, follow_symlinks=False)


def create_symlink(src: str, dst: str) -> None:
    os.symlink(src, dst)


def create_copy(src: str, dst: str) -> None:
    source = os.open(src, _NOFOLLOW)
    try:
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        import shutil  # copies are rare: hard links and clones need none of it

        try:
            with open(source, "rb", closefd=False) as fsrc, open(fd, "wb", closefd=False) as out:
                shutil.copyfileobj(fsrc, out)
            os.fchmod(fd, stat.S_IMODE(os.fstat(source).st_mode))
        except BaseException:
            os.close(fd)
            _unlink_quietly(dst)
            raise
        os.close(fd)
    finally:
        os.close(source)


def _clone_darwin(src: str, dst: str) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    clonefile = getattr(libc, "clonefile", None)
    if clonefile is None:
        raise OSError(errno.ENOTSUP, "clonefile is not available", dst)
    if clonefile(os.fsencode(src), os.fsencode(dst), 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), dst)


def create_clone(src: str, dst: str) -> None:
    if sys.platform == "darwin":
        _clone_darwin(src, dst)
        return
    import fcntl

    with open(os.open(src, _NOFOLLOW), "rb") as source:
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            fcntl.ioctl(fd, _FICLONE, source.fileno())
            os.fchmod(fd, stat.S_IMODE(os.fstat(source.fileno()).st_mode))
        except BaseException:
            os.close(fd)
            _unlink_quietly(dst)
            raise
        os.close(fd)


def _with_copy_fallback(create: CreateFile) -> CreateFile:
    # The mode was probed for the directory pair, but one file can still refuse
    # (too many links, another filesystem mounted below the target): copy that one.
    def create_or_copy(src: str, dst: str) -> None:
        try:
            create(src, dst)
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in _UNSUPPORTED:
                raise
            create_copy(src, dst)

    return create_or_copy


def _hardlink_or_copy(src: str, dst: str) -> None:
    # _with_copy_fallback(create_hardlink) with one call less per file: a warm install
    # makes ten thousand of them.
    try:
        os.link(src, dst, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in _UNSUPPORTED:
            raise
        create_copy(src, dst)


def file_creator(mode: str) -> CreateFile:
    """The function that links one archive file into place for ``mode``."""
    if mode == "clone":
        return _with_copy_fallback(create_clone)
    if mode == "hardlink":
        return _hardlink_or_copy
    if mode == "copy":
        return create_copy
    if mode == "symlink":
        return create_symlink
    raise UsageError(f"unknown link mode {mode!r}; choose one of {', '.join(LINK_MODES)}")


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _sample_file(root: Path) -> str | None:
    """Any regular file under ``root``, found without walking a large tree."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames:
            path = os.path.join(dirpath, name)
            if os.path.isfile(path) and not os.path.islink(path):
                return path
        del dirnames[2:]
    return None


def _probe(mode: str, source_dir: Path, dest_dir: Path) -> bool:
    create = create_clone if mode == "clone" else create_hardlink
    made_source = None
    source = _sample_file(source_dir)
    try:
        if source is None:
            # Linking a real archive file is harmless; only an empty source needs a new one.
            import tempfile  # only then: the warm path never loads it

            fd, made_source = tempfile.mkstemp(prefix=".cachedb-probe-", dir=source_dir)
            os.write(fd, b"probe")
            os.close(fd)
            source = made_source
        target = os.path.join(dest_dir, f".cachedb-probe-{os.getpid()}-{os.urandom(4).hex()}")
        try:
            create(source, target)
        finally:
            _unlink_quietly(target)
    except OSError:
        return False
    finally:
        if made_source is not None:
            _unlink_quietly(made_source)
    return True


_probed: dict[tuple[str, int, int], bool] = {}


def link_mode_works(mode: str, source_dir: Path, dest_dir: Path) -> bool:
    """Whether ``mode`` can link files from ``source_dir`` into ``dest_dir`` (probed once)."""
    if mode in ("copy", "symlink"):
        return True
    try:
        # Probed in the very directory the files go to (made now, as linking would): never
        # in an ancestor, which may be outside the target (a new --target or --prefix).
        dest_dir.mkdir(parents=True, exist_ok=True)
        key = (mode, os.stat(source_dir).st_dev, os.stat(dest_dir).st_dev)
    except OSError:
        return False
    if key not in _probed:
        _probed[key] = _probe(mode, source_dir, dest_dir)
    return _probed[key]


_VERBS = {"clone": "clone (reflink)", "hardlink": "hardlink"}


def choose_link_mode(
    requested: str | None,
    source_dir: Path,
    dest_dir: Path,
    warn: Callable[[str], None] | None = None,
) -> str:
    """The link mode to use: the requested one if it works here, else the next that does.

    With no request, the fastest that works (clone, hardlink, copy) is chosen
    silently; an explicit clone or hardlink that cannot work falls back with one
    warning. copy and symlink are used as asked.
    """
    if requested is not None and requested not in LINK_MODES:
        raise UsageError(f"unknown link mode {requested!r}; choose one of {', '.join(LINK_MODES)}")
    if requested in ("copy", "symlink"):
        return requested
    order = ("clone", "hardlink", "copy")
    candidates = order[order.index(requested) :] if requested else order
    chosen = next(m for m in candidates if link_mode_works(m, source_dir, dest_dir))
    if requested is not None and chosen != requested and warn is not None:
        warn(
            f"cannot {_VERBS[requested]} files from {source_dir} to {dest_dir}; "
            f"using {chosen} instead"
        )
    return chosen
