"""Writing a checked wheel's files into its staging directory, each checked against RECORD.

Files are created with their final mode (0644, or 0755 where the zip marks them
executable), whatever the umask, and written by two threads for a big wheel.
"""

from __future__ import annotations

import functools
import hashlib
import os
import zipfile

from .._fdio import write_all
from .._threads import on_threads
from ..errors import InvalidWheel
from ..wheel import inflate
from ..wheel.inflate import Corrupt, MemberReader, whole, zlib_module
from ..wheel.records import Hash, RecordEntry, urlsafe_b64
from ..wheel.zipdir import Member
from .unpacked import FileEntry

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
_EXECUTABLE_ATTR = 0o111 << 16
# Fewer members than this are not worth starting the second worker thread for.
PARALLEL_THRESHOLD = 32


class Writer:
    """Writes the members of ``reader`` under ``root``, checked against ``record``."""

    def __init__(
        self, reader: MemberReader, root: str, record: dict[str, RecordEntry], record_name: str
    ) -> None:
        self.reader = reader
        self.src = reader.src
        self.root = root
        self.record = record
        self.record_name = record_name

    def extract(self, info: Member) -> FileEntry:
        """Write one member, checking it against RECORD (or, for RECORD itself, its CRC)."""
        name = info.name
        entry = self.record[name]
        hash_ = entry.hash
        method = info.compress_type
        if (
            hash_.startswith("sha256=")
            and (method == zipfile.ZIP_DEFLATED or method == zipfile.ZIP_STORED)
            and info.file_size <= inflate.CHUNK
            and info.compress_size <= inflate.CHUNK
            and name != self.record_name
        ):
            # Nearly every member: one piece, hashed with sha256 only.
            data = whole(self.src, info)
            executable = bool(info.external_attr & _EXECUTABLE_ATTR)
            # Created with its final mode, so no chmod call is needed per file (but
            # under a umask that takes bits from it).
            fd = os.open(f"{self.root}/{name}", _CREATE, 0o755 if executable else 0o644)
            try:
                if UMASK_BITES():
                    os.fchmod(fd, 0o755 if executable else 0o644)
                write_all(fd, data)
            finally:
                os.close(fd)
            sha256 = hashlib.sha256(data)
            if urlsafe_b64(sha256.digest()) != hash_[7:].rstrip("="):
                raise InvalidWheel(f"{name!r} does not match its sha256 hash in RECORD")
            size = len(data)
            if int(entry.size) != size:
                raise InvalidWheel(f"{name!r} is {size} bytes, but RECORD says {entry.size}")
            return FileEntry(name, sha256.hexdigest(), size, executable)
        return self.extract_any(info)

    def extract_any(self, info: Member) -> FileEntry:
        """``extract`` for any member: streamed, hashed with RECORD's algorithm or CRC-checked."""
        name = info.name
        expected = self.record.get(name)
        algorithm = want = ""
        if expected is not None and expected.hash and name != self.record_name:
            algorithm, _, want = expected.hash.partition("=")
        sha256 = hashlib.sha256()
        other = hashlib.new(algorithm) if algorithm and algorithm != "sha256" else None
        executable = bool(info.external_attr & _EXECUTABLE_ATTR)
        fd = os.open(f"{self.root}/{name}", _CREATE, 0o755 if executable else 0o644)
        size = crc = 0
        try:
            if UMASK_BITES():
                os.fchmod(fd, 0o755 if executable else 0o644)
            for chunk in self.reader.chunks(info):
                size += len(chunk)
                sha256.update(chunk)
                if other is not None:
                    other.update(chunk)
                elif not algorithm:
                    crc = zlib_module.crc32(chunk, crc)
                write_all(fd, chunk)
        finally:
            os.close(fd)
        if algorithm:
            # RECORD's digest checks every byte, so the weaker CRC is not computed too.
            digest = sha256.digest() if other is None else other.digest()
            if not Hash(algorithm, want).matches(digest):
                raise InvalidWheel(f"{name!r} does not match its {algorithm} hash in RECORD")
            if expected is not None and int(expected.size) != size:
                raise InvalidWheel(f"{name!r} is {size} bytes, but RECORD says {expected.size}")
        elif crc != info.CRC:
            raise Corrupt(f"bad CRC-32 for member {name!r}")
        return FileEntry(name, sha256.hexdigest(), size, executable)


def _umask_bites() -> bool:
    """Whether this process's umask takes bits from 0755/0644, the modes of an archive
    (uv's too), which every user must be able to read (a symlink-mode environment)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            umask = next(int(line.split()[1], 8) for line in fh if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError, IndexError):
        umask = os.umask(0o022)  # reading it means setting it: put it back at once
        os.umask(umask)
    return bool(umask & 0o755)


UMASK_BITES = functools.cache(_umask_bites)


def make_directories(root: str, directories: list[str]) -> None:
    """Every directory a file goes in, parents first, before any file is written."""
    fix = UMASK_BITES()
    for directory in directories:
        try:
            os.mkdir(f"{root}/{directory}", 0o755)
        except FileExistsError:
            continue  # "A" and "a" on a case-insensitive filesystem are one directory
        if fix:
            os.chmod(f"{root}/{directory}", 0o755)


def write_members(writer: Writer, files: list[Member], threads: int) -> list[FileEntry]:
    if threads < 2 or len(files) < PARALLEL_THRESHOLD:
        extract = writer.extract
        return [extract(i) for i in files]
    # Two workers (this thread and one more): creating a file is kernel time, and
    # zlib, hashlib and os.write release the GIL. Big members go first so that
    # neither worker is left alone with one at the end.
    return on_threads(writer.extract, files, threads, "unpack", [f.compress_size for f in files])
