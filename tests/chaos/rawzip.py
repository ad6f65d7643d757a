"""Write zip files byte by byte, so that tests can make them lie.

``zipfile`` always writes a consistent archive; a hostile wheel is one whose
local headers, central directory and end record disagree, or that carries
bytes no member accounts for. ``write_zip`` writes stored (uncompressed)
members and lets each field be overridden.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

_LOCAL = 0x04034B50
_CENTRAL = 0x02014B50
_END = 0x06054B50
_DOS_TIME, _DOS_DATE = 0, (40 << 9) | (1 << 5) | 1  # 2020-01-01 00:00


@dataclass
class Member:
    name: str
    data: bytes
    local_name: str | None = None  # what the local header says, if it differs
    in_central: bool = True  # False: a local entry the central directory hides
    local_size: int | None = None  # a different compressed size in the local header
    mode: int = 0o100644  # st_mode for the external attributes (0o120777: a symlink)


def _encode(name: str) -> tuple[bytes, int]:
    raw = name.encode("utf-8")
    return raw, (0x800 if not name.isascii() else 0)


def write_zip(
    path: Path,
    members: list[Member],
    *,
    prefix: bytes = b"",
    trailing: bytes = b"",
    comment: bytes = b"",
) -> Path:
    """Write ``members`` (stored, uncompressed) as a zip at ``path``."""
    out = bytearray(prefix)
    central = bytearray()
    count = 0
    for m in members:
        offset = len(out)
        crc = zlib.crc32(m.data)
        size = len(m.data)
        local_raw, local_flags = _encode(m.local_name if m.local_name is not None else m.name)
        local_csize = size if m.local_size is None else m.local_size
        out += struct.pack(
            "<IHHHHHIIIHH",
            _LOCAL, 20, local_flags, 0, _DOS_TIME, _DOS_DATE,
            crc, local_csize, local_csize, len(local_raw), 0,
        )  # fmt: skip
        out += local_raw + m.data
        if not m.in_central:
            continue
        raw, flags = _encode(m.name)
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            _CENTRAL, (3 << 8) | 20, 20, flags, 0, _DOS_TIME, _DOS_DATE,
            crc, size, size, len(raw), 0, 0, 0, 0, m.mode << 16, offset - len(prefix),
        )  # fmt: skip
        central += raw
        count += 1
    cd_offset = len(out) - len(prefix)
    out += central
    out += struct.pack("<IHHHHIIH", _END, 0, 0, count, count, len(central), cd_offset, len(comment))
    out += comment + trailing
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(out))
    return path


def members_of(wheel: Path) -> list[Member]:
    """The members of a (valid) zip, in order, as ``Member`` values to edit and rewrite."""
    with zipfile.ZipFile(wheel) as zf:
        return [
            Member(info.filename, zf.read(info), mode=(info.external_attr >> 16) or 0o100644)
            for info in zf.infolist()
        ]
