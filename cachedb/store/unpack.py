"""Where wheels are unpacked: validate a wheel and write it into a staging directory.

Everything a wheel could do to escape or lie is refused here, before any file
reaches ``archive-v0/`` and before any row is written: unsafe member names,
symlinks, duplicates, files missing from RECORD (or the reverse), digests or
sizes that disagree with RECORD, a dist-info that disagrees with the filename,
an unknown Wheel-Version, and declared sizes past a cap.
"""

from __future__ import annotations

import binascii
import csv
import errno
import functools
import hashlib
import lzma
import os
import re
import shutil
import stat
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Container, Iterable, Iterator
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path
from types import ModuleType
from typing import NamedTuple

from packaging.utils import (
    InvalidWheelFilename,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from .._fdio import write_all
from .._headers import simple_header_values
from ..errors import CachedbError, CacheError, InvalidWheel
from .zipcheck import Member, WheelBytes, read_layout

_zlib: ModuleType
try:  # Inflates about twice as fast as the system zlib: 0.32 s against 0.60 s of CPU
    # for the benchmark's 46 wheels, where inflating is most of a cold install's work.
    from zlib_ng import zlib_ng as _zlib
except ImportError:  # pragma: no cover - where no zlib-ng wheel exists
    _zlib = zlib

# Refuse wheels whose declared contents exceed these; real wheels are far below.
MAX_UNPACKED_SIZE = int(os.environ.get("CACHEDB_MAX_UNPACKED_SIZE", 8 * 1024**3))
MAX_FILES = 500_000
# Past this many declared bytes, a wheel must also compress plausibly (zip bombs do not).
BOMB_THRESHOLD = 64 * 1024**2
MAX_COMPRESSION_RATIO = 200
_CHUNK = 4 * 1024 * 1024  # largest read or inflated piece held in memory per member
# Fewer members than this are not worth starting the second worker thread for.
_PARALLEL_THRESHOLD = 32
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Any of these in a member name sends all names through check_member_name one by one.
_UNPLAIN = re.compile(r"[\x00-\x1f\x7f\\:]")
_SYMLINK_ATTR = stat.S_IFLNK << 16  # in a member's external attributes
_TYPE_ATTR = 0o170000 << 16
_EXECUTABLE_ATTR = 0o111 << 16
_URLSAFE = bytes.maketrans(b"+/", b"-_")
# Compression methods read here rather than through zipfile.
_READ_HERE = frozenset((zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED))
_BAD_SEGMENTS = frozenset(("..", ".", ""))
_RECORD_ALGORITHMS = ("sha256", "sha384", "sha512")
_SCHEME_KEYS = ("purelib", "platlib", "scripts", "headers", "data")


class FileEntry(NamedTuple):
    # A named tuple: made ten thousand times per install, at half a dataclass's cost.
    path: str  # POSIX path relative to the archive root
    sha256: str  # hex
    size: int
    executable: bool


_new_tuple = tuple.__new__


@dataclass(frozen=True)
class UnpackedWheel:
    directory: Path  # the staging directory holding the unpacked tree
    archive_id: str  # sha256 of the wheel file (hex)
    filename: str
    name: str  # canonical
    version: str
    tags: str  # compressed tag set from the filename, e.g. "py3-none-any"
    files: tuple[FileEntry, ...]
    unpacked_size: int
    wheel_size: int
    dist_info: str  # "<name>-<version>.dist-info"

    def __reduce__(self) -> tuple[Callable[..., UnpackedWheel], tuple[object, ...]]:
        # Unpacking workers send this to their parent: ten thousand files pickle
        # and unpickle in a third of the time as plain tuples as they do as entries.
        return (
            _unpickle_unpacked,
            (
                self.directory, self.archive_id, self.filename, self.name, self.version,
                self.tags, [tuple(f) for f in self.files], self.unpacked_size,
                self.wheel_size, self.dist_info,
            ),
        )  # fmt: skip


def _unpickle_unpacked(
    directory: Path,
    archive_id: str,
    filename: str,
    name: str,
    version: str,
    tags: str,
    rows: list[tuple[str, str, int, bool]],
    unpacked_size: int,
    wheel_size: int,
    dist_info: str,
) -> UnpackedWheel:
    files = tuple([_new_tuple(FileEntry, row) for row in rows])
    return UnpackedWheel(
        directory, archive_id, filename, name, version, tags, files, unpacked_size,
        wheel_size, dist_info,
    )  # fmt: skip


def sha256_file(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


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


def _parse_record(
    data: bytes, record_name: str, checked: Container[str] = frozenset()
) -> dict[str, tuple[str, str, str]]:
    """RECORD's rows by path; paths in ``checked`` already passed ``check_member_name``."""
    from ..link.records import split_record

    rows: dict[str, tuple[str, str, str]] = {}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidWheel("RECORD is not valid UTF-8") from exc
    try:
        parsed = split_record(text)
    except csv.Error as exc:
        raise InvalidWheel(f"RECORD is not valid CSV: {exc}") from None
    for row in parsed:
        if len(row) != 3:
            raise InvalidWheel(f"RECORD row {row!r} does not have three fields")
        path, hash_, size = row
        if path not in checked:
            check_member_name(path, "RECORD path")
        if path in rows:
            raise InvalidWheel(f"RECORD lists {path!r} twice")
        if hash_.startswith("sha256=") and size.isdigit():
            pass  # nearly every row: nothing below could refuse it
        elif path != record_name and not path.endswith(
            (".dist-info/RECORD.jws", ".dist-info/RECORD.p7s")
        ):
            algorithm, equals, _digest = hash_.partition("=")
            if not equals:
                raise InvalidWheel(f"RECORD has no hash for {path!r}")
            if algorithm not in _RECORD_ALGORITHMS:
                raise InvalidWheel(f"RECORD uses unsupported hash {algorithm!r} for {path!r}")
            if not size.isdigit():
                raise InvalidWheel(f"RECORD has no valid size for {path!r}")
        rows[path] = (path, hash_, size)
    return rows


def _find_dist_info(directories: Iterable[str], name: str, version: Version) -> str:
    """The one ``.dist-info`` among the top-level ``directories`` the files are in."""
    dist_infos = sorted(d for d in directories if "/" not in d and d.endswith(".dist-info"))
    if len(dist_infos) != 1:
        raise InvalidWheel(
            f"wheel must contain exactly one .dist-info directory, found {len(dist_infos)}"
        )
    dist_info = dist_infos[0]
    stem = dist_info[: -len(".dist-info")]
    dname, _, dversion = stem.rpartition("-")
    try:
        same_version = Version(dversion) == version
    except InvalidVersion:
        same_version = False
    if canonicalize_name(dname) != name or not same_version:
        raise InvalidWheel(
            f"dist-info directory {dist_info!r} disagrees with the wheel filename "
            f"({name} {version})"
        )
    return dist_info


def _first_headers(data: bytes, keys: tuple[str, ...]) -> list[str]:
    """The first value of each header in ``keys`` ("" if absent), as ``email``'s
    compat32 parser reads the UTF-8 text; split by hand where that gives the same."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidWheel("wheel metadata is not valid UTF-8") from exc
    found = []
    parsed = None
    for key in keys:
        values = simple_header_values(data, key)
        if values is None:
            if parsed is None:
                parsed = HeaderParser().parsestr(text)
            found.append(parsed.get(key) or "")
        else:
            found.append(values[0] if values else "")
    return found


def _check_metadata(
    read: Callable[[str], bytes], dist_info: str, name: str, version: Version
) -> None:
    try:
        (wheel_version,) = _first_headers(read(f"{dist_info}/WHEEL"), ("Wheel-Version",))
        meta_name, meta_version = _first_headers(read(f"{dist_info}/METADATA"), ("Name", "Version"))
    except KeyError as exc:
        raise InvalidWheel(f"wheel is missing {exc.args[0]}") from exc
    wheel_version = wheel_version.strip()
    if wheel_version.split(".", 1)[0] != "1":
        raise InvalidWheel(f"unsupported Wheel-Version {wheel_version!r} (only 1.x is supported)")
    try:
        same_version = Version(meta_version) == version
    except InvalidVersion:
        same_version = False
    if canonicalize_name(meta_name) != name or not same_version:
        raise InvalidWheel(
            f"METADATA names {meta_name} {meta_version}, but the filename says {name} {version}"
        )


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


def _check_members(members: list[Member], wheel_size: int) -> tuple[list[Member], list[str]]:
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


class _Corrupt(Exception):
    """A member's bytes do not decode to what its zip entry declares."""


def _whole(src: WheelBytes, info: Member) -> bytes | memoryview:
    """A small member in one read and (deflated) one inflate call."""
    raw = src.view(info.data_offset, info.compress_size)
    if len(raw) != info.compress_size:
        raise _Corrupt(f"member {info.name!r} is truncated")
    if info.compress_type == zipfile.ZIP_STORED:
        if info.compress_size != info.file_size:
            raise _Corrupt(f"stored member {info.name!r} has two different sizes")
        return raw
    inflater = _zlib.decompressobj(-15)
    # One byte more than declared is enough to tell a liar; a bomb stops there.
    data: bytes = inflater.decompress(raw, info.file_size + 1)
    if len(data) > info.file_size:
        raise InvalidWheel(f"{info.name!r} is larger than its declared size")
    if not inflater.eof:
        raise _Corrupt(f"member {info.name!r} is truncated")
    if len(data) != info.file_size:
        raise _Corrupt(f"member {info.name!r} is shorter than its declared size")
    return data


def _stored(src: WheelBytes, info: Member) -> Iterator[bytes | memoryview]:
    if info.compress_size != info.file_size:
        raise _Corrupt(f"stored member {info.name!r} has two different sizes")
    offset = info.data_offset
    left = info.file_size
    while left:
        chunk = src.view(offset, min(left, _CHUNK))
        if not chunk:
            raise _Corrupt(f"member {info.name!r} is truncated")
        offset += len(chunk)
        left -= len(chunk)
        yield chunk


def _deflated(src: WheelBytes, info: Member) -> Iterator[bytes]:
    """Inflate a big member piece by piece, never producing more than the declared size."""
    inflater = _zlib.decompressobj(-15)
    offset = info.data_offset
    left = info.compress_size
    due = info.file_size
    pending: bytes | memoryview = b""
    while not inflater.eof:
        if not pending and left:
            pending = src.view(offset, min(left, _CHUNK))
            if not pending:
                raise _Corrupt(f"member {info.name!r} is truncated")
            offset += len(pending)
            left -= len(pending)
        # At most one byte more than is still due: a bomb stops after one piece.
        out = inflater.decompress(pending, min(due, _CHUNK) + 1)
        pending = inflater.unconsumed_tail
        if len(out) > due:
            raise InvalidWheel(f"{info.name!r} is larger than its declared size")
        if out:
            due -= len(out)
            yield out
        elif not pending and not left:
            break  # all input consumed, no output and no end of stream
    if not inflater.eof:
        raise _Corrupt(f"member {info.name!r} is truncated")
    if due:
        raise _Corrupt(f"member {info.name!r} is shorter than its declared size")


def _other_method(zf: zipfile.ZipFile | None, info: Member) -> Iterator[bytes]:
    """bzip2 and lzma, which no wheel builder writes: zipfile's reader is fast enough."""
    if zf is None:
        raise _Corrupt(f"member {info.name!r} uses an unknown compression method")
    size = 0
    try:
        member = zf.open(info.name)
    except KeyError:  # zipfile reads the directory as we do; this is for a file changed since
        raise _Corrupt(f"member {info.name!r} is missing") from None
    with member:
        while chunk := member.read(_CHUNK):
            size += len(chunk)
            if size > info.file_size:
                raise InvalidWheel(f"{info.name!r} is larger than its declared size")
            yield chunk
    if size != info.file_size:
        raise _Corrupt(f"member {info.name!r} is shorter than its declared size")


def _urlsafe_b64(digest: bytes) -> str:
    """RECORD's spelling of a digest: urlsafe base64 without padding."""
    return binascii.b2a_base64(digest, newline=False).translate(_URLSAFE).rstrip(b"=").decode()


class _Source:
    """The open wheel and where its members go: ``root``, checked against ``record``."""

    def __init__(
        self,
        src: WheelBytes,
        members: dict[str, Member],
        zf: zipfile.ZipFile | None,
    ) -> None:
        self.src = src
        self.members = members  # the files, by name
        self.zf = zf  # for members neither stored nor deflated
        self.root = ""  # set, with what follows, once the wheel is checked
        self.record: dict[str, tuple[str, str, str]] = {}
        self.record_name = ""

    def chunks(self, info: Member) -> Iterable[bytes | memoryview]:
        method = info.compress_type
        if method == zipfile.ZIP_DEFLATED or method == zipfile.ZIP_STORED:
            if info.file_size <= _CHUNK and info.compress_size <= _CHUNK:
                return (_whole(self.src, info),)
            if method == zipfile.ZIP_DEFLATED:
                return _deflated(self.src, info)
            return _stored(self.src, info)
        return _other_method(self.zf, info)

    def read(self, name: str) -> bytes:
        """The bytes of member ``name`` (KeyError if there is none), checked against its CRC."""
        info = self.members[name]
        data = b"".join(self.chunks(info))
        if _zlib.crc32(data) != info.CRC:
            raise _Corrupt(f"bad CRC-32 for member {name!r}")
        return data

    def extract(self, info: Member) -> FileEntry:
        """Write one member, checking it against RECORD (or, for RECORD itself, its CRC)."""
        name = info.name
        hash_ = self.record[name][1]
        method = info.compress_type
        if (
            hash_.startswith("sha256=")
            and (method == zipfile.ZIP_DEFLATED or method == zipfile.ZIP_STORED)
            and info.file_size <= _CHUNK
            and info.compress_size <= _CHUNK
            and name != self.record_name
        ):
            # Nearly every member: one piece, hashed with sha256 only.
            data = _whole(self.src, info)
            executable = bool(info.external_attr & _EXECUTABLE_ATTR)
            # Created with its final mode, so no chmod call is needed per file (but
            # under a umask that takes bits from it).
            fd = os.open(f"{self.root}/{name}", _CREATE, 0o755 if executable else 0o644)
            try:
                if _UMASK_BITES():
                    os.fchmod(fd, 0o755 if executable else 0o644)
                write_all(fd, data)
            finally:
                os.close(fd)
            sha256 = hashlib.sha256(data)
            if _urlsafe_b64(sha256.digest()) != hash_[7:].rstrip("="):
                raise InvalidWheel(f"{name!r} does not match its sha256 hash in RECORD")
            size = len(data)
            if int(self.record[name][2]) != size:
                raise InvalidWheel(
                    f"{name!r} is {size} bytes, but RECORD says {self.record[name][2]}"
                )
            return FileEntry(name, sha256.hexdigest(), size, executable)
        return self.extract_any(info)

    def extract_any(self, info: Member) -> FileEntry:
        """``extract`` for any member: streamed, hashed with RECORD's algorithm or CRC-checked."""
        name = info.name
        expected = self.record.get(name)
        algorithm = want = ""
        if expected is not None and expected[1] and name != self.record_name:
            algorithm, _, want = expected[1].partition("=")
        sha256 = hashlib.sha256()
        other = hashlib.new(algorithm) if algorithm and algorithm != "sha256" else None
        executable = bool(info.external_attr & _EXECUTABLE_ATTR)
        fd = os.open(f"{self.root}/{name}", _CREATE, 0o755 if executable else 0o644)
        size = crc = 0
        try:
            if _UMASK_BITES():
                os.fchmod(fd, 0o755 if executable else 0o644)
            for chunk in self.chunks(info):
                size += len(chunk)
                sha256.update(chunk)
                if other is not None:
                    other.update(chunk)
                elif not algorithm:
                    crc = _zlib.crc32(chunk, crc)
                write_all(fd, chunk)
        finally:
            os.close(fd)
        if algorithm:
            # RECORD's digest checks every byte, so the weaker CRC is not computed too.
            digest = sha256.digest() if other is None else other.digest()
            if _urlsafe_b64(digest) != want.rstrip("="):
                raise InvalidWheel(f"{name!r} does not match its {algorithm} hash in RECORD")
            if expected is not None and int(expected[2]) != size:
                raise InvalidWheel(f"{name!r} is {size} bytes, but RECORD says {expected[2]}")
        elif crc != info.CRC:
            raise _Corrupt(f"bad CRC-32 for member {name!r}")
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


_UMASK_BITES = functools.cache(_umask_bites)


def _make_directories(root: str, directories: list[str]) -> None:
    """Every directory a file goes in, parents first, before any file is written."""
    fix = _UMASK_BITES()
    for directory in directories:
        try:
            os.mkdir(f"{root}/{directory}", 0o755)
        except FileExistsError:
            continue  # "A" and "a" on a case-insensitive filesystem are one directory
        if fix:
            os.chmod(f"{root}/{directory}", 0o755)


def _extract_all(source: _Source, files: list[Member], threads: int) -> list[FileEntry]:
    if threads < 2 or len(files) < _PARALLEL_THRESHOLD:
        extract = source.extract
        return [extract(i) for i in files]
    # Two workers (this thread and one more): creating a file is kernel time, and
    # zlib, hashlib and os.write release the GIL. Big members go first so that
    # neither worker is left alone with one at the end.
    order = sorted(range(len(files)), key=lambda n: files[n].compress_size, reverse=True)
    todo = iter(order)  # shared: next() on a list iterator is atomic under the GIL
    results: list[FileEntry | None] = [None] * len(files)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for n in todo:
                if errors:
                    return
                results[n] = source.extract(files[n])
        except BaseException as exc:  # handed to the calling thread
            errors.append(exc)

    import threading

    helper = threading.Thread(target=work, name="cachedb-unpack", daemon=True)
    helper.start()
    try:
        work()
        helper.join()
    except BaseException as exc:  # e.g. Ctrl-C while joining: stop the helper first
        errors.append(exc)
        helper.join()
        raise
    if errors:
        raise errors[0]
    return [r for r in results if r is not None]


# What zipfile and its decompressors raise, besides BadZipFile, for a damaged archive.
_CORRUPT_ZIP = (
    EOFError,
    NotImplementedError,
    RuntimeError,
    ValueError,
    zlib.error,
    _zlib.error,
    lzma.LZMAError,
    struct.error,
)
# Errors of the cache's filesystem, not of the wheel.
_CACHE_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}
)


