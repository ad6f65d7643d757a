"""What a hit is: when a cached wheel may answer a request by name.

A cached wheel is reused only for a file that a current source (an index or a
find-links location) still offers, and only if it is that very file:

- the same filename (so the same name, version and tags), and
- the same file identity: the sha256 the source states for it; for a local file
  (a find-links directory), the sha256 of its bytes, remembered by path and
  status (mtime, ctime, size, inode, device) so that an unchanged file is never
  read again (``LocalHashes``); for a remote file whose source states no hash,
  the same source (the index URL or find-links location in the pointer key).

An archive is named by its wheel's sha256, so a file with a known sha256 is the
same archive whichever source offers it. The target interpreter's identity
enters through the candidate's tags and Requires-Python, judged by the finder.
Only ``--offline`` answers from the cache alone, and says so.

This module is on the warm path: it imports nothing beyond the standard library.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ._digest import sha256_hex
from ._memo import read_memo, settled, status_of

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    # Not typing's NamedTuple: that one compiles each field's annotation (~0.2M instructions).
    from ._record import NamedTuple


DIST_SUFFIXES = (".whl", ".tar.gz", ".zip")


class LocalFile(NamedTuple):
    """A distribution file in a local directory, as ``stat`` saw it when listed."""

    path: str
    filename: str
    size: int
    mtime_ns: int


def scan_directory(directory: Path) -> list[LocalFile]:
    """Every distribution file directly inside ``directory``, sorted by name."""
    files = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if not entry.name.endswith(DIST_SUFFIXES) or not entry.is_file():
                continue
            st = entry.stat()
            files.append(LocalFile(entry.path, entry.name, st.st_size, st.st_mtime_ns))
    files.sort(key=lambda f: f.filename)
    return files


def pointer_source(key: str) -> str:
    """The source part of a pointer key ``<source>/<name>/<wheel-stem>``."""
    return key.split("/", 1)[0]


def is_hit(
    cached_filename: str,
    cached_sha256: str,
    cached_key: str,
    *,
    filename: str,
    sha256: str | None,
    source: str,
) -> bool:
    """Whether the cached wheel (filename, archive id = sha256, pointer key) is the file
    a source offers now (``filename``, its sha256 if known, ``source`` = its source key)."""
    if cached_filename != filename:
        return False
    if sha256 is not None:
        return cached_sha256 == sha256
    return pointer_source(cached_key) == source


def identity(st: os.stat_result) -> list[int]:
    """What identifies a local file's content unchanged: ``_memo``'s status and the device."""
    return [*status_of(st), st.st_dev]


def file_sha256(path: str) -> str:
    with open(path, "rb") as fh:
        import hashlib  # OpenSSL: only when a local file is hashed, never on a warm run

        return hashlib.file_digest(fh, "sha256").hexdigest()


class LocalHashes:
    """The sha256 of local files, remembered by path and ``stat`` identity in the cache.

    A remembered digest answers only while the file's status is the one it was
    recorded with: mtime, ctime, size, inode and device (a rewrite keeps size and may
    put the mtime back, as ``cp -p`` does, but moves the ctime, which no user can set).
    Only statuses settled before this run began are recorded (``_memo.settled``: git's
    racy-index rule), so that a change within one timestamp tick of the last, which
    would leave the status as it was, cannot be missed. One JSON file per directory
    under ``directory``. Only a cache of a computation: a lost or damaged file costs
    reading the wheels again. New answers are written by ``flush`` (on success), so a
    failed run leaves the cache as it found it.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        # Made before this run reads any local file (the finder makes it, downloads and
        # copies start after): a status settled before this was not changed while the
        # run read the file.
        self._started = time.time_ns()
        self._known: dict[str, dict[str, list[object]]] = {}
        self._dirty: set[str] = set()

    def _file(self, folder: str) -> Path:
        return self.directory / (sha256_hex(folder.encode())[:32] + ".json")

    def _entries(self, folder: str) -> dict[str, list[object]]:
        known = self._known.get(folder)
        if known is None:
            # Never read through a link (the folder's or the file's): planted, it would
            # have digests read from outside the cache.
            loaded = None if os.path.islink(self.directory) else read_memo(self._file(folder))
            known = loaded if loaded is not None else {}
            self._known[folder] = known
        return known

    def sha256(self, path: str, *, refresh: bool = False) -> str:
        """The sha256 of the file at ``path``, read again unless remembered for its current
        status (``refresh``: read again anyway). OSError if it cannot be read."""
        status = identity(os.stat(path))
        folder, filename = os.path.split(path)
        entry = self._entries(folder).get(filename)
        if (
            not refresh
            and isinstance(entry, list)
            and entry[:-1] == status
            and isinstance(entry[-1], str)
        ):
            return entry[-1]
        # The status taken before reading: a change while reading moves it, so the next
        # run sees another status and reads the file again.
        digest = file_sha256(path)
        self._record(path, status, digest)
        return digest

    def remember(self, path: str, sha256: str) -> None:
        """``sha256`` is the digest of the bytes this run read from ``path`` (a copy made
        of it): kept if the file's status now was settled before the run began, so that
        those bytes are the ones this status describes."""
        try:
            status = identity(os.stat(path))
        except OSError:
            return
        self._record(path, status, sha256)

    def _record(self, path: str, status: list[int], sha256: str) -> None:
        if not settled(status, self._started):
            return
        folder, filename = os.path.split(path)
        self._entries(folder)[filename] = [*status, sha256]
        self._dirty.add(folder)

    def flush(self) -> None:
        dirty, self._dirty = self._dirty, set()
        if os.path.islink(self.directory):
            return  # planted: nothing is written through a link out of the cache
        for folder in dirty:
            target = self._file(folder)
            with contextlib.suppress(OSError):  # only a cache: a read-only one costs reading again
                import tempfile

                target.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
                try:
                    with os.fdopen(fd, "w") as fh:
                        json.dump(self._known[folder], fh)
                    os.replace(tmp, target)
                except BaseException:
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)
                    raise
