"""What remembered answers rest on: file statuses, settled files, plain input text, and
the memo file itself (written atomically, read leniently).

Two commands remember answers: a nothing-to-do install (``install/noop_memo``) and a
compile (``lock/_memo``). Both trust a file's status (mtime, ctime, size, inode) to
say it is unchanged only if the status had settled: a change within one timestamp
tick of the last would not show (git's racy-index rule), so a status younger than
``SETTLED`` when it is recorded is not trusted.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path

from ._fdio import read_nofollow, replace_file

TYPE_CHECKING = False  # typing's, without importing typing (about 12M instructions)
if TYPE_CHECKING:
    from typing import Any

SETTLED = 2_000_000_000  # ns: statuses younger than this when recorded are not trusted

Status = list[int]

# Where the requirements-file parser (requirements/_lines.py) sees an option start: "-"
# first on a line (after any break str.splitlines knows: \v, \x1c, \u2028...) or after
# whitespace.
_OPTION = re.compile(r"(?:^|\s)-")


def status(path: str) -> Status | None:
    """``path``'s status as a memo keeps it; None if it does not exist or cannot be read."""
    try:
        return status_of(os.stat(path))
    except OSError:
        return None


def status_of(st: os.stat_result) -> Status:
    """What a memo keeps of a ``stat`` result (one format, so that statuses compare)."""
    return [st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino]


def settled(found: Status | None, before_ns: int) -> bool:
    """Whether ``found`` (None: absent) was last changed ``SETTLED`` before ``before_ns``."""
    return found is None or max(found[0], found[1]) <= before_ns - SETTLED


def plain_text(text: str) -> bool:
    """Whether a requirements file's ``text`` names requirements alone: no option (``-r``,
    ``-c``, ``-e``, ``--index-url``... may bring in more) and no ``$`` (variables)."""
    return "$" not in text and _OPTION.search(text) is None


class NotRegular(Exception):
    """A pipe, device or directory: reading it could take what the full run reads, or
    block."""


def read_regular(name: str, *, strict: bool = True) -> tuple[bytes | None, list[int] | None]:
    """A regular file's bytes and status (from the one open file); None, None if absent
    (or, unless ``strict``, not a regular file)."""
    import stat

    try:
        if not stat.S_ISREG(os.stat(name).st_mode):
            if strict:
                raise NotRegular(name)
            return None, None
        with open(name, "rb") as fh:
            return fh.read(), status_of(os.fstat(fh.fileno()))
    except OSError:
        return None, None


def read_memo(path: Path) -> dict[str, Any] | None:
    """The memo at ``path``; None if absent, unreadable, not a JSON object, or a link (a
    planted one would have answers read from outside the cache)."""
    try:
        memo = json.loads(read_nofollow(path))
    except (OSError, ValueError):
        return None
    return memo if isinstance(memo, dict) else None


def write_memo(path: Path, memo: dict[str, Any]) -> None:
    """Replace the memo at ``path`` at once; failures cost only speed."""
    with contextlib.suppress(OSError, ValueError):
        replace_file(path, json.dumps(memo, sort_keys=True).encode("utf-8"))


__all__ = [
    "SETTLED",
    "NotRegular",
    "Status",
    "plain_text",
    "read_memo",
    "read_regular",
    "settled",
    "status",
    "status_of",
    "write_memo",
]
