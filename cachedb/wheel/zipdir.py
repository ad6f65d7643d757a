"""A wheel's zip: its central directory, parsed once, and its byte layout checked.

``zipfile`` trusts the central directory. Other readers (streaming unzippers,
other installers, antivirus scanners) walk the local headers from the start of
the file, and some stop at the first end record they find. A wheel whose local
headers disagree with the central directory, that hides entries between
members, or that carries bytes before the first member or after the end record
means different things to different readers, so it is refused: the archive
cachedb unpacks is then the archive anyone else would see.

The central directory is parsed here, once, rather than by ``zipfile`` and
then again for these checks. The parse refuses everything ``zipfile``'s
refuses (and more: entries that overrun the directory, bytes left over in it,
zip64 records ``zipfile`` would not find), so where it accepts a wheel,
``zipfile`` reads the very same members from it.
"""

from __future__ import annotations

import os
import struct
from operator import attrgetter

from ..errors import InvalidWheel

_LOCAL = b"PK\x03\x04"
_CENTRAL = b"PK\x01\x02"
_END = b"PK\x05\x06"
_END64 = b"PK\x06\x06"
_END64_LOCATOR = b"PK\x06\x07"
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # 30 bytes
# 46 bytes; pad bytes skip what is not used: versions made by, reserved, time and
# date, disk number, internal attributes.
_CENTRAL_HEADER = struct.Struct("<4s2xBxHH4xIIIHHH4xII")
_END_RECORD = struct.Struct("<4sHHHHIIH")  # 22 bytes
_END64_RECORD = struct.Struct("<4sQHHIIQQQQ")  # 56 bytes
_END64_LOCATOR_RECORD = struct.Struct("<4sIQI")  # 20 bytes
_EXTRA_HEADER = struct.Struct("<HH")
_U64 = struct.Struct("<Q")
_NAME_LENGTH = struct.Struct("<H")  # at byte 28 of a central header
_LONGEST_NAME = 512  # looked back over for the start of a name found by its end
_MAX_COMMENT = 0xFFFF
_MAX_EXTRACT_VERSION = 63  # zipfile's: what a member may need to be read
_UTF8_FLAG = 0x800
_DESCRIPTOR_FLAG = 0x08
_ENCRYPTED_FLAG = 0x01
# A data descriptor is crc + two sizes (4- or 8-byte each), optionally signed.
_DESCRIPTOR_SIZES = (12, 16, 20, 24)
# Wheels up to this size are read in one call and inflated from memory; bigger ones
# member by member (a worker's peak memory is not the biggest wheel's size), their
# local headers HEADER_WINDOW bytes at a time: many small members' in one call.
IN_MEMORY = 8 * 1024**2
HEADER_WINDOW = 256 * 1024


class Member:
    """One central directory entry, as ``zipfile.ZipInfo`` would hold it."""

    __slots__ = (
        "name",
        "raw_name",
        "flag_bits",
        "compress_type",
        "CRC",
        "compress_size",
        "file_size",
        "header_offset",
        "external_attr",
        "data_offset",
    )

    def __init__(
        self,
        name: str,
        raw_name: bytes,
        flag_bits: int,
        compress_type: int,
        crc: int,
        compress_size: int,
        file_size: int,
        header_offset: int,
        external_attr: int,
    ) -> None:
        self.name = name
        self.raw_name = raw_name  # the name's bytes, as the local header must repeat them
        self.flag_bits = flag_bits
        self.compress_type = compress_type
        self.CRC = crc
        self.compress_size = compress_size
        self.file_size = file_size
        self.header_offset = header_offset
        self.external_attr = external_attr
        self.data_offset = -1  # where its data starts, once the local header is checked


