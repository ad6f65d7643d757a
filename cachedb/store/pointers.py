"""Where pointers are swapped: the on-disk links of ``wheels-v0/`` and ``built-wheels-v0/``.

The database row is the truth; these links exist for people and other tools.
POSIX gets relative symlinks (the cache can move), Windows junctions (no
privilege needed), and filesystems without links a one-line pointer file.
Every change writes the new link under a temporary name and renames it over
the old one, so a reader sees either the old or the new target, never neither.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

SYMLINK = "symlink"
JUNCTION = "junction"
FILE = "file"
KINDS = (SYMLINK, JUNCTION, FILE)

POINTER_KIND_ENV = "CACHEDB_POINTER_KIND"


def default_kind(directory: Path) -> str:
    """The best pointer kind this platform and filesystem support.

    ``CACHEDB_POINTER_KIND`` overrides the choice.
    """
    from .._settings import value

    forced = value("pointer-kind")
    if forced:
        if forced not in KINDS:
            from ..errors import UsageError

            raise UsageError(
                f"{POINTER_KIND_ENV} must be one of {', '.join(KINDS)}, not {forced!r}"
            )
        return forced
    if sys.platform == "win32":
        return JUNCTION
    probe = directory / f".probe-{os.urandom(4).hex()}"
    try:
        os.symlink("probe-target", probe)
    except OSError:
        return FILE
    os.unlink(probe)
    return SYMLINK


def _link_above(path: Path) -> Path | None:
    """The ``<source>/`` or ``<name>/`` folder above a pointer that is a symbolic link."""
    for parent in (path.parent, path.parent.parent):
        try:
            if stat.S_ISLNK(os.lstat(parent).st_mode):
                return parent
        except OSError:
            continue  # not there yet (made as a real directory), or unreadable
    return None


def check_parents(path: Path) -> None:
    """Refuse to write below a planted link: the folders above a pointer must be real."""
    linked = _link_above(path)
    if linked is not None:
        from ..errors import CacheError

        raise CacheError(
            f"refusing to write below {str(linked)!r}: it is a symbolic link"
            " (run `cachedb verify --repair`)"
        )


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.urandom(4).hex()}")


def write_pointer(path: Path, target: Path, kind: str) -> None:
    """Create or atomically replace the pointer at ``path`` so it points at ``target``."""
    check_parents(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == JUNCTION:
        _write_junction(path, target)
        return
    tmp = _temp_name(path)
    try:
        if kind == SYMLINK:
            os.symlink(os.path.relpath(target, path.parent), tmp, target_is_directory=True)
        else:
            relative = os.path.relpath(target, path.parent).replace(os.sep, "/")
            tmp.write_text(relative + "\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_junction(path: Path, target: Path) -> None:
    import _winapi  # type: ignore[import-not-found,unused-ignore]

    # A junction cannot be renamed over another directory entry, so it is re-created.
    tmp = _temp_name(path)
    _winapi.CreateJunction(str(target), str(tmp))  # type: ignore[attr-defined,unused-ignore]
    if os.path.lexists(path):
        os.rmdir(path) if os.path.isdir(path) else os.unlink(path)
    os.replace(tmp, path)


def read_pointer(path: Path, kind: str) -> Path | None:
    """Where the pointer at ``path`` leads (absolute, not resolved), or None if it is unreadable."""
    try:
        if kind == FILE:
            text = path.read_text().strip()
            return Path(os.path.normpath(path.parent / text))
        target = os.readlink(path)
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if target.startswith("\\\\?\\"):
        target = target[4:]
    return Path(os.path.normpath(path.parent / target))


def remove_pointer(path: Path) -> None:
    """Remove the pointer at ``path``; never through a linked folder (that is not ours)."""
    if _link_above(path) is not None:
        return
    try:
        if os.path.isdir(path) and not os.path.islink(path) and sys.platform == "win32":
            os.rmdir(path)
        else:
            os.unlink(path)
    except FileNotFoundError:
        pass
