"""Remembering a nothing-to-do answer, so that the same request against the same,
unchanged environment is answered without parsing anything.

``noop.nothing_to_do`` costs the import of ``packaging`` (requirements, markers,
tags: about half a nothing-to-do run). Its answer depends only on the options
(command line, variables and configuration files, all in ``InstallOptions``), the
working directory and ``VIRTUAL_ENV``/``PATH`` (which find the target), the text of
the requirement and constraint files, the target interpreter (its stamp, as the
interpreter cache keeps it) and the installed distributions it read. A memo keeps
all of these: the key exactly, the files' text exactly, and of the environment
the status (mtime, ctime, size, inode) of its library directories and of each
distribution's dist-info directory, METADATA and RECORD. Any difference and the
memo is not used. A status is trusted only if it is older than ``SETTLED`` (``cachedb._memo``)
when the memo is written (like git's racy-index rule: a change within the same
clock tick would not show), and nothing is remembered for requirement files that
hold options (they may include other files) or ``$`` (variables), nor for
environments holding a dist-info without RECORD or two of one name.
"""

from __future__ import annotations

import json
import os
import time
import zlib
from collections.abc import Iterable
from pathlib import Path

from .._memo import plain_text, read_memo, read_regular, settled, status, write_memo

TYPE_CHECKING = False  # typing's, without importing typing (about 12M instructions)
if TYPE_CHECKING:
    from typing import Any

    from ..target import Interpreter
    from .options import InstallOptions

FORMAT = 1
_PREFIX = "noop-"


def _key(opts: InstallOptions) -> dict[str, Any] | None:
    """What the answer depends on besides the environment; None if not rememberable."""
    from .. import __version__

    files: dict[str, str] = {}
    for name in (*opts.requirement_files, *opts.constraint_files):
        # Only a regular file: what is read from standard input, a pipe (-r <(...)) or a
        # device the install would not find there again.
        data = None if name == "-" else read_regular(name, strict=False)[0]
        if data is None:
            return None
        text = data.decode("utf-8", "surrogateescape")
        if not plain_text(text):
            return None
        files[name] = text
    return {
        "format": FORMAT,
        "cachedb": __version__,
        "options": repr(sorted(vars(opts).items())),
        "cwd": os.getcwd(),
        "virtual_env": os.environ.get("VIRTUAL_ENV"),
        "path": os.environ.get("PATH"),
        "files": files,
    }


def _memo_file(directory: Path, key: dict[str, Any]) -> Path:
    crc = zlib.crc32(json.dumps(key, sort_keys=True).encode("utf-8", "surrogateescape"))
    return directory / f"{_PREFIX}{crc:08x}.json"


def _paths(lib_dirs: Iterable[str], dist_infos: Iterable[Path]) -> list[str]:
    out = list(lib_dirs)
    for dist_info in dist_infos:
        out += [str(dist_info), str(dist_info / "METADATA"), str(dist_info / "RECORD")]
    return out


def lib_dirs(interp: Interpreter) -> list[str]:
    """The directories ``installed_distributions`` reads, as it normalises them."""
    dirs: list[str] = []
    for key in ("purelib", "platlib"):
        value = interp.scheme.get(key)
        if value and os.path.normpath(value) not in dirs:
            dirs.append(os.path.normpath(value))
    return dirs


def recall(opts: InstallOptions, directory: Path, exe: str, stamp: dict[str, Any]) -> int | None:
    """The remembered count for this request, if every input is as it was."""
    key = _key(opts)
    if key is None:
        return None
    memo = read_memo(_memo_file(directory, key))
    if memo is None or memo.get("key") != key:
        return None
    if memo.get("exe") != exe or memo.get("stamp") != json.loads(json.dumps(stamp)):
        return None
    statuses = memo.get("statuses")
    if not isinstance(statuses, dict):
        return None
    for path, remembered in statuses.items():
        if status(path) != remembered:
            return None
    count = memo.get("count")
    return count if isinstance(count, int) else None


def remember(
    opts: InstallOptions,
    directory: Path,
    exe: str,
    stamp: dict[str, Any],
    interp: Interpreter,
    dist_infos: list[Path],
    installed: int,
) -> None:
    """Keep the answer, if every status it rests on has settled; failures cost only speed."""
    key = _key(opts)
    if key is None or not _unambiguous(lib_dirs(interp), installed):
        return
    now = time.time_ns()
    statuses: dict[str, list[int] | None] = {}
    for path in _paths(lib_dirs(interp), dist_infos):
        found = statuses[path] = status(path)
        if not settled(found, now):
            return
    memo = {"key": key, "exe": exe, "stamp": stamp, "statuses": statuses, "count": len(dist_infos)}
    write_memo(_memo_file(directory, key), memo)


def _unambiguous(dirs: list[str], installed: int) -> bool:
    """Whether every dist-info directory has a RECORD and a name of its own (there are as
    many as the ``installed`` distributions read under the same lock): then a change to
    one outside the closure cannot change which one answers for a name."""
    seen = 0
    for lib in dirs:
        try:
            with os.scandir(lib) as entries:
                seen += sum(1 for e in entries if e.name.endswith(".dist-info") and e.is_dir())
        except OSError:
            continue
    return seen == installed


__all__ = ["lib_dirs", "recall", "remember"]
