"""Placing files atomically, with a journal that can undo one install.

A new path is created in place (one system call). An existing path is
replaced by creating the new file under a temporary name in the same
directory and renaming it over the old one, so a reader never sees a missing
or partial file; the old file is kept under a hard link until the install
commits, so a failed install can put it back.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable

# Directories of one depth made on two threads from this many on (below, a thread's
# start costs more than it saves).
_THREADED_LEVEL = 64


class Journal:
    """Everything one install created or replaced, so that a failure can undo it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._token = f".cachedb-{os.getpid()}-{os.urandom(4).hex()}"
        self._counter = 0
        self.placed: list[str] = []
        # Files placed by relative path under a directory (prefix ending in a separator,
        # paths): joined only if a rollback needs them.
        self._placed_under: list[tuple[str, list[str]]] = []
        self._backups: list[tuple[str, str]] = []  # (destination, saved old file)
        self._dirs: list[str] = []

    def make_dirs(self, dirs: Iterable[str]) -> None:
        """Create ``dirs`` and their missing parents, remembering which ones this call made.

        Parents come before children (one depth at a time), and a directory that
        exists answers ``mkdir`` with EEXIST: one system call per directory, no stat.
        A depth with many directories is made on two threads: ``mkdir`` allocates an
        inode and a block and releases the GIL for all of it, so two threads make
        them about twice as fast, and a large archive (thousands of locale
        directories) no longer leaves the other linking process idle at the end.
        The directory all of them are inside (site-packages, usually) is tried first:
        once it is there, its ancestors up to ``/`` need no ``mkdir`` each.
        """
        dirs = list(dirs)
        # A directory every one is inside: the one above their common prefix (as text:
        # comparing thousands of paths part by part would cost more than it saves).
        base = os.path.dirname(os.path.commonprefix([min(dirs), max(dirs)])) if dirs else ""
        present: set[str] = set()
        if base and self._make_dir(base, missing_parent_ok=True):
            while base not in present:
                present.add(base)
                base = _parent(base)
        wanted: set[str] = set()
        for directory in dirs:
            while directory not in wanted and directory not in present:
                wanted.add(directory)
                parent = _parent(directory)
                if parent == directory:
                    break
                directory = parent
        levels: dict[int, list[str]] = {}
        for path in wanted:
            depth = path.count(os.sep) + (path.count(os.altsep) if os.altsep else 0)
            levels.setdefault(depth, []).append(path)
        for depth in sorted(levels):
            level = levels[depth]
            if len(level) < _THREADED_LEVEL:
                for path in level:
                    self._make_dir(path)
            else:
                from .._threads import on_two_threads

                on_two_threads(self._make_dir, level, "mkdir")

    def _make_dir(self, path: str, *, missing_parent_ok: bool = False) -> bool:
        """Make ``path`` unless it is there; False (``missing_parent_ok``) if its parent is
        missing."""
        try:
            os.mkdir(path)
        except FileExistsError:
            return True  # already there (or made by a parallel install)
        except FileNotFoundError:
            if os.path.isdir(path):
                return True
            if missing_parent_ok:
                return False
            raise
        except PermissionError:
            # Above the environment (e.g. "/"), mkdir may be refused where the
            # directory certainly exists.
            if os.path.isdir(path):
                return True
            raise
        self._dirs.append(path)  # list.append is atomic; two threads may make a level
        return True

    def _temp_name(self, dst: str) -> str:
        with self._lock:
            self._counter += 1
            n = self._counter
        head, tail = os.path.split(dst)
        return os.path.join(head, f".{tail[:64]}{self._token}-{n}")

    def place(self, dst: str, create: Callable[[str], None]) -> None:
        """Make ``dst`` with ``create(path)``, which must fail if ``path`` exists."""
        try:
            create(dst)
        except FileExistsError:
            self.replace(dst, create)
        else:
            self.placed.append(dst)  # list.append is atomic; workers share the journal

    def placed_under(self, prefix: str, paths: list[str]) -> None:
        """Record that ``prefix + path`` was created for every path in ``paths``."""
        if paths:
            with self._lock:
                self._placed_under.append((prefix, paths))

    def replace(self, dst: str, create: Callable[[str], None]) -> None:
        """Replace the existing ``dst`` with ``create(path)``, keeping the old file until commit."""
        tmp = self._temp_name(dst)
        create(tmp)
        backup: str | None = tmp + ".old"
        try:
            os.link(dst, tmp + ".old", follow_symlinks=False)
        except OSError:
            backup = None
        try:
            _rename_over(tmp, dst)
        except BaseException:
            for path in (tmp, backup):
                if path is not None:
                    _unlink_quietly(path)
            raise
        with self._lock:
            self.placed.append(dst)
            if backup is not None:
                self._backups.append((dst, backup))

    def commit(self) -> None:
        for _, backup in self._backups:
            _unlink_quietly(backup)
        self._backups.clear()

    def rollback(self) -> None:
        restored = {dst for dst, _ in self._backups}
        for dst, backup in self._backups:
            try:
                _rename_over(backup, dst)
            except OSError:
                _unlink_quietly(backup)
        for path in self.placed:
            if path not in restored:
                _unlink_quietly(path)
        for prefix, paths in self._placed_under:
            for path in paths:
                _unlink_quietly(prefix + path)
        for directory in reversed(self._dirs):
            with contextlib.suppress(OSError):
                os.rmdir(directory)
        self.placed.clear()
        self._placed_under.clear()
        self._backups.clear()
        self._dirs.clear()


def _parent(path: str) -> str:
    """``os.path.dirname(path)``, by one cut at the last separator where that is its answer
    (a head that is neither empty nor ends in a separator): a warm install asks thousands."""
    if os.altsep is None:
        head = path.rpartition(os.sep)[0]
        if head and head[-1] != os.sep:
            return head
    return os.path.dirname(path)


def _rename_over(src: str, dst: str) -> None:
    """``os.replace``, and ``src`` gone afterwards in every case.

    When both names are links to one file (re-linking a hardlink onto itself),
    ``rename(2)`` does nothing and succeeds: ``src`` would stay beside ``dst``.
    """
    os.replace(src, dst)
    if os.path.lexists(src):
        _unlink_quietly(src)


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
