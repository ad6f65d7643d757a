"""Where wheels are unpacked: validate a wheel and write it into a staging directory.

Everything a wheel could do to escape or lie is refused here, before any file
reaches ``archive-v0/`` and before any row is written: unsafe member names,
symlinks, duplicates, files missing from RECORD (or the reverse), digests or
sizes that disagree with RECORD, a dist-info that disagrees with the filename,
an unknown Wheel-Version, and declared sizes past a cap.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import errno
import hashlib
import io
import lzma
import os
import re
import shutil
import stat
import struct
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path
from types import ModuleType

from packaging.utils import (
    InvalidWheelFilename,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from .._fdio import write_all
from ..errors import CachedbError, CacheError, InvalidWheel
from .zipcheck import check_layout

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
_BAD_SEGMENTS = frozenset(("..", ".", ""))
_RECORD_ALGORITHMS = ("sha256", "sha384", "sha512")
_SCHEME_KEYS = ("purelib", "platlib", "scripts", "headers", "data")


@dataclass(frozen=True)
class FileEntry:
    path: str  # POSIX path relative to the archive root
    sha256: str  # hex
    size: int
    executable: bool


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


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return stat.S_ISLNK(mode)


def _parse_record(data: bytes, record_name: str) -> dict[str, tuple[str, str, str]]:
    rows: dict[str, tuple[str, str, str]] = {}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidWheel("RECORD is not valid UTF-8") from exc
    try:
        parsed = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise InvalidWheel(f"RECORD is not valid CSV: {exc}") from None
    for row in parsed:
        if not row:
            continue
        if len(row) != 3:
            raise InvalidWheel(f"RECORD row {row!r} does not have three fields")
        path, hash_, size = row
        check_member_name(path, "RECORD path")
        if path in rows:
            raise InvalidWheel(f"RECORD lists {path!r} twice")
        if path != record_name and not path.endswith(
            (".dist-info/RECORD.jws", ".dist-info/RECORD.p7s")
        ):
            if not hash_ or "=" not in hash_:
                raise InvalidWheel(f"RECORD has no hash for {path!r}")
            algorithm = hash_.split("=", 1)[0]
            if algorithm not in _RECORD_ALGORITHMS:
                raise InvalidWheel(f"RECORD uses unsupported hash {algorithm!r} for {path!r}")
            if not size.isdigit():
                raise InvalidWheel(f"RECORD has no valid size for {path!r}")
        rows[path] = (path, hash_, size)
    return rows


def _find_dist_info(names: list[str], name: str, version: Version) -> str:
    candidates = {n.split("/", 1)[0] for n in names if "/" in n}
    dist_infos = sorted(c for c in candidates if c.endswith(".dist-info"))
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


def _check_metadata(zf: zipfile.ZipFile, dist_info: str, name: str, version: Version) -> None:
    try:
        wheel_meta = HeaderParser().parsestr(zf.read(f"{dist_info}/WHEEL").decode("utf-8"))
        metadata = HeaderParser().parsestr(zf.read(f"{dist_info}/METADATA").decode("utf-8"))
    except KeyError as exc:
        raise InvalidWheel(f"wheel is missing {exc.args[0]}") from exc
    except UnicodeDecodeError as exc:
        raise InvalidWheel("wheel metadata is not valid UTF-8") from exc
    wheel_version = (wheel_meta.get("Wheel-Version") or "").strip()
    if wheel_version.split(".", 1)[0] != "1":
        raise InvalidWheel(f"unsupported Wheel-Version {wheel_version!r} (only 1.x is supported)")
    meta_name = metadata.get("Name") or ""
    meta_version = metadata.get("Version") or ""
    try:
        same_version = Version(meta_version) == version
    except InvalidVersion:
        same_version = False
    if canonicalize_name(meta_name) != name or not same_version:
        raise InvalidWheel(
            f"METADATA names {meta_name} {meta_version}, but the filename says {name} {version}"
        )


def _check_members(infos: list[zipfile.ZipInfo], wheel_size: int) -> list[zipfile.ZipInfo]:
    if len(infos) > MAX_FILES:
        raise InvalidWheel(f"wheel has {len(infos)} members, more than the limit of {MAX_FILES}")
    seen: dict[str, str] = {}
    files: list[zipfile.ZipInfo] = []
    total = 0
    for info in infos:
        check_member_name(info.filename)
        if _is_symlink(info):
            raise InvalidWheel(f"wheel member {info.filename!r} is a symlink")
        folded = unicodedata.normalize("NFC", info.filename.rstrip("/")).casefold()
        if folded in seen:
            other = seen[folded]
            kind = "duplicate" if other == info.filename else "case-colliding"
            raise InvalidWheel(f"wheel has {kind} members {other!r} and {info.filename!r}")
        seen[folded] = info.filename
        if info.is_dir():
            continue
        total += info.file_size
        if total > MAX_UNPACKED_SIZE:
            raise InvalidWheel(
                f"wheel declares more than {MAX_UNPACKED_SIZE} bytes of contents; "
                "refusing to unpack"
            )
        files.append(info)
    if total > BOMB_THRESHOLD and total > max(wheel_size, 1) * MAX_COMPRESSION_RATIO:
        raise InvalidWheel("wheel's declared sizes are implausibly large for its compressed size")
    # A file may not also be used as a directory ("a" and "a/b").
    file_names = {i.filename for i in files}
    for name in file_names:
        parent = name.rpartition("/")[0]
        while parent:
            if parent in file_names:
                raise InvalidWheel(f"wheel member {parent!r} is both a file and a directory")
            parent = parent.rpartition("/")[0]
    return files


class _Corrupt(Exception):
    """A member's bytes do not decode to what its zip entry declares."""


