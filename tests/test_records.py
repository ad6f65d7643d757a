"""The RECORD model (``cachedb.wheel.records``): one parser under the wheel's strict check
and an installed RECORD's reading, digests spelled as the wheel spec spells them."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import random
from pathlib import Path

import pytest

from cachedb.errors import InstallError, InvalidWheel
from cachedb.link.records import parse_installed_record, read_record
from cachedb.wheel.records import (
    Hash,
    RecordEntry,
    check_listed,
    check_wheel_record,
    format_record,
    parse_record,
    record_hash,
)


def _spec_digest(data: bytes, name: str = "sha256") -> str:
    # The wheel spec's spelling, written out with the standard library.
    raw = hashlib.new(name, data).digest()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def test_digests_are_spelled_as_the_wheel_spec_says() -> None:
    rng = random.Random(376)
    for size in (0, 1, 2, 3, 31, 32, 33, 1000):
        data = rng.randbytes(size)
        assert record_hash(data) == "sha256=" + _spec_digest(data)
        for name in ("sha256", "sha384", "sha512"):
            digest = Hash.of(data, name)
            assert str(digest) == f"{name}={_spec_digest(data, name)}"
            assert Hash.parse(str(digest)) == digest
            assert digest.matches(hashlib.new(name, data).digest())
            assert Hash(name, digest.value + "==").matches(hashlib.new(name, data).digest())
            assert not digest.matches(hashlib.new(name, data + b"x").digest())
    assert Hash.parse("no-equals-sign") is None


def test_rows_are_typed_and_still_the_tuples_csv_gives() -> None:
    text = 'a.py,sha256=abc,3\n"b,c.py",sha256=def,4\nd.dist-info/RECORD,,\n'
    entries = parse_record(text)
    assert entries == [tuple(row) for row in csv.reader(io.StringIO(text))]
    assert all(isinstance(e, RecordEntry) for e in entries)
    assert entries[1].path == "b,c.py" and entries[1].digest == Hash("sha256", "def")
    assert entries[2].digest is None and entries[2].size == ""
    # Written back, they read the same.
    assert parse_record(format_record(entries).decode("utf-8")) == entries


def test_a_wheel_record_and_an_installed_record_are_read_alike(tmp_path: Path) -> None:
    text = "demo/a.py,sha256=x,1\ndemo-1.0.dist-info/RECORD,,\n"
    strict = check_wheel_record(text.encode(), "demo-1.0.dist-info/RECORD")
    installed = parse_installed_record(text, tmp_path / "RECORD")
    assert list(strict.values()) == installed


@pytest.mark.parametrize(
    ("text", "strict", "installed"),
    [
        ("a.py,sha256=x\n", "does not have three fields", "has a malformed row"),
        # A field past csv's size limit (131072 characters) is one csv refuses.
        ('"' + "a" * 200_000 + '",sha256=x,1\n', "is not valid CSV", "is not valid CSV"),
    ],
)
def test_malformed_records_are_refused_with_each_readers_error(
    tmp_path: Path, text: str, strict: str, installed: str
) -> None:
    with pytest.raises(InvalidWheel, match=strict):
        check_wheel_record(text.encode(), "demo-1.0.dist-info/RECORD")
    where = tmp_path / "RECORD"
    where.write_text(text, encoding="utf-8")
    with pytest.raises(InstallError, match=installed):
        read_record(where)


def test_only_a_wheel_record_is_held_to_the_wheel_rules(tmp_path: Path) -> None:
    # An installed RECORD lists files without digests (.pyc, launchers): readable.
    text = "demo/a.py,,\n../bin/demo,md5=x,1\n"
    assert [e.path for e in parse_installed_record(text, tmp_path / "RECORD")] == [
        "demo/a.py",
        "../bin/demo",
    ]
    with pytest.raises(InvalidWheel, match="no hash"):
        check_wheel_record(b"demo/a.py,,\n", "demo-1.0.dist-info/RECORD")


def test_record_and_files_must_list_the_same_paths() -> None:
    record = check_wheel_record(b"a.py,sha256=x,1\nb.py,sha256=x,1\n", "d-1.dist-info/RECORD")
    check_listed(record, {"a.py": 1, "b.py": 2})
    with pytest.raises(InvalidWheel, match="RECORD lists 'b.py', which is not in the wheel"):
        check_listed(record, {"a.py": 1})
    with pytest.raises(InvalidWheel, match="member 'c.py' is not listed in RECORD"):
        check_listed(record, {"a.py": 1, "b.py": 2, "c.py": 3})