class WheelBytes:
    """The open wheel's bytes: all of them in memory when it is small, else read on demand."""

    def __init__(self, fd: int, size: int, in_memory: int | None = None) -> None:
        self.fd = fd
        self.size = size
        self.data: bytes | None = None
        self._view = memoryview(b"")
        if size <= (IN_MEMORY if in_memory is None else in_memory):
            pieces = []
            got = 0
            while got < size:
                piece = os.pread(fd, size - got, got)
                if not piece:
                    break
                pieces.append(piece)
                got += len(piece)
            self.data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
            self.size = len(self.data)  # a file that shrank meanwhile is what was read
            self._view = memoryview(self.data)

    def read(self, offset: int, size: int) -> bytes:
        """Up to ``size`` bytes at ``offset`` (fewer only at the end), as a copy."""
        if self.data is not None:
            return self.data[offset : offset + size]
        return os.pread(self.fd, size, offset)

    def view(self, offset: int, size: int) -> bytes | memoryview:
        """Like ``read``, but without copying what is already in memory."""
        if self.data is not None:
            return self._view[offset : offset + size]
        return os.pread(self.fd, size, offset)

    def release(self) -> None:
        self._view.release()  # views sliced from it stay valid
        self.data = None


def _central_directory(src: WheelBytes, filename: str) -> tuple[int, int, int]:
    """``(offset, end, entries)`` of the central directory, checking the end record(s)."""
    size = src.size
    tail_size = min(size, _END_RECORD.size + _MAX_COMMENT)
    tail = src.read(size - tail_size, tail_size)
    pos = tail.rfind(_END)
    if pos < 0 or pos + _END_RECORD.size > len(tail):
        raise InvalidWheel(f"{filename} is not a valid zip archive: it has no end record")
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
        locator = src.read(locator_at, _END64_LOCATOR_RECORD.size)
    # Like zipfile, a zip64 locator right before the end record means zip64 records rule.
    zip64 = locator[:4] == _END64_LOCATOR
    if zip64 or 0xFFFFFFFF in (cd_size, cd_offset) or n_total == 0xFFFF:
        if not zip64:
            raise InvalidWheel(f"{filename} has a malformed zip64 end record")
        _sig, locator_disk, end64_at, disks = _END64_LOCATOR_RECORD.unpack(locator)
        if locator_disk != 0 or disks > 1:
            raise InvalidWheel(f"{filename} is a multi-disk zip archive")
        record = b"" if end64_at > locator_at else src.read(end64_at, _END64_RECORD.size)
        if len(record) != _END64_RECORD.size:
            raise InvalidWheel(f"{filename} has a truncated zip64 end record")
        sig, rec_size, _v1, _v2, disk, cd_disk, n_disk, n_total, cd_size, cd_offset = (
            _END64_RECORD.unpack(record)
        )
        if sig != _END64 or disk != 0 or cd_disk != 0 or n_disk != n_total:
            raise InvalidWheel(f"{filename} has a malformed zip64 end record")
        # zipfile looks for the zip64 record right before the locator: one without
        # extensible data is one where both readers find it.
        if rec_size != _END64_RECORD.size - 12 or end64_at + _END64_RECORD.size != locator_at:
            raise InvalidWheel(f"{filename} has data between its zip64 end records")
        cd_end = end64_at
    if cd_offset + cd_size != cd_end:
        # Also what a self-extracting prefix looks like: zipfile shifts every offset.
        raise InvalidWheel(f"{filename} has data before its first member or its central directory")
    return cd_offset, cd_end, n_total


def _zip64_extra(
    extra: bytes, file_size: int, compress_size: int, header_offset: int, filename: str
) -> tuple[int, int, int]:
    """The sizes and offset an extra field's zip64 block replaces, as ``zipfile`` reads it."""
    while len(extra) >= 4:
        kind, length = _EXTRA_HEADER.unpack_from(extra)
        if length + 4 > len(extra):
            raise InvalidWheel(f"{filename} is not a valid zip archive: corrupt extra field")
        if kind == 0x0001:
            data = extra[4 : length + 4]
            try:
                if file_size == 0xFFFFFFFF:
                    (file_size,) = _U64.unpack_from(data)
                    data = data[8:]
                if compress_size == 0xFFFFFFFF:
                    (compress_size,) = _U64.unpack_from(data)
                    data = data[8:]
                if header_offset == 0xFFFFFFFF:
                    (header_offset,) = _U64.unpack_from(data)
            except struct.error:
                raise InvalidWheel(
                    f"{filename} is not a valid zip archive: corrupt zip64 extra field"
                ) from None
        extra = extra[length + 4 :]
    return file_size, compress_size, header_offset