def _os_error(exc: OSError, filename: str, staging_parent: Path) -> CachedbError:
    """A full or read-only cache is the cache's problem; anything else, the wheel's."""
    if exc.errno in _CACHE_ERRNOS:
        return CacheError(
            f"cannot unpack {filename} into the cache at {str(staging_parent.parent)!r}: "
            f"{exc.strerror}"
        )
    return InvalidWheel(f"cannot unpack {filename}: {exc.strerror or exc}")


def _check_installable(source: _Source, dist_info: str) -> None:
    """Refuse what no environment could take: scripts that would escape the scripts
    directory, ``.data`` files that would replace the interpreter or the environment's
    own files (in any scheme), and ``.data`` files in an unknown scheme.

    The linker refuses these too; checking here keeps such a wheel from ever
    being registered.
    """
    from ..errors import InstallError
    from ..link.scripts import check_data_file, parse_entry_points

    label = dist_info[: -len(".dist-info")]
    data_prefix = label + ".data/"
    try:
        for member in source.members:
            if not member.startswith(data_prefix):
                continue
            key, _, rest = member[len(data_prefix) :].partition("/")
            if key not in _SCHEME_KEYS or not rest:
                raise InvalidWheel(f"{label} has a file in an unknown scheme: {member}")
            check_data_file(key, rest, label)
        entry_points = f"{dist_info}/entry_points.txt"
        if entry_points in source.members:
            parse_entry_points(source.read(entry_points).decode("utf-8", "replace"), label)
    except InstallError as exc:
        raise InvalidWheel(str(exc)) from None


