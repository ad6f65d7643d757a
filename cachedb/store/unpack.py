"""Where wheels are unpacked: validate a wheel and write it into a staging directory.

Everything a wheel could do to escape or lie is refused here, before any file
reaches ``archive-v0/`` and before any row is written: unsafe member names,
symlinks, duplicates, files missing from RECORD (or the reverse), digests or
sizes that disagree with RECORD, a dist-info that disagrees with the filename,
an unknown Wheel-Version, and declared sizes past a cap. The rules are the
wheel model's (``cachedb.wheel``); writing the files is ``extract``'s.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from packaging.utils import (
    InvalidWheelFilename,
    canonicalize_name,
    parse_wheel_filename,
)

from ..errors import CachedbError, CacheError, InvalidWheel
from ..wheel.entry_points import check_installable
from ..wheel.inflate import CORRUPT_ZIP, READ_HERE, Corrupt, MemberReader
from ..wheel.members import check_members
from ..wheel.metadata import check_metadata, find_dist_info
from ..wheel.records import check_listed, check_wheel_record
from ..wheel.zipdir import WheelBytes, read_layout
from .extract import Writer, make_directories, write_members
from .unpacked import FileEntry, UnpackedWheel, sha256_file

if TYPE_CHECKING:
    from packaging.version import Version

__all__ = ["FileEntry", "UnpackedWheel", "sha256_file", "unpack_wheel"]

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


class Identity(NamedTuple):
    """What a wheel's filename says: its canonical name, version and tag set."""

    filename: str
    name: str
    version: Version
    tags: str  # the compressed tag set, exactly as the filename spells it


def identity(filename: str) -> Identity:
    """The name, version and tags of a wheel ``filename``; InvalidWheel if it is none."""
    try:
        raw_name, version, _build, _tagset = parse_wheel_filename(filename)
    except InvalidWheelFilename as exc:
        raise InvalidWheel(f"invalid wheel filename {filename!r}: {exc}") from exc
    tags = "-".join(filename[: -len(".whl")].split("-")[-3:])
    return Identity(filename, canonicalize_name(raw_name), version, tags)


class Checked:
    """A wheel file checked by every rule of the wheel model, still open for reading.

    ``members`` each have their ``data_offset``; ``files`` and ``directories`` are
    what ``check_members`` made of them, ``record`` the wheel's RECORD, checked.
    """

    __slots__ = ("data", "zf", "wheel_size", "members", "files", "directories", "reader",
                 "dist_info", "record", "record_name")  # fmt: skip

    def __init__(self, wheel: Path, src: int, ident: Identity) -> None:
        self.data: WheelBytes | None = None
        self.zf: zipfile.ZipFile | None = None
        try:
            self._check(wheel, src, ident)
        except BaseException:
            self.close()
            raise

    def _check(self, wheel: Path, src: int, ident: Identity) -> None:
        filename = ident.filename
        self.wheel_size = wheel_size = os.fstat(src).st_size
        self.data = data = WheelBytes(src, wheel_size)
        self.members = members = read_layout(data, filename)
        self.files, self.directories = files, directories = check_members(members, wheel_size)
        if any(m.compress_type not in READ_HERE for m in files):
            self.zf = zipfile.ZipFile(wheel)
        self.reader = reader = MemberReader(data, {m.name: m for m in files}, self.zf)
        self.dist_info = dist_info = find_dist_info(directories, ident.name, ident.version)
        check_metadata(reader.read, dist_info, ident.name, ident.version)
        check_installable(reader.members, reader.read, dist_info)
        self.record_name = record_name = f"{dist_info}/RECORD"
        try:
            record = check_wheel_record(reader.read(record_name), record_name, reader.members)
        except KeyError as exc:
            raise InvalidWheel(f"wheel is missing {record_name}") from exc
        check_listed(record, reader.members)
        self.record = record

    def close(self) -> None:
        if self.zf is not None:
            self.zf.close()
        if self.data is not None:
            self.data.release()


def open_wheel(wheel: Path) -> int:
    """A read-only descriptor of ``wheel``; InvalidWheel if it cannot be opened."""
    try:
        return os.open(wheel, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InvalidWheel(f"cannot read wheel {str(wheel)!r}: {exc.strerror}") from exc


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
    ident = identity(wheel.name)
    filename = ident.filename
    src = open_wheel(wheel)
    staging: Path | None = None
    checked: Checked | None = None
    try:
        staging_parent.mkdir(parents=True, exist_ok=True)
        checked = Checked(wheel, src, ident)
        if archive_id is None:
            if checked.data is not None and checked.data.data is not None:
                archive_id = hashlib.sha256(checked.data.data).hexdigest()
            else:
                archive_id = sha256_file(wheel)
        # Named before it is made: a Ctrl-C landing just after the mkdir still finds
        # ``staging`` set, so the handlers below remove it (with mkdtemp's return value
        # it could land in between and leave an empty directory under tmp/).
        staging = staging_parent / f"unpack-{archive_id[:16]}-{os.urandom(6).hex()}"
        try:
            os.mkdir(staging, 0o700)
        except FileExistsError:
            staging = None  # another's (48 random bits alike): never ours to remove
            raise
        os.chmod(staging, 0o755)  # not the umask's: other users read the archive
        make_directories(str(staging), checked.directories)
        writer = Writer(checked.reader, str(staging), checked.record, checked.record_name)
        entries = write_members(writer, checked.files, threads)
    except InvalidWheel:
        _remove(staging)
        raise
    except (zipfile.BadZipFile, Corrupt, *CORRUPT_ZIP) as exc:
        _remove(staging)
        raise InvalidWheel(f"{filename} is corrupt: {exc}") from exc
    except OSError as exc:
        _remove(staging)
        raise _os_error(exc, filename, staging_parent) from exc
    except BaseException:
        _remove(staging)
        raise
    finally:
        if checked is not None:
            checked.close()
        os.close(src)
    return unpacked(staging, archive_id, ident, entries, checked)


def unpacked(
    directory: Path, archive_id: str, ident: Identity, entries: list[FileEntry], checked: Checked
) -> UnpackedWheel:
    """The record of ``directory``, the tree of the wheel ``checked``."""
    return UnpackedWheel(
        directory=directory,
        archive_id=archive_id,
        filename=ident.filename,
        name=ident.name,
        version=str(ident.version),
        tags=ident.tags,
        files=tuple(entries),
        unpacked_size=sum([e.size for e in entries]),
        wheel_size=checked.wheel_size,
        dist_info=checked.dist_info,
    )


def _remove(staging: Path | None) -> None:
    if staging is not None:
        shutil.rmtree(staging, ignore_errors=True)
