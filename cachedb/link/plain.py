"""Wheels whose files install as they stand, linked without handling them one by one.

Most wheels have no ``.data`` directory: every file goes from the archive root
into the library directory under the same relative path, and its installed
RECORD row is the archive's row unchanged. For such a wheel the installed
RECORD is the archive's RECORD text less the rows an installer writes itself,
and its files are linked by relative path between two directory descriptors.
A warm install links ten thousand files: parsing each row into a record,
joining two absolute paths and formatting the row again cost three times the
rest of linking (tests/test_link_plain.py proves the result equal to the
row-by-row path, which every other wheel takes).
"""

from __future__ import annotations

import csv
import os
from collections import deque
from collections.abc import Iterable
from functools import partial
from operator import length_hint
from typing import TYPE_CHECKING

from .archive import Archive
from .modes import file_creator
from .place import Journal

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    # Not typing's NamedTuple: that one compiles each field's annotation (~0.2M instructions).
    from .._record import NamedTuple


# Installer-owned dist-info files: written fresh, never taken from the wheel.
GENERATED = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})


class Plain(NamedTuple):
    rows: str  # the archive's RECORD rows the install keeps, each "path,hash,size\n"
    paths: list[str]  # the paths they name, relative to the library directory


def _without_rows(text: str, marker: str, whole: bool) -> str | None:
    """``text`` ("\\n" + rows) without the rows starting with ``marker``; ``whole``: the
    marker ends at the path, else only paths without a further "/" go. None where such a
    row is malformed (the row-by-row path reports it)."""
    start = text.find(marker)
    while start != -1:
        end = text.find("\n", start + 1)
        row = text[start + 1 : end]
        if row.count(",") != 2:
            return None
        if whole or row.partition(",")[0].count("/") == 1:
            text = text[:start] + text[end:]
            start = text.find(marker, start)
        else:
            start = text.find(marker, end)
    return text


def plain_rows(archive: Archive) -> Plain | None:
    """The rows and paths of ``archive`` when every row installs unchanged into the
    library directory, else None.

    That is: no ``.data`` directory, and a RECORD that CSV splits at every comma
    and line break (no quote, no carriage return, no blank line, three fields a
    row), so that writing its rows again gives back their text.
    """
    text = archive.record
    if not text or '"' in text or "\r" in text or "\n\n" in text or text[0] == "\n":
        return None
    if text[-1] != "\n":
        text += "\n"
    text = "\n" + text
    if f"\n{archive.data_dir}/" in text:
        return None
    prefix = f"\n{archive.dist_info}/"
    for name in sorted(GENERATED):
        # RECORD's signatures (RECORD.jws, RECORD.p7s) describe the wheel, not the install:
        # like RECORD, every RECORD* file directly in the dist-info is dropped.
        whole = name != "RECORD"
        kept = _without_rows(text, prefix + name + ("," if whole else ""), whole)
        if kept is None:
            return None
        text = kept
    rows = text[1:]
    count = rows.count("\n")
    if rows.count(",") != 2 * count:
        return None  # a row without three fields: the row-by-row path refuses it
    fields = rows.replace(",", "\n").split("\n")
    # Lines shorter than csv's field limit are split by csv as by str.split.
    if 3 * max(map(len, fields)) + 3 >= csv.field_size_limit():
        return None
    return Plain(rows, fields[:-1:3])


def link_plain(journal: Journal, source: str, target: str, paths: list[str]) -> None:
    """Hard-link ``source/<path>`` to ``target/<path>`` for every path (parents exist).

    Where a link fails, that file takes the row-by-row path (``modes`` hardlink:
    an existing file replaced, an impossible link copied, any other error raised
    with its absolute path), and linking goes on after it.
    """
    src_prefix = source.rstrip(os.sep) + os.sep
    dst_prefix = target.rstrip(os.sep) + os.sep
    src_fd = os.open(source, os.O_RDONLY | os.O_DIRECTORY)
    try:
        dst_fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
        try:
            # The link itself, never where it leads (as the row-by-row path's link()):
            # archives hold no links, so one there was planted.
            link = partial(os.link, src_dir_fd=src_fd, dst_dir_fd=dst_fd, follow_symlinks=False)
            start = 0
            while start < len(paths):
                rest = paths[start:] if start else paths
                pending = iter(rest)
                try:
                    # One C loop (map) over the files: no Python frame per file.
                    deque(map(link, pending, rest), 0)
                except BaseException as exc:
                    failed = start + len(rest) - length_hint(pending) - 1
                    journal.placed_under(dst_prefix, paths[start:failed])
                    if not isinstance(exc, OSError):
                        # An interrupt raised after the last link of the run (Python sees
                        # signals between calls) leaves that file linked: undo it too.
                        if failed >= start and _linked(src_prefix, dst_prefix, paths[failed]):
                            journal.placed_under(dst_prefix, [paths[failed]])
                        raise
                    path = paths[failed]
                    link_each(journal, [(dst_prefix + path, src_prefix + path)], "hardlink")
                    start = failed + 1
                else:
                    journal.placed_under(dst_prefix, rest)
                    break
        finally:
            os.close(dst_fd)
    finally:
        os.close(src_fd)


def _linked(src_prefix: str, dst_prefix: str, path: str) -> bool:
    try:
        return os.path.samestat(os.stat(src_prefix + path), os.lstat(dst_prefix + path))
    except OSError:
        return False


def link_each(journal: Journal, items: Iterable[tuple[str, str]], link_mode: str) -> None:
    """Link each (destination, source) pair with ``link_mode``, one file at a time."""
    # One thread on purpose: link() is a few microseconds in the kernel, and handing
    # the GIL between threads around such short calls measured 2-3x slower than a loop.
    create = file_creator(link_mode)
    placed = journal.placed
    for dst, src in items:
        try:
            create(src, dst)
        except FileExistsError:
            journal.replace(dst, partial(create, src))
        else:
            placed.append(dst)
