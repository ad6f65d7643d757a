"""Member by member: what the unpacker reads from each entry, and how it refuses a liar.

The unpacker reads member data at the offset the layout check found, inflates
it in as few calls as it can and writes it on two threads; these tests pin
down that none of that loosens a check: sizes, CRCs, truncated streams,
streaming of big members, other compression methods, data descriptors.

Every test here runs twice: with the wheel read into memory at once (small
wheels) and read member by member (big ones). The central directory is parsed
by ``cachedb.wheel.zipdir`` instead of ``zipfile``; where it accepts a zip, ``zipfile``
must read the very same members.
"""

from __future__ import annotations

import io
import os
import pickle
import random
import struct
import zipfile
import zlib
from pathlib import Path

import pytest
from wheelbuilder import UnseekableStream, make_wheel

from cachedb.errors import InvalidWheel
from cachedb.store import extract as extract_module
from cachedb.store.unpack import FileEntry, unpack_wheel
from cachedb.wheel import inflate, zipdir

_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_CENTRAL = b"PK\x01\x02"


@pytest.fixture(autouse=True, params=["in-memory", "read-by-member"])
def read_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "read-by-member":
        monkeypatch.setattr(zipdir, "IN_MEMORY", 0)
    return str(request.param)


def _patch_member(
    wheel: Path,
    name: str,
    *,
    method: int | None = None,
    crc: int | None = None,
    size: int | None = None,
) -> Path:
    """Rewrite what both headers of ``name`` declare (zipfile would never write a lie)."""
    data = bytearray(wheel.read_bytes())
    with zipfile.ZipFile(wheel) as zf:
        info = zf.getinfo(name)
    local = info.header_offset
    central = -1
    pos = 0
    while True:
        pos = data.index(_CENTRAL, pos)
        name_len = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46 : pos + 46 + name_len] == name.encode():
            central = pos
            break
        pos += 4
    for field, local_at, central_at in (("method", 8, 10), ("crc", 14, 16), ("size", 22, 24)):
        value = {"method": method, "crc": crc, "size": size}[field]
        if value is None:
            continue
        fmt = "<H" if field == "method" else "<I"
        struct.pack_into(fmt, data, local + local_at, value)
        struct.pack_into(fmt, data, central + central_at, value)
    wheel.write_bytes(bytes(data))
    return wheel


def _recompress(wheel: Path, method: int) -> Path:
    """The same members, written with another compression method."""
    out = io.BytesIO()
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            content = src.read(info)
            info.compress_type = method
            dst.writestr(info, content)
    wheel.write_bytes(out.getvalue())
    return wheel


def _refused(wheel: Path, staging: Path, match: str) -> str:
    with pytest.raises(InvalidWheel, match=match) as info:
        unpack_wheel(wheel, staging)
    message = str(info.value)
    assert message and "\n" not in message
    assert list(staging.iterdir()) == [], "a refused wheel left its staging directory"
    return message


def _read_tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_member_inflating_past_its_declared_size_is_refused(tmp_path: Path) -> None:
    # A bomb that lies in its headers: 50 MB of zeros declared as 100 bytes.
    wheel = make_wheel(tmp_path / "w", "demo", files={"demo/bomb.bin": b"\0" * 50_000_000})
    _patch_member(wheel, "demo/bomb.bin", size=100)
    _refused(wheel, tmp_path / "staging", "larger than its declared size")


def test_member_shorter_than_declared_is_refused(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "demo", files={"demo/a.py": b"A = 1\n" * 100})
    _patch_member(wheel, "demo/a.py", size=601)
    _refused(wheel, tmp_path / "staging", "corrupt.*shorter than its declared size")


