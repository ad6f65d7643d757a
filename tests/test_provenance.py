"""Stamping a built wheel with its source's revision (build/provenance.py) copies its members
as stored (build/zipcopy.py): the stamped wheel reads back member for member as the one
re-deflated by ``zipfile`` does (names, bytes, times, modes, RECORD), for every kind of
zip a backend writes; zips it cannot copy as stored are re-deflated."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from cachedb.build import provenance, zipcopy
from cachedb.build.provenance import read_revision, stamp, wheel_revision
from cachedb.errors import BuildError

DIST = "demo-1.0.dist-info"


def _row(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _write(zf: zipfile.ZipFile, files: dict[str, bytes], method: Callable[[int], int]) -> None:
    rows = []
    for n, (name, data) in enumerate(files.items()):
        info = zipfile.ZipInfo(name, date_time=(2020, 1 + n % 12, 2, 3, 4, 2 * (n % 30)))
        info.external_attr = ((0o755 if n % 3 == 0 else 0o644) | 0o100000) << 16
        if n % 4 == 1:
            info.extra = b"\xca\xfe\x02\x00ab"  # an unknown extra field, kept as is
        zf.writestr(info, data, compress_type=method(n))
        rows.append(_row(name, data))
    rows.append(f"{DIST}/RECORD,,")
    zf.writestr(f"{DIST}/RECORD", "\n".join(rows) + "\n")


FILES = {
    "demo/__init__.py": b"print('hello')\n" * 50,
    "demo/empty.py": b"",
    "demo/bin.dat": bytes(range(256)) * 40,
    "demo/h\u00e9llo.txt": "caf\u00e9\n".encode(),
    f"{DIST}/METADATA": b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
    f"{DIST}/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}


def _deflated(path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        _write(zf, FILES, lambda n: zipfile.ZIP_DEFLATED)


def _stored(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        _write(zf, FILES, lambda n: zipfile.ZIP_STORED)


def _mixed(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(zipfile.ZipInfo("demo/"), b"")  # a directory entry
        _write(zf, FILES, lambda n: (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED)[n % 2])


def _descriptors(path: Path) -> None:
    # written to a stream that cannot seek: every member has a data descriptor
    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self.buffer = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, data: bytes) -> int:  # type: ignore[override]
            self.buffer += data
            return len(data)

    sink = Unseekable()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as zf:
        rows = []
        for name, data in FILES.items():
            with zf.open(name, "w") as fh:
                fh.write(data)
            rows.append(_row(name, data))
        with zf.open(f"{DIST}/RECORD", "w") as fh:
            fh.write(("\n".join([*rows, f"{DIST}/RECORD,,"]) + "\n").encode())
    path.write_bytes(bytes(sink.buffer))


def _lzma(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        _write(zf, FILES, lambda n: (zipfile.ZIP_LZMA, zipfile.ZIP_DEFLATED)[n % 2])


def _stamped_before(provenance_file: bool) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        files = dict(FILES)
        if provenance_file:  # a rebuild of a stamped wheel: the old stamp is replaced
            files[f"{DIST}/{provenance.PROVENANCE_FILE}"] = b'{"kind": "x", "revision": "y"}\n'
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            _write(zf, files, lambda n: zipfile.ZIP_DEFLATED)

    return make


KINDS = {
    "deflated": _deflated,
    "stored": _stored,
    "mixed": _mixed,
    "descriptors": _descriptors,
    "lzma": _lzma,
    "restamped": _stamped_before(True),
}


def _members(path: Path) -> list[tuple[object, ...]]:
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        return [
            (i.filename, zf.read(i), i.date_time, i.external_attr, i.create_system, i.extra)
            for i in zf.infolist()
        ]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_stamped_wheel_reads_as_the_re_deflated_one(
    tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    KINDS[kind](wheel)
    fast = stamp(wheel, tmp_path / "fast", kind="sdist", revision="abc")
    monkeypatch.setattr(provenance, "copy_members", lambda *args: False)
    slow = stamp(wheel, tmp_path / "slow", kind="sdist", revision="abc")
    assert _members(fast) == _members(slow)
    assert wheel_revision(fast) == ("sdist", "abc")
    names = [m[0] for m in _members(fast)]
    assert names[-2:] == [f"{DIST}/{provenance.PROVENANCE_FILE}", f"{DIST}/RECORD"]
    with zipfile.ZipFile(fast) as zf:
        record = zf.read(f"{DIST}/RECORD").decode()
        for name in names:
            if not name.endswith(("/", "/RECORD")):
                assert _row(name, zf.read(name)) in record.splitlines()
        zf.extractall(tmp_path / "unpacked")
    assert read_revision(tmp_path / "unpacked") == ("sdist", "abc")


def test_only_plain_zips_are_copied_as_stored(tmp_path: Path) -> None:
    copied = {}
    for kind, make in KINDS.items():
        wheel = tmp_path / f"{kind}.whl"
        make(wheel)
        with open(wheel, "rb") as raw, zipfile.ZipFile(raw) as src:
            copied[kind] = zipcopy.copy_members(src, raw, io.BytesIO(), (), ())
    assert copied == {k: k != "lzma" for k in KINDS}


def test_a_damaged_wheel_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    _stored(wheel)
    data = bytearray(wheel.read_bytes())
    with zipfile.ZipFile(wheel) as zf:
        first = zf.infolist()[0].header_offset
    data[first : first + 4] = b"XXXX"  # the first member's local header
    wheel.write_bytes(bytes(data))
    with pytest.raises(BuildError, match="unreadable wheel"):
        stamp(wheel, tmp_path / "out", kind="sdist", revision="abc")
    assert list((tmp_path / "out").iterdir()) == []