def _whole(src: int, info: zipfile.ZipInfo, offset: int) -> bytes:
    """A small member in one read and (deflated) one inflate call."""
    raw = os.pread(src, info.compress_size, offset)
    if len(raw) != info.compress_size:
        raise _Corrupt(f"member {info.filename!r} is truncated")
    if info.compress_type == zipfile.ZIP_STORED:
        if info.compress_size != info.file_size:
            raise _Corrupt(f"stored member {info.filename!r} has two different sizes")
        return raw
    inflater = _zlib.decompressobj(-15)
    # One byte more than declared is enough to tell a liar; a bomb stops there.
    data: bytes = inflater.decompress(raw, info.file_size + 1)
    if len(data) > info.file_size:
        raise InvalidWheel(f"{info.filename!r} is larger than its declared size")
    if not inflater.eof:
        raise _Corrupt(f"member {info.filename!r} is truncated")
    if len(data) != info.file_size:
        raise _Corrupt(f"member {info.filename!r} is shorter than its declared size")
    return data


def _stored(src: int, info: zipfile.ZipInfo, offset: int) -> Iterator[bytes]:
    if info.compress_size != info.file_size:
        raise _Corrupt(f"stored member {info.filename!r} has two different sizes")
    left = info.file_size
    while left:
        chunk = os.pread(src, min(left, _CHUNK), offset)
        if not chunk:
            raise _Corrupt(f"member {info.filename!r} is truncated")
        offset += len(chunk)
        left -= len(chunk)
        yield chunk


def _deflated(src: int, info: zipfile.ZipInfo, offset: int) -> Iterator[bytes]:
    """Inflate a big member piece by piece, never producing more than the declared size."""
    inflater = _zlib.decompressobj(-15)
    left = info.compress_size
    due = info.file_size
    pending = b""
    while not inflater.eof:
        if not pending and left:
            pending = os.pread(src, min(left, _CHUNK), offset)
            if not pending:
                raise _Corrupt(f"member {info.filename!r} is truncated")
            offset += len(pending)
            left -= len(pending)
        # At most one byte more than is still due: a bomb stops after one piece.
        out = inflater.decompress(pending, min(due, _CHUNK) + 1)
        pending = inflater.unconsumed_tail
        if len(out) > due:
            raise InvalidWheel(f"{info.filename!r} is larger than its declared size")
        if out:
            due -= len(out)
            yield out
        elif not pending and not left:
            break  # all input consumed, no output and no end of stream
    if not inflater.eof:
        raise _Corrupt(f"member {info.filename!r} is truncated")
    if due:
        raise _Corrupt(f"member {info.filename!r} is shorter than its declared size")


