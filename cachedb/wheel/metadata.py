"""A wheel's own description of itself: its ``.dist-info`` directory, the
Wheel-Version of WHEEL, and the Name and Version of METADATA, which must agree
with its filename; and the METADATA of a wheel file, read without unpacking it.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Iterable
from email.parser import HeaderParser
from pathlib import Path

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from .._headers import simple_header_values
from ..errors import InvalidWheel

MAX_METADATA = 10 * 1024 * 1024


def find_dist_info(directories: Iterable[str], name: str, version: Version) -> str:
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


def first_headers(data: bytes, keys: tuple[str, ...]) -> list[str]:
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


def check_metadata(
    read: Callable[[str], bytes], dist_info: str, name: str, version: Version
) -> None:
    try:
        (wheel_version,) = first_headers(read(f"{dist_info}/WHEEL"), ("Wheel-Version",))
        meta_name, meta_version = first_headers(read(f"{dist_info}/METADATA"), ("Name", "Version"))
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


def _chosen(names: list[str], project: str) -> list[str]:
    """The top-level ``.dist-info/METADATA`` members; where a wheel vendors other
    dist-infos, the one named after the project wins."""
    candidates = [n for n in names if n.count("/") == 1 and n.endswith(".dist-info/METADATA")]
    ours = [n for n in candidates if canonicalize_name(n.split("-", 1)[0]) == project]
    return ours or candidates


def wheel_metadata(path: Path, filename: str | None = None) -> bytes:
    """The ``<name>-<version>.dist-info/METADATA`` of the wheel at ``path``."""
    filename = filename or path.name
    try:
        project = canonicalize_name(parse_wheel_filename(filename)[0])
    except InvalidWheelFilename:
        raise InvalidWheel(f"{filename} is not a valid wheel filename") from None
    try:
        quick = _single_metadata(path, project)
    except OSError as exc:
        raise InvalidWheel(f"{filename} is not a readable wheel: {exc}") from None
    if quick is not None:
        return quick
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            chosen = _chosen([info.filename for info in infos], project)
            if len(chosen) != 1:
                raise InvalidWheel(f"{filename} has no single .dist-info/METADATA")
            info = next(info for info in infos if info.filename == chosen[0])
            if info.file_size > MAX_METADATA:
                raise InvalidWheel(f"{filename}: METADATA is larger than 10 MiB")
            return zf.read(info)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidWheel(f"{filename} is not a readable wheel: {exc}") from None


def _single_metadata(path: Path, project: str) -> bytes | None:
    """METADATA read through the central directory and that one member.

    The wheel is not read whole, nor is every member's local header checked: it
    may be a big download whose METADATA is all that is wanted. None whenever
    the answer is less than plain (a directory this parser refuses, no single
    candidate, an unreadable member): then ``zipfile`` decides, and says why.
    """
    # Here rather than above: the index client loads this module, and reads wheels rarely.
    from .inflate import CORRUPT_ZIP, Corrupt, MemberReader
    from .zipdir import WheelBytes, locate, read_directory

    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        src = WheelBytes(fd, os.fstat(fd).st_size, in_memory=0)
        try:
            members, _ = read_directory(src, path.name, b".dist-info/METADATA")
            chosen = _chosen([m.name for m in members], project)
            if len(chosen) != 1:
                return None  # zipfile says so, as every reader would
            member = next(m for m in members if m.name == chosen[0])
            if member.file_size > MAX_METADATA or member.flag_bits & 0x1:
                return None
            locate(src, member, path.name)
            return MemberReader(src, {member.name: member}, None).read(member.name)
        except (InvalidWheel, Corrupt, *CORRUPT_ZIP):
            return None
    finally:
        os.close(fd)
