"""The byte layout of a wheel's zip: one reading, whoever reads it.

``zipfile`` trusts the central directory. Other readers (streaming unzippers,
other installers, antivirus scanners) walk the local headers from the start of
the file, and some stop at the first end record they find. A wheel whose local
headers disagree with the central directory, that hides entries between
members, or that carries bytes before the first member or after the end record
means different things to different readers, so it is refused: the archive
cachedb unpacks is then the archive anyone else would see.
"""

from __future__ import annotations

import os
import struct
import zipfile

from ..errors import InvalidWheel

_LOCAL = b"PK\x03\x04"
_END = b"PK\x05\x06"
_END64 = b"PK\x06\x06"
_END64_LOCATOR = b"PK\x06\x07"
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # 30 bytes
_END_RECORD = struct.Struct("<4sHHHHIIH")  # 22 bytes
_END64_RECORD = struct.Struct("<4sQHHIIQQQQ")  # 56 bytes
_END64_LOCATOR_RECORD = struct.Struct("<4sIQI")  # 20 bytes
_MAX_COMMENT = 0xFFFF
_DESCRIPTOR_FLAG = 0x08
_ENCRYPTED_FLAG = 0x01
# A data descriptor is crc + two sizes (4- or 8-byte each), optionally signed.
_DESCRIPTOR_SIZES = (12, 16, 20, 24)


def _central_directory(fd: int, size: int, filename: str) -> tuple[int, int, int]:
    """``(offset, end, entries)`` of the central directory, checking the end record(s)."""
    tail_size = min(size, _END_RECORD.size + _MAX_COMMENT)
    tail = os.pread(fd, tail_size, size - tail_size)
    pos = tail.rfind(_END)
    if pos < 0 or pos + _END_RECORD.size > len(tail):
        raise InvalidWheel(f"{filename} has no zip end record")
    sig, disk, cd_disk, n_disk, n_total, cd_size, cd_offset, comment = _END_RECORD.unpack_from(
        tail, pos
    )
    end_at = size - tail_size + pos
    if pos + _END_RECORD.size + comment != len(tail):
        # zipfile reads the last end record it finds; bytes after it are another story.
        raise InvalidWheel(f"{filename} has data after the end of its zip archive")
    if disk != 0 or cd_disk != 0 or n_disk != n_total:
        raise InvalidWheel(f"{filename} is a multi-disk zip archive")
    cd_end = end_at
    locator_at = end_at - _END64_LOCATOR_RECORD.size
    locator = b""
    if locator_at >= 0:
        locator = os.pread(fd, _END64_LOCATOR_RECORD.size, locator_at)
    # Like zipfile, a zip64 locator right before the end record means zip64 records rule.
    zip64 = locator[:4] == _END64_LOCATOR
    if zip64 or 0xFFFFFFFF in (cd_size, cd_offset) or n_total == 0xFFFF:
        if not zip64:
            raise InvalidWheel(f"{filename} has a malformed zip64 end record")
        _sig, _disk, end64_at, _disks = _END64_LOCATOR_RECORD.unpack(locator)
        record = b"" if end64_at > locator_at else os.pread(fd, _END64_RECORD.size, end64_at)
        if len(record) != _END64_RECORD.size:
            raise InvalidWheel(f"{filename} has a truncated zip64 end record")
        sig, rec_size, _v1, _v2, disk, cd_disk, n_disk, n_total, cd_size, cd_offset = (
            _END64_RECORD.unpack(record)
        )
        if sig != _END64 or disk != 0 or cd_disk != 0 or n_disk != n_total:
            raise InvalidWheel(f"{filename} has a malformed zip64 end record")
        if end64_at + 12 + rec_size != locator_at:
            raise InvalidWheel(f"{filename} has data between its zip64 end records")
        cd_end = end64_at
    if cd_offset + cd_size != cd_end:
        # Also what a self-extracting prefix looks like: zipfile shifts every offset.
        raise InvalidWheel(f"{filename} has data before its first member or its central directory")
    return cd_offset, cd_end, n_total


