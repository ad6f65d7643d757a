"""Core metadata read out of a wheel file."""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from cachedb.errors import InvalidWheel

MAX_METADATA = 10 * 1024 * 1024

_END = b"PK\x05\x06"
_END_RECORD = struct.Struct("<4s4xHHII")  # signature, entries (disk, total), size, offset
_CENTRAL = b"PK\x01\x02"
# signature, flags, method, crc, compressed, size, name length (others skipped)
_CENTRAL_HEADER = struct.Struct("<4s4xHH4xIIIH")
_CENTRAL_SIZE = 46
_LOCAL = b"PK\x03\x04"
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, name length, extra length
_LOCAL_SIZE = 30
_OFFSET = struct.Struct("<I")  # the local header's offset, at byte 42 of a central header
_SUFFIX = b".dist-info/METADATA"
_LONGEST_NAME = 512  # of a top-level dist-info directory, looked for here
_ENCRYPTED = 0x1


def wheel_metadata(path: Path, filename: str | None = None) -> bytes:
    """The ``<name>-<version>.dist-info/METADATA`` of the wheel at ``path``."""
    filename = filename or path.name
    try:
        name = parse_wheel_filename(filename)[0]
    except InvalidWheelFilename:
        raise InvalidWheel(f"{filename} is not a valid wheel filename") from None
    try:
        quick = _single_metadata(path)
    except OSError as exc:
        raise InvalidWheel(f"{filename} is not a readable wheel: {exc}") from None
    if quick is not None:
        return quick
    try:
        with zipfile.ZipFile(path) as zf:
            candidates = [
                info
                for info in zf.infolist()
                if info.filename.count("/") == 1 and info.filename.endswith(".dist-info/METADATA")
            ]
            # A wheel may vendor other dist-infos; the one named after the project wins.
            ours = [
                info
                for info in candidates
                if canonicalize_name(info.filename.split("-", 1)[0]) == name
            ]
            chosen = ours or candidates
            if len(chosen) != 1:
                raise InvalidWheel(f"{filename} has no single .dist-info/METADATA")
            if chosen[0].file_size > MAX_METADATA:
                raise InvalidWheel(f"{filename}: METADATA is larger than 10 MiB")
            return zf.read(chosen[0])
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidWheel(f"{filename} is not a readable wheel: {exc}") from None


def _single_metadata(path: Path) -> bytes | None:
    """METADATA of a wheel with one top-level dist-info, found by its name alone.

    ``zipfile`` makes an object of every member first (a few milliseconds for a
    wheel of thousands of files); this looks for the name in the central
    directory's bytes and reads that one member. None whenever the answer is
    less than plain (zip64, no or several candidates, a member that does not
    check out): then ``zipfile`` decides.
    """
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        tail_size = min(size, 22 + 0xFFFF)
        fh.seek(size - tail_size)
        tail = fh.read(tail_size)
        end = tail.rfind(_END)
        if end < 0 or end + 22 > len(tail):
            return None
        _, entries, total, cd_size, cd_offset = _END_RECORD.unpack_from(tail, end)
        if entries != total or 0xFFFF in (entries, total) or 0xFFFFFFFF in (cd_size, cd_offset):
            return None  # multi-disk or zip64
        fh.seek(cd_offset)
        directory = fh.read(cd_size)
        if len(directory) != cd_size:
            return None
        found = _find_top_level(directory)
        if found is None:
            return None
        flags, method, crc, compressed, expanded, offset = found
        if flags & _ENCRYPTED or method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            return None
        if max(compressed, expanded) > MAX_METADATA:
            return None
        fh.seek(offset)
        local = fh.read(_LOCAL_SIZE)
        if len(local) != _LOCAL_SIZE:
            return None
        signature, name_length, extra_length = _LOCAL_HEADER.unpack(local)
        if signature != _LOCAL:
            return None
        fh.seek(offset + _LOCAL_SIZE + name_length + extra_length)
        raw = fh.read(compressed)
    if len(raw) != compressed:
        return None
    data = raw
    if method == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-15)
        try:
            data = inflater.decompress(raw, expanded + 1)
        except zlib.error:
            return None
    if len(data) != expanded or zlib.crc32(data) != crc:
        return None
    return data


def _find_top_level(directory: bytes) -> tuple[int, int, int, int, int, int] | None:
    """The central header fields of the one ``<dir>.dist-info/METADATA`` member, if one."""
    found = None
    hit = directory.find(_SUFFIX)
    while hit >= 0:
        name_end = hit + len(_SUFFIX)
        # Going back from the suffix, the first central header whose name ends here
        # is this member's; a "/" in its name means the dist-info is not top-level.
        for start in range(hit, max(_CENTRAL_SIZE, hit - _LONGEST_NAME) - 1, -1):
            header = start - _CENTRAL_SIZE
            if directory[header : header + 4] != _CENTRAL:
                continue
            flags, method, crc, compressed, expanded, length = _CENTRAL_HEADER.unpack_from(
                directory, header
            )[1:]
            if length != name_end - start:
                continue
            if b"/" not in directory[start:hit]:
                if found is not None:
                    return None  # two dist-infos: zipfile chooses
                (offset,) = _OFFSET.unpack_from(directory, header + 42)
                found = (flags, method, crc, compressed, expanded, offset)
            break
        hit = directory.find(_SUFFIX, hit + 1)
    return found
