"""Stale memos: remembered answers in ``interpreters-v0/<host>/`` that gc removes.

Three kinds of answer are remembered there: a nothing-to-do install
(``noop-*.json``), a compile (``compile-*.json``) and an interpreter's answer to
the probe (``<32 hex digits>.json``, one per executable path, so one per venv ever
installed into). A new request (another working directory, another ``PATH``,
another venv) makes a new file, so without pruning they pile up. Such a memo is
stale, and gc removes it, when no run can use it again or none has for long:

- its interpreter is gone (the executable it names no longer exists);
- it is not a memo at all (not a JSON object: a damaged file);
- it has not been used for ``MAX_AGE`` (30 days), or for ``gc --max-age`` when
  given. Used is the later of its last write and its last read (the kernel's
  access time: a read moves it at most once a day under ``relatime``; on a
  ``noatime`` mount only writes count, and a memo removed too early costs one
  full run, which remembers it again).

A temporary file a killed writer left (``.noop-*.tmp``) goes once older than the
grace period. Only this host's directory is looked at: another host's
interpreters are not on this disk. gc reads a memo without moving its access time
(``O_NOATIME`` where the kernel allows it) and never through a link; what is not a
regular file it leaves alone. Removing a memo costs at most one full run (or one
start of the interpreter). Venv templates are gc/templates.py's.
"""

from __future__ import annotations

import json
import os
import re
import stat
import time
from pathlib import Path

from ..store.layout import Layout

# The names install/noop_memo.py and lock/_memo.py give their memos, and target/cache.py
# its answers (tests/test_gc_memos.py checks that gc finds the ones they write).
PREFIXES = ("noop-", "compile-")
_ANSWER = re.compile(r"[0-9a-f]{32}\.json")
MAX_AGE = 30 * 86400.0
_OPEN = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_NOATIME = getattr(os, "O_NOATIME", 0)


def host_entries(layout: Layout) -> list[os.DirEntry[str]]:
    """What this host's interpreter directory holds, by name; nothing where that
    directory is missing, or is a link or a file (never followed)."""
    try:
        if not stat.S_ISDIR(os.lstat(layout.interpreters).st_mode):
            return []
        with os.scandir(layout.interpreters) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError:
        return []


def find_stale(layout: Layout, *, grace: float, max_age: float | None) -> list[Path]:
    """The stale memos (and memo leftovers) of this host's interpreter directory (reads only)."""
    now = time.time()
    unused_before = now - (MAX_AGE if max_age is None else max_age)
    out: list[Path] = []
    for entry in host_entries(layout):
        name = entry.name
        leftover = name.startswith(".") and name.endswith(".tmp")
        if not _ours(name[1:] if leftover else name, leftover=leftover):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        if leftover:
            stale = st.st_mtime <= now - grace
        else:
            stale = max(st.st_atime, st.st_mtime) < unused_before or _useless(entry.path)
        if stale:
            out.append(Path(entry.path))
    return out


def _ours(name: str, *, leftover: bool) -> bool:
    """Whether ``name`` is a memo's (``leftover``: it starts with the name of the memo it
    was to replace)."""
    if name.startswith(PREFIXES):
        return True
    found = _ANSWER.match(name)
    return found is not None and (leftover or found.end() == len(name))


def _useless(path: str) -> bool:
    """Whether the memo at ``path`` can never answer again: damaged, or its interpreter gone."""
    data = _read(path)
    if data is None:
        return False  # vanished or unreadable meanwhile: nothing is known of it
    try:
        memo = json.loads(data)
    except ValueError:
        return True
    if not isinstance(memo, dict):
        return True
    exe = _executable(memo)
    # A relative path would be judged from gc's working directory: then nothing is known.
    return exe is not None and os.path.isabs(exe) and not os.path.exists(exe)


def _read(path: str) -> bytes | None:
    """The memo's bytes, read without moving its access time; None if it cannot be read."""
    try:
        try:
            fd = os.open(path, _OPEN | _NOATIME)
        except PermissionError:
            fd = os.open(path, _OPEN)  # O_NOATIME needs the file's owner
        with os.fdopen(fd, "rb") as fh:
            return fh.read()
    except OSError:
        return None


def _executable(memo: dict[str, object]) -> str | None:
    """The interpreter a memo was answered for: a noop memo's ``exe``, a compile memo's
    ``interpreter[0]``, an interpreter answer's ``stamp.executable``."""
    exe = memo.get("exe")
    if isinstance(exe, str):
        return exe
    interpreter = memo.get("interpreter")
    if isinstance(interpreter, list) and interpreter and isinstance(interpreter[0], str):
        return interpreter[0]
    stamp = memo.get("stamp")
    exe = stamp.get("executable") if isinstance(stamp, dict) else None
    return exe if isinstance(exe, str) else None


def remove(path: Path) -> bool:
    """Remove one stale memo found by ``find_stale``; False if it was already gone or
    cannot be removed (a memo left in place costs nothing but its bytes)."""
    try:
        os.unlink(path)
    except OSError:
        return False
    return True
