"""A wheel's members read from their local headers while its bytes still arrive.

The central directory comes last, so a reader that starts before a download
ends goes by the local headers alone: a guess, until the finished file's
central directory agrees with it member by member (``store/stream.py`` checks
that). Whatever such a guess could get wrong stops the reading here
(``Unsure``) and the finished file is unpacked the ordinary way: bytes before
the first header, an encrypted member, a method other than stored or deflated,
a stored member with a data descriptor (its end cannot be found), zip64 sizes,
a name that is not plainly a safe relative path or that repeats another (as a
case-insensitive filesystem sees it), a descriptor that could be read two ways,
more output than the limits allow.
"""

from __future__ import annotations

import struct
import unicodedata
import zlib
from typing import TYPE_CHECKING, Protocol

from ..errors import InvalidWheel
from .inflate import CHUNK, zlib_module
from .members import MAX_FILES, check_member_name

if TYPE_CHECKING:
    Buffer = bytes | memoryview

_LOCAL = b"PK\x03\x04"
_CENTRAL = b"PK\x01\x02"
_ENDS = (b"PK\x05\x06", b"PK\x06\x06")
_DESCRIPTOR_SIG = b"PK\x07\x08"
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # 30 bytes
_DESCRIPTOR32 = struct.Struct("<III")
_DESCRIPTOR64 = struct.Struct("<IQQ")
_ENCRYPTED, _DESCRIPTOR, _UTF8 = 0x01, 0x08, 0x800
_STORED, _DEFLATED = 0, 8
# Reader states: before a local header, in a member's data, after a member's data
# (its descriptor), past the last member (the central directory: not read here).
_HEADER, _DATA, _AFTER, _DONE = range(4)


class Unsure(Exception):
    """The bytes so far are not plainly a wheel's members, one after another."""


class LocalMember:
    """One member as its local header (and data descriptor, if any) showed it."""

    __slots__ = ("name", "raw_name", "flag_bits", "compress_type", "CRC", "compress_size",
                 "file_size", "header_offset", "data_offset")  # fmt: skip

    def __init__(self, name: str, raw_name: bytes, flag_bits: int, compress_type: int) -> None:
        self.name = name
        self.raw_name = raw_name
        self.flag_bits = flag_bits
        self.compress_type = compress_type
        self.CRC = 0  # of the data as read, as are the sizes
        self.compress_size = 0
        self.file_size = 0
        self.header_offset = 0
        self.data_offset = 0


class Sink(Protocol):
    """Where a member's bytes go as they are read."""

    def begin(self, member: LocalMember) -> None: ...
    def write(self, data: Buffer) -> None: ...
    def end(self, member: LocalMember) -> None: ...