def test_truncated_deflate_stream_is_refused(tmp_path: Path) -> None:
    content = os.urandom(5000)
    partial = zlib.compressobj(wbits=-15).compress(content)  # never flushed: no end of stream
    wheel = make_wheel(tmp_path / "w", "demo", files={"demo/a.bin": content})
    # Store the cut stream, then call it deflated: sizes and offsets stay consistent.
    with zipfile.ZipFile(wheel) as zf:
        members = [(i, zf.read(i)) for i in zf.infolist()]
    with zipfile.ZipFile(wheel, "w") as zf:
        for info, data in members:
            if info.filename == "demo/a.bin":
                info.compress_type = zipfile.ZIP_STORED
                data = partial
            zf.writestr(info, data)
    _patch_member(wheel, "demo/a.bin", method=zipfile.ZIP_DEFLATED, size=5000)
    _patch_member(wheel, "demo/a.bin", crc=zlib.crc32(content))
    _refused(wheel, tmp_path / "staging", "corrupt")


def test_bad_crc_of_record_is_refused(tmp_path: Path) -> None:
    # RECORD has no digest of its own: its CRC is what vouches for its bytes.
    wheel = make_wheel(tmp_path / "w", "demo")
    _patch_member(wheel, "demo-1.0.dist-info/RECORD", crc=12345)
    _refused(wheel, tmp_path / "staging", "corrupt.*CRC")


def test_flipped_byte_in_a_stored_member_is_refused(tmp_path: Path) -> None:
    wheel = _recompress(
        make_wheel(tmp_path / "w", "demo", files={"demo/a.py": "A = 'xxxxxxxx'\n"}),
        zipfile.ZIP_STORED,
    )
    data = wheel.read_bytes()
    wheel.write_bytes(data.replace(b"A = 'xxxxxxxx'", b"A = 'xxxxYxxx'", 1))
    _refused(wheel, tmp_path / "staging", "does not match its sha256 hash in RECORD")


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_big_members_are_streamed_in_pieces(
    method: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inflate, "CHUNK", 1000)
    files: dict[str, bytes | str] = {
        "demo/__init__.py": "",
        "demo/random.bin": os.urandom(25_000),
        "demo/zeros.bin": b"\0" * 300_000,
        "demo/text.txt": "".join(f"line {i}\n" for i in range(5000)),
        "demo/empty.txt": "",
    }
    wheel = _recompress(make_wheel(tmp_path / "w", "demo", files=files), method)
    unpacked = unpack_wheel(wheel, tmp_path / "staging")
    tree = _read_tree(unpacked.directory)
    for name, content in files.items():
        assert tree[name] == (content.encode() if isinstance(content, str) else content)
    sizes = {f.path: f.size for f in unpacked.files}
    assert sizes["demo/zeros.bin"] == 300_000 and sizes["demo/empty.txt"] == 0


def test_streamed_bomb_stops_at_the_declared_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inflate, "CHUNK", 1000)
    wheel = make_wheel(tmp_path / "w", "demo", files={"demo/bomb.bin": b"\0" * 1_000_000})
    _patch_member(wheel, "demo/bomb.bin", size=5000)
    _refused(wheel, tmp_path / "staging", "larger than its declared size")


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_other_compression_methods_are_unpacked(method: int, tmp_path: Path) -> None:
    files = {"demo/__init__.py": "X = 1\n", "demo/data.txt": "abc" * 1000}
    wheel = _recompress(make_wheel(tmp_path / "w", "demo", files=files), method)
    unpacked = unpack_wheel(wheel, tmp_path / "staging")
    assert (unpacked.directory / "demo" / "data.txt").read_text() == "abc" * 1000


def test_other_compression_method_lying_about_its_size_is_refused(tmp_path: Path) -> None:
    wheel = _recompress(
        make_wheel(tmp_path / "w", "demo", files={"demo/data.txt": "abc" * 1000}),
        zipfile.ZIP_BZIP2,
    )
    _patch_member(wheel, "demo/data.txt", size=10)
    # zipfile reads no more than the declared size, then finds the CRC wrong.
    _refused(wheel, tmp_path / "staging", "larger than its declared size|CRC")


