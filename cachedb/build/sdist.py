"""Unpacking source distributions safely.

Every member is checked before the first byte is written: tar members go
through the stdlib's ``data`` extraction filter (no absolute paths, no ``..``,
no links leading outside the tree, no devices or fifos), zip members through
the same name checks as wheel members, and zip symlinks are refused outright.
"""

from __future__ import annotations

import os
import re
import stat
import tarfile
import zipfile
from pathlib import Path

from ..errors import BuildError, InvalidWheel
from ..wheel.members import MAX_FILES, MAX_UNPACKED_SIZE, check_member_name

_DRIVE = re.compile(r"^[A-Za-z]:")


def _refuse(archive: Path, reason: str) -> BuildError:
    return BuildError(f"refusing source distribution {archive.name}: {reason}")


def extract_sdist(archive: Path, dest: Path) -> Path:
    """Unpack ``archive`` (.tar.gz or .zip) into the empty directory ``dest``.

    Returns the project directory: the single top-level directory of the
    archive, as sdists have, or ``dest`` itself.
    """
    dest.mkdir(parents=True, exist_ok=True)
    name = archive.name.lower()
    if name.endswith(".zip"):
        _extract_zip(archive, dest)
    elif name.endswith((".tar.gz", ".tgz", ".tar")):
        _extract_tar(archive, dest)
    else:
        raise _refuse(archive, "not a .tar.gz or .zip file")
    entries = list(dest.iterdir())
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        return entries[0]
    return dest


def _extract_tar(archive: Path, dest: Path) -> None:
    data_filter = getattr(tarfile, "data_filter", None)
    if data_filter is None:  # pragma: no cover - Python 3.11.0-3.11.3 only
        raise BuildError("unpacking sdists safely needs Python 3.11.4 or newer (tarfile filters)")
    try:
        with tarfile.open(archive) as tf:
            members = tf.getmembers()
            if len(members) > MAX_FILES:
                raise _refuse(archive, f"more than {MAX_FILES} members")
            # In an empty directory no path of a file or directory member leads outside,
            # given the checks below (the filter could only refuse it for that): the filter
            # checks links and special members, and every member again while extracting.
            fresh = next(os.scandir(dest), None) is None
            total = 0
            for member in members:
                # The filter would quietly strip a leading "/" and allow "a/../b": refuse both.
                parts = member.name.replace("\\", "/").split("/")
                if member.name.startswith(("/", "\\")) or _DRIVE.match(member.name):
                    raise _refuse(archive, f"member {member.name!r} is an absolute path")
                if ".." in parts:
                    raise _refuse(archive, f"member {member.name!r} has a '..' path segment")
                if not (fresh and (member.isreg() or member.isdir())):
                    try:
                        data_filter(member, str(dest))
                    except tarfile.FilterError as exc:
                        raise _refuse(archive, str(exc)) from None
                total += member.size
                if total > MAX_UNPACKED_SIZE:
                    raise _refuse(archive, f"more than {MAX_UNPACKED_SIZE} bytes of contents")
            # Checked above; the filter runs again while extracting, as a second guard.
            tf.extractall(dest, members=members, filter="data")
    except (tarfile.TarError, EOFError, OSError) as exc:
        if isinstance(exc, tarfile.FilterError):
            raise _refuse(archive, str(exc)) from None
        raise _refuse(archive, f"cannot read it ({exc})") from None


def _extract_zip(archive: Path, dest: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_FILES:
                raise _refuse(archive, f"more than {MAX_FILES} members")
            total = 0
            seen: set[str] = set()
            for info in infos:
                try:
                    check_member_name(info.filename)
                except InvalidWheel as exc:
                    raise _refuse(archive, exc.message.removeprefix("wheel ")) from None
                if stat.S_ISLNK(info.external_attr >> 16):
                    raise _refuse(archive, f"member {info.filename!r} is a symlink")
                folded = info.filename.rstrip("/").casefold()
                if folded in seen:
                    raise _refuse(archive, f"member {info.filename!r} appears twice")
                seen.add(folded)
                total += info.file_size
                if total > MAX_UNPACKED_SIZE:
                    raise _refuse(archive, f"more than {MAX_UNPACKED_SIZE} bytes of contents")
            for info in infos:
                target = dest / info.filename
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                executable = bool((info.external_attr >> 16) & 0o111)
                mode = 0o755 if executable else 0o644
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
                with zf.open(info) as src, open(fd, "wb", closefd=True) as out:
                    written = 0
                    while chunk := src.read(1024 * 1024):
                        written += len(chunk)
                        if written > info.file_size:
                            raise _refuse(archive, f"{info.filename!r} is larger than declared")
                        out.write(chunk)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _refuse(archive, f"cannot read it ({exc})") from None