def unpack_wheel(
    wheel: Path, staging_parent: Path, *, archive_id: str | None = None, threads: int = 2
) -> UnpackedWheel:
    """Validate ``wheel`` and unpack it into a new directory under ``staging_parent``.

    ``threads`` is 1 or 2: a big wheel's members are written by two threads unless
    the caller keeps the other core busy itself.

    The whole wheel is checked before the staging directory is made; on any
    error, whatever was made is removed and InvalidWheel (CacheError for a full
    or read-only cache) is raised.
    """
    filename = wheel.name
    try:
        raw_name, version, _build, tagset = parse_wheel_filename(filename)
    except InvalidWheelFilename as exc:
        raise InvalidWheel(f"invalid wheel filename {filename!r}: {exc}") from exc
    name = canonicalize_name(raw_name)
    del tagset  # the compressed tag set is kept exactly as the filename spells it
    tags = "-".join(filename[: -len(".whl")].split("-")[-3:])
    try:
        src = os.open(wheel, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InvalidWheel(f"cannot read wheel {str(wheel)!r}: {exc.strerror}") from exc

    staging: Path | None = None
    data: WheelBytes | None = None
    zf: zipfile.ZipFile | None = None
    try:
        wheel_size = os.fstat(src).st_size
        staging_parent.mkdir(parents=True, exist_ok=True)
        data = WheelBytes(src, wheel_size)
        members = read_layout(data, filename)
        files, directories = _check_members(members, wheel_size)
        if any(m.compress_type not in _READ_HERE for m in files):
            zf = zipfile.ZipFile(wheel)
        source = _Source(data, {m.name: m for m in files}, zf)
        dist_info = _find_dist_info(directories, name, version)
        _check_metadata(source.read, dist_info, name, version)
        _check_installable(source, dist_info)
        record_name = f"{dist_info}/RECORD"
        try:
            record = _parse_record(source.read(record_name), record_name, source.members)
        except KeyError as exc:
            raise InvalidWheel(f"wheel is missing {record_name}") from exc
        missing = sorted(record.keys() - source.members.keys())
        if missing:
            raise InvalidWheel(f"RECORD lists {missing[0]!r}, which is not in the wheel")
        unlisted = sorted(source.members.keys() - record.keys())
        if unlisted:
            raise InvalidWheel(f"wheel member {unlisted[0]!r} is not listed in RECORD")
        if archive_id is None:
            if data.data is not None:
                archive_id = hashlib.sha256(data.data).hexdigest()
            else:
                archive_id = sha256_file(wheel)
        import tempfile

        staging = Path(tempfile.mkdtemp(prefix=f"unpack-{archive_id[:16]}-", dir=staging_parent))
        os.chmod(staging, 0o755)  # mkdtemp's 0700 would hide the archive from other users
        source.root = str(staging)
        source.record = record
        source.record_name = record_name
        _make_directories(source.root, directories)
        entries = _extract_all(source, files, threads)
    except InvalidWheel:
        _remove(staging)
        raise
    except (zipfile.BadZipFile, _Corrupt, *_CORRUPT_ZIP) as exc:
        _remove(staging)
        raise InvalidWheel(f"{filename} is corrupt: {exc}") from exc
    except OSError as exc:
        _remove(staging)
        raise _os_error(exc, filename, staging_parent) from exc
    except BaseException:
        _remove(staging)
        raise
    finally:
        if zf is not None:
            zf.close()
        if data is not None:
            data.release()
        os.close(src)
    return UnpackedWheel(
        directory=staging,
        archive_id=archive_id,
        filename=filename,
        name=name,
        version=str(version),
        tags=tags,
        files=tuple(entries),
        unpacked_size=sum([e.size for e in entries]),
        wheel_size=wheel_size,
        dist_info=dist_info,
    )


def _remove(staging: Path | None) -> None:
    if staging is not None:
        shutil.rmtree(staging, ignore_errors=True)