def test_members_with_data_descriptors_are_unpacked(tmp_path: Path) -> None:
    source = make_wheel(tmp_path / "w", "demo", files={"demo/__init__.py": "X = 1\n" * 50})
    stream = UnseekableStream()
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(stream, "w") as dst:
        for info in src.infolist():
            with dst.open(info.filename, "w") as out:
                out.write(src.read(info))
    assert all(i.flag_bits & 0x08 for i in zipfile.ZipFile(io.BytesIO(stream.data)).infolist())
    wheel = tmp_path / "dd" / source.name
    wheel.parent.mkdir()
    wheel.write_bytes(bytes(stream.data))
    unpacked = unpack_wheel(wheel, tmp_path / "staging")
    assert (unpacked.directory / "demo" / "__init__.py").read_text() == "X = 1\n" * 50


def _many_files(count: int) -> dict[str, bytes | str]:
    files: dict[str, bytes | str] = {"demo/__init__.py": ""}
    for i in range(count):
        files[f"demo/sub{i % 7}/deeper{i % 3}/mod{i}.py"] = f"N = {i}\n" * (i % 50)
    files["demo/big.bin"] = os.urandom(200_000)
    return files


def test_many_members_are_unpacked_on_two_threads(tmp_path: Path) -> None:
    files = _many_files(3 * extract_module.PARALLEL_THRESHOLD)
    wheel = make_wheel(
        tmp_path / "w", "demo", files=files, executable=["demo/sub1/deeper1/mod1.py"]
    )
    with zipfile.ZipFile(wheel) as zf:
        names = [i.filename for i in zf.infolist()]
    unpacked = unpack_wheel(wheel, tmp_path / "staging")
    # The file list keeps the archive's order, whatever order the threads finished in.
    assert [f.path for f in unpacked.files] == names
    tree = _read_tree(unpacked.directory)
    for name, content in files.items():
        assert tree[name] == (content.encode() if isinstance(content, str) else content)
    executable = {f.path for f in unpacked.files if f.executable}
    assert executable == {"demo/sub1/deeper1/mod1.py"}
    assert os.stat(unpacked.directory / "demo/sub1/deeper1/mod1.py").st_mode & 0o111


def test_one_bad_member_among_many_removes_everything(tmp_path: Path) -> None:
    bad = "demo/sub3/deeper1/mod10.py"
    files = _many_files(3 * extract_module.PARALLEL_THRESHOLD)
    wheel = make_wheel(
        tmp_path / "w",
        "demo",
        files=files,
        record_overrides={bad: f"{bad},sha256=AAAA,100"},
    )
    _refused(wheel, tmp_path / "staging", "mod10.py' does not match")


def test_directory_entries_and_nested_directories(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path / "w",
        "demo",
        files={"demo/__init__.py": "", "demo/a/b/c/d.py": "D = 1\n"},
    )
    with zipfile.ZipFile(wheel, "a") as zf:
        zf.writestr(zipfile.ZipInfo("demo/a/"), b"")
        zf.writestr(zipfile.ZipInfo("demo/a/b/"), b"")
    unpacked = unpack_wheel(wheel, tmp_path / "staging")
    assert (unpacked.directory / "demo/a/b/c/d.py").read_text() == "D = 1\n"
    assert [f.path for f in unpacked.files if f.path.startswith("demo/a")] == ["demo/a/b/c/d.py"]


def _zip_members(wheel: Path) -> list[tuple[object, ...]]:
    """What ``zipfile`` reads from the central directory, field by field."""
    with zipfile.ZipFile(wheel) as zf:
        return [
            (i.filename, i.flag_bits, i.compress_type, i.CRC, i.compress_size, i.file_size,
             i.header_offset, i.external_attr)
            for i in zf.infolist()
        ]  # fmt: skip


def _our_members(wheel: Path) -> list[tuple[object, ...]]:
    fd = os.open(wheel, os.O_RDONLY)
    try:
        members = zipdir.read_layout(zipdir.WheelBytes(fd, os.fstat(fd).st_size), wheel.name)
    finally:
        os.close(fd)
    return [
        (m.name, m.flag_bits, m.compress_type, m.CRC, m.compress_size, m.file_size,
         m.header_offset, m.external_attr)
        for m in members
    ]  # fmt: skip