def _other_method(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """bzip2 and lzma, which no wheel builder writes: zipfile's reader is fast enough."""
    size = 0
    with zf.open(info) as member:
        while chunk := member.read(_CHUNK):
            size += len(chunk)
            if size > info.file_size:
                raise InvalidWheel(f"{info.filename!r} is larger than its declared size")
            yield chunk
    if size != info.file_size:
        raise _Corrupt(f"member {info.filename!r} is shorter than its declared size")


class _Source:
    """The open wheel: its descriptor for ``os.pread`` and where each member's data starts."""

    def __init__(
        self,
        fd: int,
        zf: zipfile.ZipFile,
        offsets: dict[int, int],
        root: str,
        record: dict[str, tuple[str, str, str]],
        record_name: str,
    ) -> None:
        self.fd = fd
        self.zf = zf
        self.offsets = offsets
        self.root = root
        self.record = record
        self.record_name = record_name
        self.made: set[str] = set()  # directories that exist under root

    def chunks(self, info: zipfile.ZipInfo) -> Iterable[bytes]:
        offset = self.offsets[info.header_offset]
        method = info.compress_type
        if method == zipfile.ZIP_DEFLATED or method == zipfile.ZIP_STORED:
            if info.file_size <= _CHUNK and info.compress_size <= _CHUNK:
                return (_whole(self.fd, info, offset),)
            if method == zipfile.ZIP_DEFLATED:
                return _deflated(self.fd, info, offset)
            return _stored(self.fd, info, offset)
        return _other_method(self.zf, info)

    def create(self, name: str, mode: int) -> int:
        """A new file ``name``; its directories are made on first need, by either thread."""
        parent = name.rpartition("/")[0]
        if parent and parent not in self.made:
            missing = []
            while parent and parent not in self.made:
                missing.append(parent)
                parent = parent.rpartition("/")[0]
            for directory in reversed(missing):
                # The other thread may have just made it; "A" and "a" on a
                # case-insensitive filesystem are one directory too.
                with contextlib.suppress(FileExistsError):
                    os.mkdir(f"{self.root}/{directory}")
                self.made.add(directory)
        return os.open(f"{self.root}/{name}", _CREATE, mode)

    def extract(self, info: zipfile.ZipInfo) -> FileEntry:
        """Write one member, checking it against RECORD (or, for RECORD itself, its CRC)."""
        name = info.filename
        expected = self.record.get(name)
        algorithm = want = ""
        if expected is not None and expected[1] and name != self.record_name:
            algorithm, _, want = expected[1].partition("=")
        sha256 = hashlib.sha256()
        other = hashlib.new(algorithm) if algorithm and algorithm != "sha256" else None
        executable = bool((info.external_attr >> 16) & 0o111)
        # Created with its final mode (modulo umask) so no chmod call is needed per file.
        fd = self.create(name, 0o755 if executable else 0o644)
        size = crc = 0
        try:
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
            got = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if got != want.rstrip("="):
                raise InvalidWheel(f"{name!r} does not match its {algorithm} hash in RECORD")
            if expected is not None and int(expected[2]) != size:
                raise InvalidWheel(f"{name!r} is {size} bytes, but RECORD says {expected[2]}")
        elif crc != info.CRC:
            raise _Corrupt(f"bad CRC-32 for member {name!r}")
        return FileEntry(name, sha256.hexdigest(), size, executable)


def _extract_all(source: _Source, files: list[zipfile.ZipInfo], threads: int) -> list[FileEntry]:
    if threads < 2 or len(files) < _PARALLEL_THRESHOLD:
        return [source.extract(i) for i in files]
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


def _os_error(exc: OSError, filename: str, staging: Path) -> CachedbError:
    """A full or read-only cache is the cache's problem; anything else, the wheel's."""
    if exc.errno in _CACHE_ERRNOS:
        return CacheError(
            f"cannot unpack {filename} into the cache at {str(staging.parent.parent)!r}: "
            f"{exc.strerror}"
        )
    return InvalidWheel(f"cannot unpack {filename}: {exc.strerror or exc}")


def _check_installable(zf: zipfile.ZipFile, names: list[str], dist_info: str) -> None:
    """Refuse what no environment could take: scripts that would escape the scripts
    directory or replace the interpreter, and ``.data`` files in an unknown scheme.

    The linker refuses these too; checking here keeps such a wheel from ever
    being registered.
    """
    from ..errors import InstallError
    from ..link.scripts import check_script_name, parse_entry_points

    label = dist_info[: -len(".dist-info")]
    data_prefix = label + ".data/"
    try:
        for member in names:
            if not member.startswith(data_prefix):
                continue
            key, _, rest = member[len(data_prefix) :].partition("/")
            if key not in _SCHEME_KEYS or not rest:
                raise InvalidWheel(f"{label} has a file in an unknown scheme: {member}")
            if key == "scripts" and "/" not in rest:
                check_script_name(rest, label)
        entry_points = f"{dist_info}/entry_points.txt"
        if entry_points in names:
            parse_entry_points(zf.read(entry_points).decode("utf-8", "replace"), label)
    except InstallError as exc:
        raise InvalidWheel(str(exc)) from None


def unpack_wheel(
    wheel: Path, staging_parent: Path, *, archive_id: str | None = None, threads: int = 2
) -> UnpackedWheel:
    """Validate ``wheel`` and unpack it into a new directory under ``staging_parent``.

    ``threads`` is 1 or 2: a big wheel's members are written by two threads unless
    the caller keeps the other core busy itself.

    On any error the staging directory is removed and InvalidWheel is raised.
    """
    filename = wheel.name
    try:
        raw_name, version, _build, tagset = parse_wheel_filename(filename)
    except InvalidWheelFilename as exc:
        raise InvalidWheel(f"invalid wheel filename {filename!r}: {exc}") from exc
    name = canonicalize_name(raw_name)
    try:
        wheel_size = wheel.stat().st_size
    except OSError as exc:
        raise InvalidWheel(f"cannot read wheel {str(wheel)!r}: {exc.strerror}") from exc
    if archive_id is None:
        archive_id = sha256_file(wheel)
    del tagset  # the compressed tag set is kept exactly as the filename spells it
    tags = "-".join(filename[: -len(".whl")].split("-")[-3:])

    staging_parent.mkdir(parents=True, exist_ok=True)
    import tempfile

    staging = Path(tempfile.mkdtemp(prefix=f"unpack-{archive_id[:16]}-", dir=staging_parent))
    src = -1
    try:
        try:
            src = os.open(wheel, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            zf = zipfile.ZipFile(wheel)
        except (zipfile.BadZipFile, OSError) as exc:
            raise InvalidWheel(f"{filename} is not a valid zip archive: {exc}") from exc
        with zf:
            infos = zf.infolist()
            offsets = check_layout(src, infos, filename)
            files = _check_members(infos, wheel_size)
            names = [i.filename for i in files]
            dist_info = _find_dist_info(names, name, version)
            _check_metadata(zf, dist_info, name, version)
            _check_installable(zf, names, dist_info)
            record_name = f"{dist_info}/RECORD"
            try:
                record = _parse_record(zf.read(record_name), record_name)
            except KeyError as exc:
                raise InvalidWheel(f"wheel is missing {record_name}") from exc
            in_zip = set(names)
            missing = sorted(set(record) - in_zip)
            if missing:
                raise InvalidWheel(f"RECORD lists {missing[0]!r}, which is not in the wheel")
            unlisted = sorted(in_zip - set(record))
            if unlisted:
                raise InvalidWheel(f"wheel member {unlisted[0]!r} is not listed in RECORD")
            source = _Source(src, zf, offsets, str(staging), record, record_name)
            entries = _extract_all(source, files, threads)
    except InvalidWheel:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    except (zipfile.BadZipFile, _Corrupt, *_CORRUPT_ZIP) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise InvalidWheel(f"{filename} is corrupt: {exc}") from exc
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise _os_error(exc, filename, staging) from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if src >= 0:
            os.close(src)
    return UnpackedWheel(
        directory=staging,
        archive_id=archive_id,
        filename=filename,
        name=name,
        version=str(version),
        tags=tags,
        files=tuple(entries),
        unpacked_size=sum(e.size for e in entries),
        wheel_size=wheel_size,
        dist_info=dist_info,
    )
