"""A zip written from another's members as they are stored (no inflate, no deflate) plus new ones.

Stamping a built wheel (build/provenance.py) changes two members; recompressing all
the others cost more than the rest of storing it. Only plain archives are copied this
way: members stored or deflated, no encryption, no ZIP64 (``copy_members`` returns
False for anything else and writes nothing, and the caller rewrites the wheel with
``zipfile``). Member names, times, attributes and extra fields are kept; a data
descriptor is dropped (the sizes are in the local header).
"""

from __future__ import annotations

import struct
import zipfile
import zlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import BinaryIO

_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_CENTRAL = struct.Struct("<4sBBHHHHHIIIHHHHHII")
_END = struct.Struct("<4sHHHHIIH")
_LIMIT = 0xFFFF0000  # below every ZIP64 threshold, with room for the new members
_UTF8 = 0x800
_DESCRIPTOR = 0x08
_ENCRYPTED = 0x01


def _plain(infos: Sequence[zipfile.ZipInfo]) -> bool:
    return len(infos) < 0xFF00 and all(
        i.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
        and not i.flag_bits & _ENCRYPTED
        and max(i.file_size, i.compress_size, i.header_offset) < _LIMIT
        for i in infos
    )


def _without_zip64(extra: bytes) -> bytes:
    out, at = [], 0
    while at + 4 <= len(extra):
        kind, size = struct.unpack_from("<HH", extra, at)
        if kind != 1:
            out.append(extra[at : at + 4 + size])
        at += 4 + size
    return b"".join(out)


def _dos_time(info: zipfile.ZipInfo) -> tuple[int, int]:
    year, month, day, hour, minute, second = info.date_time
    return hour << 11 | minute << 5 | second // 2, (year - 1980) << 9 | month << 5 | day


class _Writer:
    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._at = 0
        self._central: list[bytes] = []

    def member(self, info: zipfile.ZipInfo, crc: int, size: int, data: bytes, method: int) -> None:
        try:
            name, flags = info.filename.encode("ascii"), info.flag_bits & ~_UTF8
        except UnicodeEncodeError:
            name, flags = info.filename.encode("utf-8"), info.flag_bits | _UTF8
        flags &= ~_DESCRIPTOR
        extra = _without_zip64(info.extra)
        need = max(info.extract_version, 20 if method == zipfile.ZIP_DEFLATED else 10)
        dtime, ddate = _dos_time(info)
        sizes = (crc, len(data), size, len(name))
        header = _LOCAL.pack(b"PK\x03\x04", need, flags, method, dtime, ddate, *sizes, len(extra))
        self._central.append(
            _CENTRAL.pack(
                b"PK\x01\x02",
                info.create_version,
                info.create_system,
                need,
                flags,
                method,
                dtime,
                ddate,
                *sizes,
                len(extra),
                0,
                0,
                info.internal_attr,
                info.external_attr,
                self._at,
            )  # fmt: skip
            + name
            + extra
        )
        for part in (header, name, extra, data):
            self._out.write(part)
            self._at += len(part)

    def new(self, info: zipfile.ZipInfo, data: bytes) -> None:
        deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        packed = deflate.compress(data) + deflate.flush()
        self.member(info, zlib.crc32(data), len(data), packed, zipfile.ZIP_DEFLATED)

    def close(self) -> None:
        central = b"".join(self._central)
        self._out.write(central)
        n = len(self._central)
        self._out.write(_END.pack(b"PK\x05\x06", 0, 0, n, n, len(central), self._at, 0))


def copy_members(
    src: zipfile.ZipFile,
    raw: BinaryIO,
    out: BinaryIO,
    skipped: Sequence[str],
    added: Sequence[tuple[zipfile.ZipInfo, bytes]],
) -> bool:
    """Write to ``out`` the members of ``src`` (whose file is ``raw``) but ``skipped``, as
    stored, then ``added`` (deflated); False (nothing written) if ``src`` is not plain."""
    infos = [i for i in src.infolist() if i.filename not in skipped]
    if not _plain(infos):
        return False
    writer = _Writer(out)
    for info in infos:
        raw.seek(info.header_offset)
        head = raw.read(_LOCAL.size)
        if len(head) != _LOCAL.size or head[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile(f"bad local header for {info.filename}")
        name_len, extra_len = _LOCAL.unpack(head)[-2:]
        raw.seek(info.header_offset + _LOCAL.size + name_len + extra_len)
        data = raw.read(info.compress_size)
        if len(data) != info.compress_size:
            raise zipfile.BadZipFile(f"truncated member {info.filename}")
        writer.member(info, info.CRC, info.file_size, data, info.compress_type)
    for info, content in added:
        writer.new(info, content)
    writer.close()
    return True