def _zip64_directory(wheel: Path, *, extra_tail: bytes = b"", short: bool = False) -> Path:
    """Rewrite every central directory entry the zip64 way: sizes and offset 0xFFFFFFFF,
    the real values in a zip64 extra field (``short``: one value too few)."""
    data = wheel.read_bytes()
    end = data.rindex(b"PK\x05\x06")
    count, cd_size, cd_offset = struct.unpack_from("<HII", data, end + 10)
    directory = bytearray()
    pos = cd_offset
    for _ in range(count):
        header = bytearray(data[pos : pos + 46])
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", header, 28)
        csize, usize = struct.unpack_from("<II", header, 20)
        (offset,) = struct.unpack_from("<I", header, 42)
        values = (usize, csize) if short else (usize, csize, offset)
        extra = struct.pack("<HH", 1, 8 * len(values)) + struct.pack(f"<{len(values)}Q", *values)
        extra += extra_tail
        struct.pack_into("<II", header, 20, 0xFFFFFFFF, 0xFFFFFFFF)
        struct.pack_into("<I", header, 42, 0xFFFFFFFF)
        struct.pack_into("<H", header, 30, extra_len + len(extra))
        rest = data[pos + 46 : pos + 46 + name_len + extra_len + comment_len]
        directory += header + rest[: name_len + extra_len] + extra + rest[name_len + extra_len :]
        pos += 46 + name_len + extra_len + comment_len
    tail = bytearray(data[end:])
    struct.pack_into("<I", tail, 12, len(directory))
    wheel.write_bytes(data[:cd_offset] + bytes(directory) + bytes(tail))
    return wheel


def test_zip64_extra_fields_in_the_central_directory(tmp_path: Path) -> None:
    files = {"demo/__init__.py": "X = 1\n", "demo/data.bin": os.urandom(3000)}
    wheel = make_wheel(tmp_path / "w", "demo", files=files)
    before = _zip_members(wheel)
    _zip64_directory(wheel)
    assert _our_members(wheel) == _zip_members(wheel) == before
    unpacked = unpack_wheel(wheel, tmp_path / "staging")
    assert (unpacked.directory / "demo/data.bin").read_bytes() == files["demo/data.bin"]


@pytest.mark.parametrize(
    "how", ["zip64 field too short", "extra field overruns the entry"]
)  # fmt: skip
def test_corrupt_extra_fields_are_refused_as_zipfile_refuses_them(how: str, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "w", "demo")
    if how == "zip64 field too short":
        _zip64_directory(wheel, short=True)
    else:
        _zip64_directory(wheel, extra_tail=struct.pack("<HH", 0x7075, 40) + b"x")
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(wheel)
    _refused(wheel, tmp_path / "staging", "not a valid zip archive")


def _central_directory_at(data: bytes) -> tuple[int, int, int]:
    end = data.rindex(b"PK\x05\x06")
    count, cd_size, cd_offset = struct.unpack_from("<HII", data, end + 10)
    return end, cd_size, cd_offset


def test_bytes_left_over_in_the_central_directory_are_refused(tmp_path: Path) -> None:
    # Junk after the last entry, within the size the end record declares.
    wheel = make_wheel(tmp_path / "w", "demo")
    data = wheel.read_bytes()
    end, cd_size, cd_offset = _central_directory_at(data)
    tail = bytearray(data[end:])
    struct.pack_into("<I", tail, 12, cd_size + 8)
    wheel.write_bytes(data[:end] + b"PK\x01\x02junk"[:8] + bytes(tail))
    _refused(wheel, tmp_path / "staging", "not a valid zip archive|central directory")