def _encoded_name(info: zipfile.ZipInfo) -> bytes:
    encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
    try:
        return info.orig_filename.encode(encoding)
    except UnicodeEncodeError:
        return info.orig_filename.encode("utf-8")


def check_layout(fd: int, infos: list[zipfile.ZipInfo], filename: str) -> dict[int, int]:
    """Refuse a zip whose bytes are not exactly: members back to back, directory, end record.

    ``infos`` is what ``zipfile`` read from the central directory of the file
    open as ``fd``. Every member's local header must carry the same name,
    method, flags and (unless a data descriptor follows) the same sizes and CRC.

    Returns where each member's data starts, keyed by its ``header_offset``, so
    the unpacker can read it without parsing the local header again.
    """
    size = os.fstat(fd).st_size
    cd_offset, _cd_end, entries = _central_directory(fd, size, filename)
    if entries != len(infos):
        raise InvalidWheel(
            f"{filename}: its zip end record counts {entries} members, "
            f"the central directory {len(infos)}"
        )
    ordered = sorted(infos, key=lambda i: i.header_offset)
    data_offsets: dict[int, int] = {}
    expected = 0  # where the next local header must start
    for index, info in enumerate(ordered):
        shown = info.filename
        if info.flag_bits & _ENCRYPTED_FLAG:
            raise InvalidWheel(f"{filename}: member {shown!r} is encrypted")
        if info.header_offset != expected:
            raise InvalidWheel(
                f"{filename}: member {shown!r} does not start where the previous one ends "
                "(hidden, overlapping or shifted zip entries)"
            )
        name = _encoded_name(info)
        # One read for the header and the name it should carry.
        block = b""
        if info.header_offset + _LOCAL_HEADER.size <= size:
            block = os.pread(fd, _LOCAL_HEADER.size + len(name), info.header_offset)
        if len(block) < _LOCAL_HEADER.size:
            raise InvalidWheel(f"{filename}: member {shown!r} has a truncated local header")
        (sig, _version, flags, method, _time, _date, crc, csize, usize, name_len, extra_len) = (
            _LOCAL_HEADER.unpack_from(block)
        )
        if sig != _LOCAL or name_len != len(name) or block[_LOCAL_HEADER.size :] != name:
            local_name = os.pread(fd, name_len, info.header_offset + _LOCAL_HEADER.size)
            raise InvalidWheel(
                f"{filename}: the local header of member {shown!r} names "
                f"{local_name.decode('utf-8', 'replace')!r}"
            )
        if method != info.compress_type or flags != info.flag_bits:
            raise InvalidWheel(
                f"{filename}: the local header of member {shown!r} disagrees with the "
                "central directory"
            )
        if flags & _DESCRIPTOR_FLAG:
            local_ok = (crc, csize, usize) in ((0, 0, 0), (info.CRC, info.compress_size,
                                                           info.file_size))  # fmt: skip
        else:
            zip64 = 0xFFFFFFFF in (csize, usize)
            local_ok = crc == info.CRC and (
                zip64 or (csize == info.compress_size and usize == info.file_size)
            )
        if not local_ok:
            raise InvalidWheel(
                f"{filename}: the local header of member {shown!r} disagrees with the "
                "central directory about its size or CRC"
            )
        data_start = info.header_offset + _LOCAL_HEADER.size + name_len + extra_len
        data_offsets[info.header_offset] = data_start
        data_end = data_start + info.compress_size
        if flags & _DESCRIPTOR_FLAG:
            probe = os.pread(fd, 4, data_end) if data_end <= size else b""
            gaps = [n for n in _DESCRIPTOR_SIZES if (n % 8 == 0) == (probe == b"PK\x07\x08")]
            # The next header (or the directory) tells which descriptor size was used.
            nxt = ordered[index + 1].header_offset if index + 1 < len(ordered) else cd_offset
            if nxt - data_end not in gaps:
                raise InvalidWheel(
                    f"{filename}: unexpected bytes after member {shown!r} (hidden zip data)"
                )
            expected = nxt
        else:
            expected = data_end
    if expected != cd_offset:
        raise InvalidWheel(
            f"{filename}: unexpected bytes between its last member and its central directory"
        )
    return data_offsets
