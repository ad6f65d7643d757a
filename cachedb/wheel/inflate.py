"""A wheel member's bytes: stored or inflated, never more than its zip entry declares.

Stored and deflated members (every wheel builder's) are read straight from the
wheel's bytes, a small one in one piece; bzip2 and lzma through ``zipfile``.
"""

from __future__ import annotations

import lzma
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from types import ModuleType

from ..errors import InvalidWheel
from .zipdir import Member, WheelBytes

zlib_module: ModuleType
try:  # Inflates about twice as fast as the system zlib: 0.32 s against 0.60 s of CPU
    # for the benchmark's 46 wheels, where inflating is most of a cold install's work.
    from zlib_ng import zlib_ng as zlib_module
except ImportError:  # pragma: no cover - where no zlib-ng wheel exists
    zlib_module = zlib
_zlib = zlib_module

CHUNK = 1024 * 1024  # largest read or inflated piece held in memory per member
# Compression methods read here rather than through zipfile.
READ_HERE = frozenset((zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED))
# What zipfile and its decompressors raise, besides BadZipFile, for a damaged archive.
CORRUPT_ZIP = (
    EOFError,
    NotImplementedError,
    RuntimeError,
    ValueError,
    zlib.error,
    _zlib.error,
    lzma.LZMAError,
    struct.error,
)


class Corrupt(Exception):
    """A member's bytes do not decode to what its zip entry declares."""


def whole(src: WheelBytes, info: Member) -> bytes | memoryview:
    """A small member in one read and (deflated) one inflate call."""
    raw = src.view(info.data_offset, info.compress_size)
    if len(raw) != info.compress_size:
        raise Corrupt(f"member {info.name!r} is truncated")
    if info.compress_type == zipfile.ZIP_STORED:
        if info.compress_size != info.file_size:
            raise Corrupt(f"stored member {info.name!r} has two different sizes")
        return raw
    inflater = _zlib.decompressobj(-15)
    # One byte more than declared is enough to tell a liar; a bomb stops there.
    data: bytes = inflater.decompress(raw, info.file_size + 1)
    if len(data) > info.file_size:
        raise InvalidWheel(f"{info.name!r} is larger than its declared size")
    if not inflater.eof:
        raise Corrupt(f"member {info.name!r} is truncated")
    if len(data) != info.file_size:
        raise Corrupt(f"member {info.name!r} is shorter than its declared size")
    return data


def _stored(src: WheelBytes, info: Member) -> Iterator[bytes | memoryview]:
    if info.compress_size != info.file_size:
        raise Corrupt(f"stored member {info.name!r} has two different sizes")
    offset = info.data_offset
    left = info.file_size
    while left:
        chunk = src.view(offset, min(left, CHUNK))
        if not chunk:
            raise Corrupt(f"member {info.name!r} is truncated")
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
            pending = src.view(offset, min(left, CHUNK))
            if not pending:
                raise Corrupt(f"member {info.name!r} is truncated")
            offset += len(pending)
            left -= len(pending)
        # At most one byte more than is still due: a bomb stops after one piece.
        out = inflater.decompress(pending, min(due, CHUNK) + 1)
        pending = inflater.unconsumed_tail
        if len(out) > due:
            raise InvalidWheel(f"{info.name!r} is larger than its declared size")
        if out:
            due -= len(out)
            yield out
        elif not pending and not left:
            break  # all input consumed, no output and no end of stream
    if not inflater.eof:
        raise Corrupt(f"member {info.name!r} is truncated")
    if due:
        raise Corrupt(f"member {info.name!r} is shorter than its declared size")


def _other_method(zf: zipfile.ZipFile | None, info: Member) -> Iterator[bytes]:
    """bzip2 and lzma, which no wheel builder writes: zipfile's reader is fast enough."""
    if zf is None:
        raise Corrupt(f"member {info.name!r} uses an unknown compression method")
    size = 0
    try:
        member = zf.open(info.name)
    except KeyError:  # zipfile reads the directory as we do; this is for a file changed since
        raise Corrupt(f"member {info.name!r} is missing") from None
    with member:
        while chunk := member.read(CHUNK):
            size += len(chunk)
            if size > info.file_size:
                raise InvalidWheel(f"{info.name!r} is larger than its declared size")
            yield chunk
    if size != info.file_size:
        raise Corrupt(f"member {info.name!r} is shorter than its declared size")


class MemberReader:
    """The open wheel's files, by name, read whole or piece by piece."""

    def __init__(
        self,
        src: WheelBytes,
        members: dict[str, Member],
        zf: zipfile.ZipFile | None,
    ) -> None:
        self.src = src
        self.members = members  # the files, by name
        self.zf = zf  # for members neither stored nor deflated

    def chunks(self, info: Member) -> Iterable[bytes | memoryview]:
        """The member's bytes in pieces of at most ``CHUNK``, checked against its sizes
        (``Corrupt``, or ``InvalidWheel`` for more than it declares) but not its CRC."""
        method = info.compress_type
        if method == zipfile.ZIP_DEFLATED or method == zipfile.ZIP_STORED:
            if info.file_size <= CHUNK and info.compress_size <= CHUNK:
                return (whole(self.src, info),)
            if method == zipfile.ZIP_DEFLATED:
                return _deflated(self.src, info)
            return _stored(self.src, info)
        return _other_method(self.zf, info)

    def read(self, name: str) -> bytes:
        """The bytes of member ``name`` (KeyError if there is none), checked against its CRC."""
        info = self.members[name]
        data = b"".join(self.chunks(info))
        if _zlib.crc32(data) != info.CRC:
            raise Corrupt(f"bad CRC-32 for member {name!r}")
        return data
