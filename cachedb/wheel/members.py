"""Which members a wheel may have: safe relative names, no symlinks, no two that
collide (exactly, or as a case-insensitive or Unicode-normalising filesystem sees
them), no file that is also a directory, and declared sizes within the limits.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from typing import TYPE_CHECKING

from ..errors import InvalidWheel

if TYPE_CHECKING:
    from .zipdir import Member

# Refuse wheels whose declared contents exceed these; real wheels are far below.
MAX_UNPACKED_SIZE = int(os.environ.get("CACHEDB_MAX_UNPACKED_SIZE", 8 * 1024**3))
MAX_FILES = 500_000
# Past this many declared bytes, a wheel must also compress plausibly (zip bombs do not).
BOMB_THRESHOLD = 64 * 1024**2
MAX_COMPRESSION_RATIO = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Any of these in a member name sends all names through check_member_name one by one.
_UNPLAIN = re.compile(r"[\x00-\x1f\x7f\\:]")
_SYMLINK_ATTR = stat.S_IFLNK << 16  # in a member's external attributes
_TYPE_ATTR = 0o170000 << 16
_BAD_SEGMENTS = frozenset(("..", ".", ""))


def check_member_name(name: str, what: str = "member") -> str:
    """Return ``name`` if it is a safe relative POSIX path, else raise InvalidWheel."""
    if not name:
        raise InvalidWheel(f"wheel has an empty {what} name")
    if _CONTROL.search(name):
        raise InvalidWheel(f"wheel {what} {name!r} contains a control character")
    if "\\" in name:
        raise InvalidWheel(f"wheel {what} {name!r} contains a backslash")
    if name.startswith("/"):
        raise InvalidWheel(f"wheel {what} {name!r} is an absolute path")
    if len(name) >= 2 and name[1] == ":" and name[0].isalpha():
        raise InvalidWheel(f"wheel {what} {name!r} starts with a drive letter")
    if not _BAD_SEGMENTS.isdisjoint(name.rstrip("/").split("/")):
        raise InvalidWheel(f"wheel {what} {name!r} has a '..', '.' or empty path segment")
    return name


def _plain_names(names: list[str]) -> bool:
    """Whether every name is plainly safe and no two collide, judged over all at once.

    Plainly safe: ASCII without control characters, backslashes or colons, and
    no empty, "." or ".." segment, which ``check_member_name`` accepts. Distinct:
    for ASCII, NFC changes nothing and casefold is lower. Names this is unsure
    of go through the member-by-member check, which says what is wrong.
    """
    flat = "".join(names)
    if not flat.isascii() or _UNPLAIN.search(flat):
        return False
    # Each name, less trailing slashes, between slashes: its bad segments show as
    # "//" (also an empty or absolute name), "/./" or "/../". The line breaks
    # between names are part of none of these, and of no name.
    wrapped = "/" + "/\n/".join([n.rstrip("/") for n in names]) + "/"
    if "//" in wrapped or "/./" in wrapped or "/../" in wrapped:
        return False
    return len(set(wrapped.lower().split("\n"))) == len(names)


def _check_each_member(members: list[Member]) -> None:
    """Name, type and collisions of each member in turn: the first problem is raised."""
    seen: dict[str, str] = {}
    total = 0
    for member in members:
        name = member.name
        check_member_name(name)
        if stat.S_ISLNK(member.external_attr >> 16):
            raise InvalidWheel(f"wheel member {name!r} is a symlink")
        folded = unicodedata.normalize("NFC", name.rstrip("/")).casefold()
        if folded in seen:
            other = seen[folded]
            kind = "duplicate" if other == name else "case-colliding"
            raise InvalidWheel(f"wheel has {kind} members {other!r} and {name!r}")
        seen[folded] = name
        if name.endswith("/"):
            continue
        total += member.file_size
        if total > MAX_UNPACKED_SIZE:
            _too_big()


def _too_big() -> None:
    raise InvalidWheel(
        f"wheel declares more than {MAX_UNPACKED_SIZE} bytes of contents; refusing to unpack"
    )


def check_members(members: list[Member], wheel_size: int) -> tuple[list[Member], list[str]]:
    """The members that are files, and the directories they are in (parents first)."""
    if len(members) > MAX_FILES:
        raise InvalidWheel(f"wheel has {len(members)} members, more than the limit of {MAX_FILES}")
    if not _plain_names([m.name for m in members]) or any(
        m.external_attr & _TYPE_ATTR == _SYMLINK_ATTR for m in members
    ):
        _check_each_member(members)
    files = [m for m in members if not m.name.endswith("/")]
    total = sum([m.file_size for m in files])
    if total > MAX_UNPACKED_SIZE:
        _too_big()
    if total > BOMB_THRESHOLD and total > max(wheel_size, 1) * MAX_COMPRESSION_RATIO:
        raise InvalidWheel("wheel's declared sizes are implausibly large for its compressed size")
    file_names = {m.name for m in files}
    directories: set[str] = set()
    for name in file_names:
        parent = name.rpartition("/")[0]
        while parent and parent not in directories:
            directories.add(parent)
            parent = parent.rpartition("/")[0]
    # A file may not also be used as a directory ("a" and "a/b").
    both = directories & file_names
    if both:
        raise InvalidWheel(f"wheel member {min(both)!r} is both a file and a directory")
    # A parent is a prefix of its children, so it sorts before them.
    return files, sorted(directories)