def test_central_directory_entry_overrunning_the_directory_is_refused(tmp_path: Path) -> None:
    # zipfile would read the last entry's name from past the directory's end.
    wheel = make_wheel(tmp_path / "w", "demo")
    data = bytearray(wheel.read_bytes())
    end, cd_size, cd_offset = _central_directory_at(bytes(data))
    last = bytes(data).rindex(b"PK\x01\x02", cd_offset, end)
    struct.pack_into("<H", data, last + 32, 100)  # a comment that does not fit
    wheel.write_bytes(bytes(data))
    _refused(wheel, tmp_path / "staging", "not a valid zip archive")


def _mutations(data: bytes, rng: random.Random) -> bytes:
    """A few random byte edits, mostly in the central directory and end record."""
    buf = bytearray(data)
    _end, _cd_size, cd_offset = _central_directory_at(data)
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(cd_offset, len(buf)) if rng.random() < 0.8 else rng.randrange(len(buf))
        buf[at] = rng.randrange(256)
    return bytes(buf)


def test_accepted_central_directories_read_as_zipfile_reads_them(tmp_path: Path) -> None:
    files: dict[str, bytes | str] = {
        "demo/__init__.py": "X = 1\n",
        "demo/caf\u00e9.py": "Y = 2\n",
        "demo/sub/data.bin": os.urandom(500),
    }
    base = make_wheel(tmp_path / "w", "demo", files=files, executable=["demo/__init__.py"])
    bases = [base.read_bytes(), _recompress(base, zipfile.ZIP_STORED).read_bytes()]
    rng = random.Random(20240617)
    accepted = 0
    probe = tmp_path / "probe.whl"
    for _ in range(600):
        probe.write_bytes(_mutations(rng.choice(bases), rng))
        try:
            ours = _our_members(probe)
        except InvalidWheel as exc:
            assert "\n" not in str(exc)
            continue
        accepted += 1
        assert ours == _zip_members(probe)
    assert accepted > 50  # the comparison ran on plenty of (mostly harmlessly) edited zips


def test_the_fast_path_writes_what_the_general_path_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files: dict[str, bytes | str] = {
        "demo/__init__.py": "",
        "demo/a.py": "A = 1\n" * 300,
        "demo/random.bin": os.urandom(20_000),
        "demo/empty.txt": "",
        "demo-1.0.data/scripts/run": "#!python\nprint(1)\n",
    }
    wheel = make_wheel(
        tmp_path / "w", "demo", files=files, executable=["demo-1.0.data/scripts/run"]
    )
    fast = unpack_wheel(wheel, tmp_path / "fast")
    monkeypatch.setattr(extract_module.Writer, "extract", extract_module.Writer.extract_any)
    general = unpack_wheel(wheel, tmp_path / "general")
    assert fast.files == general.files
    assert _read_tree(fast.directory) == _read_tree(general.directory)
    for entry in fast.files:
        mode = os.stat(fast.directory / entry.path).st_mode
        assert mode == os.stat(general.directory / entry.path).st_mode
        assert bool(mode & 0o111) == entry.executable


def test_unpacked_wheel_survives_pickling(tmp_path: Path) -> None:
    # Unpacking workers pickle it to their parent, the files as plain tuples.
    unpacked = unpack_wheel(make_wheel(tmp_path / "w", "demo"), tmp_path / "staging")
    again = pickle.loads(pickle.dumps(unpacked))
    assert again == unpacked
    assert all(type(f) is FileEntry for f in again.files)
    assert again.files[0].path == unpacked.files[0].path


def test_only_the_directories_files_need_are_made(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path / "w",
        "demo",
        files={"demo/__init__.py": "", "demo/a/b/c.py": "", "demo/a/d.py": "", "top.py": ""},
    )
    with zipfile.ZipFile(wheel, "a") as zf:
        zf.writestr(zipfile.ZipInfo("demo/empty/"), b"")
    root = unpack_wheel(wheel, tmp_path / "staging").directory
    made = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_dir())
    assert made == ["demo", "demo-1.0.dist-info", "demo/a", "demo/a/b"]
