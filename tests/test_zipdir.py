"""The one parse of a wheel's central directory (``cachedb.wheel.zipdir``): the search for
the members with one name ending (the METADATA scan) finds what the full parse finds."""

from __future__ import annotations

import os
import random
import zipfile
from pathlib import Path

import pytest

from cachedb.errors import InvalidWheel
from cachedb.wheel import zipdir
from cachedb.wheel.metadata import wheel_metadata
from cachedb.wheel.zipdir import Member, WheelBytes, locate, read_directory, read_layout

SUFFIX = ".dist-info/METADATA"
_PIECES = [
    "pkg", "a.dist-info", "b-1.0.dist-info", "METADATA", "METADATA.bak", "x" * 200, "é",
    "sub", SUFFIX, "dist-info", "PK\x01\x02", "/",
]  # fmt: skip


def _fields(m: Member) -> tuple[object, ...]:
    return (m.name, m.raw_name, m.flag_bits, m.compress_type, m.CRC, m.compress_size,
            m.file_size, m.header_offset, m.external_attr)  # fmt: skip


def _random_zip(path: Path, rng: random.Random) -> None:
    names: set[str] = set()
    while len(names) < rng.randrange(1, 40):
        name = "".join(rng.choices(_PIECES, k=rng.randrange(1, 5))).strip("/") or "f"
        names.add(name[:400])  # the search looks back at most 512 bytes for a name's start
    with zipfile.ZipFile(path, "w") as zf:
        for name in sorted(names):
            method = rng.choice([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
            info = zipfile.ZipInfo(name)
            info.compress_type = method
            if rng.random() < 0.3:
                info.comment = rng.choice([SUFFIX, "PK\x01\x02", "note"]).encode()
            zf.writestr(info, rng.randbytes(rng.randrange(0, 300)))


def test_searching_by_name_finds_what_the_full_parse_finds(tmp_path: Path) -> None:
    rng = random.Random(21)
    for i in range(200):
        path = tmp_path / f"{i}.zip"
        _random_zip(path, rng)
        fd = os.open(path, os.O_RDONLY)
        try:
            src = WheelBytes(fd, os.fstat(fd).st_size, in_memory=0)
            every, start = read_directory(src, path.name)
            found, found_start = read_directory(src, path.name, SUFFIX.encode())
        finally:
            os.close(fd)
        assert found_start == start
        expected = [_fields(m) for m in every if m.name.endswith(SUFFIX)]
        assert [_fields(m) for m in found] == expected, path


def test_locate_finds_the_data_zipfile_reads(tmp_path: Path) -> None:
    path = tmp_path / "w.zip"
    _random_zip(path, random.Random(5))
    fd = os.open(path, os.O_RDONLY)
    try:
        src = WheelBytes(fd, os.fstat(fd).st_size)
        members, _ = read_directory(src, path.name)
        with zipfile.ZipFile(path) as zf:
            for member in members:
                locate(src, member, path.name)
                if member.compress_type == zipfile.ZIP_STORED:
                    data = src.read(member.data_offset, member.compress_size)
                    assert data == zf.read(member.name)
    finally:
        os.close(fd)


def test_a_local_header_that_names_another_member_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("aaaa", b"1")
    data = path.read_bytes()
    path.write_bytes(data.replace(b"aaaa", b"bbbb", 1))  # the local header's copy only
    fd = os.open(path, os.O_RDONLY)
    try:
        src = WheelBytes(fd, os.fstat(fd).st_size)
        (member,), _ = read_directory(src, path.name)
        with pytest.raises(InvalidWheel, match="disagrees with the central directory"):
            locate(src, member, path.name)
    finally:
        os.close(fd)


def test_metadata_behind_a_lying_local_header_is_zipfiles_to_refuse(tmp_path: Path) -> None:
    # The scan does not read past a local header that disagrees; zipfile refuses it.
    path = tmp_path / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("demo-1.0.dist-info/METADATA", b"Name: demo\nVersion: 1.0\n")
    data = path.read_bytes()
    path.write_bytes(data.replace(b"demo-1.0.dist-info", b"demo-2.0.dist-info", 1))
    with pytest.raises(InvalidWheel, match="not a readable wheel"):
        wheel_metadata(path)


def _layout(path: Path, in_memory: int) -> tuple[object, ...]:
    """What ``read_layout`` says of ``path``: every member with its data offset, or the error."""
    fd = os.open(path, os.O_RDONLY)
    try:
        src = WheelBytes(fd, os.fstat(fd).st_size, in_memory=in_memory)
        try:
            members = read_layout(src, path.name)
        except InvalidWheel as exc:
            return ("refused", str(exc))
        return tuple((*_fields(m), m.data_offset) for m in members)
    finally:
        os.close(fd)


@pytest.mark.parametrize("window", [1, 37, 200, 4096])
def test_the_layout_read_member_by_member_is_the_layout_read_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, window: int
) -> None:
    # A big wheel's local headers are read a window at a time (zipdir.HEADER_WINDOW), a
    # small one's from memory: both accept the same zips, with the same offsets, and
    # refuse the same ones with the same words, wherever a header meets a window's end.
    monkeypatch.setattr(zipdir, "HEADER_WINDOW", window)
    rng = random.Random(window)
    path = tmp_path / "w.zip"
    refused = 0
    for _ in range(150):
        _random_zip(path, rng)
        data = bytearray(path.read_bytes())
        for _ in range(rng.choice([0, 0, 1, 3])):  # a few bytes changed anywhere
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.1:  # a header truncated at the end of the file
            data = data[: rng.randrange(len(data))]
        path.write_bytes(bytes(data))
        whole = _layout(path, in_memory=len(data))
        assert _layout(path, in_memory=0) == whole
        refused += whole[0] == "refused"
    assert 0 < refused < 150  # both outcomes were compared