def _entry(directory: bytes, pos: int, filename: str) -> tuple[Member, int]:
    """The central directory entry at ``pos``, and where the next one starts."""
    end = len(directory)
    if pos + _CENTRAL_HEADER.size > end:
        raise InvalidWheel(f"{filename} is not a valid zip archive: truncated central directory")
    (sig, version, flags, method, crc, csize, usize, name_len, extra_len, comment_len,
     attr, offset) = _CENTRAL_HEADER.unpack_from(directory, pos)  # fmt: skip
    name_at = pos + _CENTRAL_HEADER.size
    extra_at = name_at + name_len
    pos = extra_at + extra_len + comment_len
    if sig != _CENTRAL or pos > end:
        raise InvalidWheel(f"{filename} is not a valid zip archive: bad central directory")
    if version > _MAX_EXTRACT_VERSION:
        raise InvalidWheel(f"{filename} needs zip version {version / 10:.1f} to be read")
    raw = directory[name_at:extra_at]
    try:
        # cp437 is ASCII below 0x80; the UTF-8 codec is the one without a lookup.
        name = raw.decode() if flags & _UTF8_FLAG or raw.isascii() else raw.decode("cp437")
    except UnicodeDecodeError:
        raise InvalidWheel(f"{filename} has a member name that is not valid UTF-8") from None
    if extra_len:
        usize, csize, offset = _zip64_extra(
            directory[extra_at : extra_at + extra_len], usize, csize, offset, filename
        )
    return Member(name, raw, flags, method, crc, csize, usize, offset, attr), pos


def _members(directory: bytes, filename: str) -> list[Member]:
    """The central directory's entries; it must hold nothing else."""
    members: list[Member] = []
    append = members.append
    entry = _entry
    end = len(directory)
    pos = 0
    while pos < end:
        member, pos = entry(directory, pos, filename)
        append(member)
    return members


def _named(directory: bytes, filename: str, suffix: bytes) -> list[Member]:
    """The entries whose names end with ``suffix``, found by searching for it rather
    than walking every entry (thousands, where one is wanted)."""
    found = []
    hit = directory.find(suffix)
    while hit >= 0:
        name_end = hit + len(suffix)
        # Going back from the suffix, the first central header whose name ends here
        # is this member's.
        for start in range(hit, max(_CENTRAL_HEADER.size, hit - _LONGEST_NAME) - 1, -1):
            header = start - _CENTRAL_HEADER.size
            if directory[header : header + 4] != _CENTRAL:
                continue
            if _NAME_LENGTH.unpack_from(directory, header + 28)[0] != name_end - start:
                continue
            found.append(_entry(directory, header, filename)[0])
            break
        hit = directory.find(suffix, hit + 1)
    return found


def read_directory(src: WheelBytes, filename: str, suffix: bytes = b"") -> tuple[list[Member], int]:
    """The members the central directory lists, and where it starts: the one parse of
    it, refused (``InvalidWheel``) where it is malformed or not where its end record
    says. Local headers are not looked at (``read_layout``, ``locate``).

    With ``suffix``, only the members whose names end with it, found by searching
    the directory's bytes: the other entries are neither parsed nor checked.
    """
    cd_offset, cd_end, entries = _central_directory(src, filename)
    directory = src.read(cd_offset, cd_end - cd_offset)
    if len(directory) != cd_end - cd_offset:
        raise InvalidWheel(f"{filename} is not a valid zip archive: truncated central directory")
    if suffix:
        return _named(directory, filename, suffix), cd_offset
    members = _members(directory, filename)
    if entries != len(members):
        raise InvalidWheel(
            f"{filename}: its zip end record counts {entries} members, "
            f"the central directory {len(members)}"
        )
    return members, cd_offset


