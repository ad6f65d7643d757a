"""Where wheels are unpacked: validate a wheel and write it into a staging directory.

Everything a wheel could do to escape or lie is refused here, before any file
reaches ``archive-v0/`` and before any row is written: unsafe member names,
symlinks, duplicates, files missing from RECORD (or the reverse), digests or
sizes that disagree with RECORD, a dist-info that disagrees with the filename,
an unknown Wheel-Version, and declared sizes past a cap.
"""

from __future__ import annotations

import base64
import csv
import errno
import hashlib
import io
import lzma
import os
import shutil
import stat
import struct
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

from packaging.utils import (
    InvalidWheelFilename,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from ..errors import CachedbError, CacheError, InvalidWheel
from .zipcheck import check_layout

# Refuse wheels whose declared contents exceed these; real wheels are far below.
MAX_UNPACKED_SIZE = int(os.environ.get("CACHEDB_MAX_UNPACKED_SIZE", 8 * 1024**3))
MAX_FILES = 500_000
# Past this many declared bytes, a wheel must also compress plausibly (zip bombs do not).
BOMB_THRESHOLD = 64 * 1024**2
MAX_COMPRESSION_RATIO = 200
_CHUNK = 1024 * 1024
_PARALLEL_THRESHOLD = 1000000
_WORKERS = min(8, (os.cpu_count() or 2) * 2)
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
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_member_name(name: str, what: str = "member") -> str:
    """Return ``name`` if it is a safe relative POSIX path, else raise InvalidWheel."""
    if not name:
        raise InvalidWheel(f"wheel has an empty {what} name")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidWheel(f"wheel {what} {name!r} contains a control character")
    if "\\" in name:
        raise InvalidWheel(f"wheel {what} {name!r} contains a backslash")
    if name.startswith("/"):
        raise InvalidWheel(f"wheel {what} {name!r} is an absolute path")
    if len(name) >= 2 and name[1] == ":" and name[0].isalpha():
        raise InvalidWheel(f"wheel {what} {name!r} starts with a drive letter")
    parts = name.rstrip("/").split("/")
    if any(p in ("..", ".") for p in parts) or any(p == "" for p in parts):
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


def _extract(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    dest_root: Path,
    expected: tuple[str, str, str] | None,
    record_name: str,
) -> FileEntry:
    target = os.path.join(dest_root, info.filename)
    sha256 = hashlib.sha256()
    other = None
    if expected is not None and expected[1]:
        algorithm = expected[1].split("=", 1)[0]
        other = None if algorithm == "sha256" else hashlib.new(algorithm)
    size = 0
    executable = bool((info.external_attr >> 16) & 0o111)
    # Created with its final mode (modulo umask) so no chmod call is needed per file.
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o755 if executable else 0o644)
    with zf.open(info) as src, open(fd, "wb", closefd=True) as dst:
        while chunk := src.read(_CHUNK):
            size += len(chunk)
            if size > info.file_size:
                raise InvalidWheel(f"{info.filename!r} is larger than its declared size")
            sha256.update(chunk)
            if other is not None:
                other.update(chunk)
            dst.write(chunk)
    if expected is not None and info.filename != record_name and expected[1]:
        algorithm, _, want = expected[1].partition("=")
        digest = sha256.digest() if other is None else other.digest()
        got = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if got != want.rstrip("="):
            raise InvalidWheel(f"{info.filename!r} does not match its {algorithm} hash in RECORD")
        if int(expected[2]) != size:
            raise InvalidWheel(f"{info.filename!r} is {size} bytes, but RECORD says {expected[2]}")
    return FileEntry(info.filename, sha256.hexdigest(), size, executable)


def _extract_all(
    zf: zipfile.ZipFile,
    files: list[zipfile.ZipInfo],
    dest_root: Path,
    record: dict[str, tuple[str, str, str]],
    record_name: str,
) -> list[FileEntry]:
    dirs = {os.path.dirname(i.filename) for i in files}
    for d in sorted(dirs):
        os.makedirs(os.path.join(dest_root, d), exist_ok=True)
    if len(files) < _PARALLEL_THRESHOLD:
        return [_extract(zf, i, dest_root, record.get(i.filename), record_name) for i in files]
    # zlib and hashlib release the GIL, and ZipFile serialises only its seeks.
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        futures = [
            pool.submit(_extract, zf, i, dest_root, record.get(i.filename), record_name)
            for i in files
        ]
        return [f.result() for f in futures]


# What zipfile and its decompressors raise, besides BadZipFile, for a damaged archive.
_CORRUPT_ZIP = (
    EOFError,
    NotImplementedError,
    RuntimeError,
    ValueError,
    zlib.error,
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
    wheel: Path, staging_parent: Path, *, archive_id: str | None = None
) -> UnpackedWheel:
    """Validate ``wheel`` and unpack it into a new directory under ``staging_parent``.

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
    try:
        try:
            zf = zipfile.ZipFile(wheel)
        except (zipfile.BadZipFile, OSError) as exc:
            raise InvalidWheel(f"{filename} is not a valid zip archive: {exc}") from exc
        with zf:
            infos = zf.infolist()
            with open(wheel, "rb") as raw:
                check_layout(raw, infos, filename)
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
            entries = _extract_all(zf, files, staging, record, record_name)
    except InvalidWheel:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    except (zipfile.BadZipFile, *_CORRUPT_ZIP) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise InvalidWheel(f"{filename} is corrupt: {exc}") from exc
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise _os_error(exc, filename, staging) from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
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