class LocalHeaders:
    """Feed it a wheel's bytes in order; it hands each member's data to ``sink``.

    ``budget`` is the most output all members together may have: past it the
    reading stops (a bomb never fills the disk). ``members`` are those read whole;
    ``done`` once the central directory starts, at ``end``.
    """

    def __init__(self, sink: Sink, budget: int) -> None:
        self.sink = sink
        self.members: list[LocalMember] = []
        self.end = -1
        self._budget = budget
        self._state = _HEADER
        self._rest = b""  # bytes not yet used (a header split between pieces)
        self._at = 0  # offset in the file of the first byte of _rest
        self._member: LocalMember | None = None
        self._left = 0  # compressed bytes still due (-1: until the deflate stream ends)
        self._inflater: zlib._Decompress | None = None
        self._seen: set[str] = set()
        self._crc = self._size = self._consumed = 0  # of the member being read

    @property
    def done(self) -> bool:
        return self._state == _DONE

    def feed(self, chunk: bytes) -> None:
        """Read the next bytes of the file; ``Unsure`` where a guess could be wrong."""
        if self._state == _DONE:
            return
        buf = self._rest + chunk if self._rest else chunk
        pos = 0
        while pos < len(buf) and self._state != _DONE:
            if self._state == _HEADER:
                used = self._header(buf, pos)
            elif self._state == _DATA:
                used = self._data(memoryview(buf)[pos:])
            else:
                used = self._after(buf, pos)
            if not used:
                break  # wants more bytes than there are
            pos += used
        self._at += pos
        self._rest = buf[pos:] if self._state != _DONE else b""

    def _header(self, buf: bytes, pos: int) -> int:
        sig = buf[pos : pos + 4]
        if len(sig) < 4:
            return 0
        if sig == _CENTRAL or sig in _ENDS:
            self._state = _DONE
            self.end = self._at + pos
            return 0
        if sig != _LOCAL:
            raise Unsure("not a local header where one must start")
        if len(buf) - pos < _LOCAL_HEADER.size:
            return 0
        (_sig, _version, flags, method, _time, _date, crc, csize, usize, name_len, extra_len) = (
            _LOCAL_HEADER.unpack_from(buf, pos)
        )
        size: int = _LOCAL_HEADER.size + name_len + extra_len
        if len(buf) - pos < size:
            return 0
        if flags & _ENCRYPTED or method not in (_STORED, _DEFLATED):
            raise Unsure("encrypted, or neither stored nor deflated")
        descriptor = bool(flags & _DESCRIPTOR)
        if descriptor and method == _STORED:
            raise Unsure("a stored member of unknown size")
        if not descriptor and 0xFFFFFFFF in (csize, usize):
            raise Unsure("zip64 sizes")
        if not descriptor and method == _STORED and csize != usize:
            raise Unsure("a stored member with two sizes")
        raw = buf[pos + _LOCAL_HEADER.size : pos + _LOCAL_HEADER.size + name_len]
        member = LocalMember(_name(raw, flags), raw, flags, method)
        folded = unicodedata.normalize("NFC", member.name.rstrip("/")).casefold()
        if folded in self._seen or len(self.members) >= MAX_FILES:
            raise Unsure("a repeated name, or too many members")
        self._seen.add(folded)
        member.header_offset = self._at + pos
        member.data_offset = self._at + pos + size
        if not descriptor:
            member.CRC, member.compress_size, member.file_size = crc, csize, usize
            if usize > self._budget:
                raise Unsure("more output than allowed")
        self._member = member
        self._left = -1 if descriptor else csize
        self._inflater = zlib_module.decompressobj(-15) if method == _DEFLATED else None
        self._crc = 0
        self._size = 0
        self._consumed = 0
        self.sink.begin(member)
        self._state = _DATA
        if self._left == 0 and method == _STORED:
            self._close_member()
        return size

    def _out(self, data: Buffer) -> None:
        size = len(data)
        self._size += size
        self._budget -= size
        if self._budget < 0:
            raise Unsure("more output than allowed")
        self._crc = zlib_module.crc32(data, self._crc)
        self.sink.write(data)

    def _data(self, view: memoryview) -> int:
        member = self._member
        assert member is not None
        inflater = self._inflater
        if inflater is None:  # stored: exactly its size
            piece = view[: self._left]
            self._out(piece)
            self._left -= len(piece)
            if not self._left:
                self._close_member()
            return len(piece)
        piece = view if self._left < 0 else view[: self._left]
        data: Buffer = piece
        while True:
            # Never more than is still due (or than the budget): a bomb stops at once.
            due = self._budget if self._left < 0 else member.file_size - self._size
            out = inflater.decompress(data, min(due, CHUNK) + 1)
            if out:
                if len(out) > due:
                    raise Unsure("more output than declared")
                self._out(out)
            data = inflater.unconsumed_tail
            if inflater.eof or not data:
                break
            if not out:
                raise Unsure("the deflate stream stalls")
        used = len(piece) - len(data) - len(inflater.unused_data)
        self._consumed += used
        if self._left >= 0:
            self._left -= used
            if inflater.eof != (self._left == 0):
                raise Unsure("the deflate stream ends elsewhere than the member")
        if inflater.eof:
            if self._left < 0:
                self._state = _AFTER
                return used
            self._close_member()
        return used

    def _after(self, buf: bytes, pos: int) -> int:
        """The data descriptor after a deflated member: 12 or 20 bytes, or 16 or 24 with
        its signature; exactly one reading must fit what follows and what was read."""
        if len(buf) - pos < 28:
            return 0
        member = self._member
        assert member is not None
        signed = buf[pos : pos + 4] == _DESCRIPTOR_SIG
        skip = 4 if signed else 0
        fits = []
        for record in (_DESCRIPTOR32, _DESCRIPTOR64):
            length = skip + record.size
            crc, csize, usize = record.unpack_from(buf, pos + skip)
            follows = buf[pos + length : pos + length + 4]
            if (crc, csize, usize) == (self._crc, self._consumed, self._size) and (
                follows in (_LOCAL, _CENTRAL)
            ):
                fits.append(length)
        if len(fits) != 1:
            raise Unsure("a data descriptor that fits no reading, or two")
        member.CRC, member.compress_size, member.file_size = self._crc, self._consumed, self._size
        self._close_member()
        return fits[0]

    def _close_member(self) -> None:
        member = self._member
        assert member is not None
        if (self._crc, self._size) != (member.CRC, member.file_size):
            raise Unsure("the data disagrees with its local header")
        if self._inflater is not None and self._consumed != member.compress_size:
            raise Unsure("the deflate stream ends elsewhere than the member")
        self.sink.end(member)
        self.members.append(member)
        self._member = self._inflater = None
        self._state = _HEADER


def _name(raw: bytes, flags: int) -> str:
    """The member's name, if it is plainly a safe relative path (as ``zipdir`` decodes it)."""
    if not (flags & _UTF8 or raw.isascii()):
        raise Unsure("a name in cp437")
    try:
        return check_member_name(raw.decode())
    except (UnicodeDecodeError, InvalidWheel):
        raise Unsure("not a plainly safe name") from None