def locate(src: WheelBytes, member: Member, filename: str) -> None:
    """Set ``member.data_offset`` from its local header, which must carry its name,
    method and flags: enough to read one member (``read_layout`` checks them all)."""
    header = src.read(member.header_offset, _LOCAL_HEADER.size + len(member.raw_name))
    if len(header) < _LOCAL_HEADER.size:
        raise InvalidWheel(f"{filename}: member {member.name!r} has a truncated local header")
    sig, _version, flags, method, *_, name_len, extra_len = _LOCAL_HEADER.unpack_from(header)
    if (
        sig != _LOCAL
        or header[_LOCAL_HEADER.size :] != member.raw_name
        or (method, flags) != (member.compress_type, member.flag_bits)
    ):
        raise InvalidWheel(
            f"{filename}: the local header of member {member.name!r} disagrees with the "
            "central directory"
        )
    member.data_offset = member.header_offset + _LOCAL_HEADER.size + name_len + extra_len


def read_layout(src: WheelBytes, filename: str) -> list[Member]:
    """The members of the zip, refused unless its bytes are exactly: members back to
    back, directory, end record.

    Every member's local header must carry the same name, method, flags and
    (unless a data descriptor follows) the same sizes and CRC as its central
    directory entry. Each member's ``data_offset`` is set, so the unpacker can
    read its data without parsing the local header again.
    """
    size = src.size
    members, cd_offset = read_directory(src, filename)
    ordered = sorted(members, key=attrgetter("header_offset"))
    read = src.read
    in_memory = src.data
    unpack = _LOCAL_HEADER.unpack_from
    expected = 0  # where the next local header must start
    window, window_at = b"", 0  # read member by member: the bytes read last, and where
    for index, member in enumerate(ordered):
        shown = member.name
        flag_bits = member.flag_bits
        if flag_bits & _ENCRYPTED_FLAG:
            raise InvalidWheel(f"{filename}: member {shown!r} is encrypted")
        header_offset = member.header_offset
        if header_offset != expected:
            raise InvalidWheel(
                f"{filename}: member {shown!r} does not start where the previous one ends "
                "(hidden, overlapping or shifted zip entries)"
            )
        name = member.raw_name
        if header_offset + _LOCAL_HEADER.size > size:
            raise InvalidWheel(f"{filename}: member {shown!r} has a truncated local header")
        if in_memory is not None:
            block, at = in_memory, header_offset
        else:  # the header and the name it should carry, from the last read if it holds them
            wanted, at = _LOCAL_HEADER.size + len(name), header_offset - window_at
            if at < 0 or at + wanted > len(window):
                window = read(header_offset, max(wanted, HEADER_WINDOW))
                window_at, at = header_offset, 0
            block = window
            if len(block) - at < _LOCAL_HEADER.size:
                raise InvalidWheel(f"{filename}: member {shown!r} has a truncated local header")
        (sig, _version, flags, method, _time, _date, crc, csize, usize, name_len, extra_len) = (
            unpack(block, at)
        )
        if sig != _LOCAL or name_len != len(name) or not block.startswith(name, at + 30):
            local_name = read(header_offset + _LOCAL_HEADER.size, name_len)
            raise InvalidWheel(
                f"{filename}: the local header of member {shown!r} names "
                f"{local_name.decode('utf-8', 'replace')!r}"
            )
        if method != member.compress_type or flags != flag_bits:
            raise InvalidWheel(
                f"{filename}: the local header of member {shown!r} disagrees with the "
                "central directory"
            )
        if flags & _DESCRIPTOR_FLAG:
            local_ok = (crc, csize, usize) in ((0, 0, 0), (member.CRC, member.compress_size,
                                                           member.file_size))  # fmt: skip
        else:
            zip64 = 0xFFFFFFFF in (csize, usize)
            local_ok = crc == member.CRC and (
                zip64 or (csize == member.compress_size and usize == member.file_size)
            )
        if not local_ok:
            raise InvalidWheel(
                f"{filename}: the local header of member {shown!r} disagrees with the "
                "central directory about its size or CRC"
            )
        data_start = header_offset + _LOCAL_HEADER.size + name_len + extra_len
        member.data_offset = data_start
        data_end = data_start + member.compress_size
        if flags & _DESCRIPTOR_FLAG:
            probe = read(data_end, 4) if data_end <= size else b""
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
    return members
