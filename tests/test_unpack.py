"""Malformed and hostile wheels are refused, and the cache is exactly as before."""

from __future__ import annotations

import csv
import io
import random
import subprocess
import sys
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from email.parser import HeaderParser
from importlib.metadata import distributions
from pathlib import Path

import pytest
from cachestate import snapshot
from wheelbuilder import make_wheel

from cachedb.errors import InvalidWheel
from cachedb.store import WHEELS_BUCKET, open_cache, pointer_key
from cachedb.wheel import members as members_module
from cachedb.wheel.metadata import first_headers
from cachedb.wheel.records import check_wheel_record, split_record

BAD_HASH = "sha256=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


def _patch_name(wheel: Path, placeholder: bytes, replacement: bytes) -> Path:
    """Rewrite a member name in the zip's headers (zipfile itself refuses to write NULs)."""
    data = wheel.read_bytes()
    assert len(placeholder) == len(replacement) and data.count(placeholder) == 2
    wheel.write_bytes(data.replace(placeholder, replacement))
    return wheel


def _duplicate(d: Path) -> Path:
    wheel = make_wheel(d, "demo", "1.0")
    with pytest.warns(UserWarning), zipfile.ZipFile(wheel, "a") as zf:
        zf.writestr("demo/__init__.py", "X = 2\n")
    return wheel


CASES: dict[str, Callable[[Path], Path]] = {
    "absolute path": lambda d: make_wheel(d, "demo", extra_members={"/tmp/evil.py": b"x"}),
    "dot-dot segment": lambda d: make_wheel(d, "demo", extra_members={"../evil.py": b"x"}),
    "nested dot-dot": lambda d: make_wheel(d, "demo", extra_members={"demo/../../evil.py": b"x"}),
    "drive letter": lambda d: make_wheel(d, "demo", extra_members={"C:/evil.py": b"x"}),
    "backslash": lambda d: make_wheel(d, "demo", extra_members={"demo\\..\\..\\evil.py": b"x"}),
    "control character": lambda d: make_wheel(d, "demo", extra_members={"demo/a\x01.py": b"x"}),
    "NUL character": lambda d: _patch_name(
        make_wheel(d, "demo", extra_members={"demo/aQb.py": b"x"}), b"demo/aQb.py", b"demo/a\0b.py"
    ),
    "duplicate name": _duplicate,
    "case collision": lambda d: make_wheel(
        d, "demo", files={"demo/__init__.py": "", "demo/Mod.py": "", "demo/mod.py": ""}
    ),
    "symlink entry": lambda d: make_wheel(d, "demo", symlinks={"demo/passwd": "/etc/passwd"}),
    "file missing from RECORD": lambda d: make_wheel(
        d, "demo", omit_from_record=["demo/__init__.py"]
    ),
    "RECORD row without file": lambda d: make_wheel(
        d, "demo", extra_record_rows=["demo/ghost.py,sha256=abc,3"]
    ),
    "RECORD with ../ path": lambda d: make_wheel(
        d, "demo", extra_record_rows=["../../ghost.py,sha256=abc,3"]
    ),
    "hash mismatch": lambda d: make_wheel(
        d, "demo", record_overrides={"demo/__init__.py": f"demo/__init__.py,{BAD_HASH},16"}
    ),
    "size mismatch": lambda d: make_wheel(
        d,
        "demo",
        files={"demo/__init__.py": "X = 1\n"},
        record_overrides={
            "demo/__init__.py": "demo/__init__.py,"
            "sha256=Zx3m4TrqVYDfuoiIMvvXZfsKhiEfh8kh40z6c0GrxQI,99"
        },
    ),
    "dist-info name disagrees": lambda d: make_wheel(d, "demo", dist_info="other-1.0.dist-info"),
    "dist-info version disagrees": lambda d: make_wheel(d, "demo", dist_info="demo-2.0.dist-info"),
    "METADATA name disagrees": lambda d: make_wheel(d, "demo", metadata_name="other"),
    "Wheel-Version 2": lambda d: make_wheel(d, "demo", wheel_version="2.0"),
    "not a zip": lambda d: _write(d / "demo-1.0-py3-none-any.whl", b"this is not a zip"),
    "bad filename": lambda d: make_wheel(d, "demo", filename="demo.whl"),
    "file and directory": lambda d: make_wheel(
        d, "demo", files={"demo/__init__.py": "", "demo/x": "", "demo/x/y.py": ""}
    ),
}


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.fixture
def filled_cache(tmp_path: Path) -> Path:
    cache_dir = tmp_path / "cache"
    good = make_wheel(tmp_path / "good", "good", "1.0")
    with open_cache(cache_dir) as cache:
        cache.put(WHEELS_BUCKET, pointer_key("src", "good", good.name[:-4]), good)
    return cache_dir


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_wheel_is_refused_and_nothing_changes(
    case: str, tmp_path: Path, filled_cache: Path
) -> None:
    wheel = CASES[case](tmp_path / "bad")
    before = snapshot(filled_cache)
    with open_cache(filled_cache) as cache, pytest.raises(InvalidWheel) as info:
        cache.put(WHEELS_BUCKET, pointer_key("src", "demo", "demo-1.0-py3-none-any"), wheel)
    message = str(info.value)
    assert message and "\n" not in message
    assert snapshot(filled_cache) == before
    assert list((filled_cache / "tmp").iterdir()) == []


def test_declared_size_over_cap_is_refused(
    tmp_path: Path, filled_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(members_module, "MAX_UNPACKED_SIZE", 10_000)
    wheel = make_wheel(tmp_path / "big", "demo", files={"demo/__init__.py": "#" * 20_000})
    before = snapshot(filled_cache)
    with open_cache(filled_cache) as cache, pytest.raises(InvalidWheel, match="more than"):
        cache.put(WHEELS_BUCKET, pointer_key("src", "demo", "demo-1.0-py3-none-any"), wheel)
    assert snapshot(filled_cache) == before


def test_zip_bomb_ratio_is_refused(tmp_path: Path, filled_cache: Path) -> None:
    wheel = make_wheel(tmp_path / "bomb", "demo", files={"demo/__init__.py": b"\0" * 100_000_000})
    with open_cache(filled_cache) as cache, pytest.raises(InvalidWheel, match="implausibly"):
        cache.put(WHEELS_BUCKET, pointer_key("src", "demo", "demo-1.0-py3-none-any"), wheel)


def test_valid_wheel_with_data_dir_and_executables_is_accepted(tmp_path: Path) -> None:
    wheel = make_wheel(
        tmp_path / "w",
        "demo",
        files={
            "demo/__init__.py": "",
            "demo-1.0.data/scripts/run": "#!python\nprint('hi')\n",
            "demo-1.0.data/data/share/demo.txt": "data",
        },
        executable=["demo-1.0.data/scripts/run"],
    )
    with open_cache(tmp_path / "cache") as cache:
        entry = cache.put(WHEELS_BUCKET, pointer_key("src", "demo", wheel.name[:-4]), wheel)
    assert (entry.path / "demo-1.0.data" / "scripts" / "run").stat().st_mode & 0o111
    assert (entry.path / "demo-1.0.data" / "data" / "share" / "demo.txt").read_text() == "data"


# -- fast paths against the slow ones they stand for ---------------------------------

_NAME_PIECES = [
    "a", "B", "demo", "/", "//", ".", "..", "\\", ":", "C:", "\0", "\n", "\x1f", "\x7f", " ",
    "\u00e9", "e\u0301", "\u212a", "K", "k", "\u0130", "~", "-", "_", "py", "__init__.py",
]  # fmt: skip


def _random_names(rng: random.Random) -> list[str]:
    names = ["".join(rng.choices(_NAME_PIECES, k=rng.randint(0, 6))) for _ in range(4)]
    if rng.random() < 0.5:  # realistic lists too, so the fast answer is often yes
        names = [f"pkg/m{n}.py" for n in range(3)] + [rng.choice(_NAME_PIECES) + "/x.py"]
    return names


def _slow_names_ok(names: list[str]) -> bool:
    """check_member_name for every name, and no two equal after NFC and casefolding."""
    try:
        for name in names:
            members_module.check_member_name(name)
    except InvalidWheel:
        return False
    folded = [unicodedata.normalize("NFC", n.rstrip("/")).casefold() for n in names]
    return len(set(folded)) == len(folded)


def test_names_judged_all_at_once_are_names_judged_one_by_one() -> None:
    rng = random.Random(4711)
    fast_yes = 0
    for _ in range(20_000):
        names = _random_names(rng)
        if members_module._plain_names(names):
            fast_yes += 1
            assert _slow_names_ok(names), names
    assert fast_yes > 2000  # the fast answer was checked often
    assert members_module._plain_names(
        ["demo/__init__.py", "demo/sub/", "demo-1.0.dist-info/RECORD"]
    )


_RECORD_PIECES = [
    "a", "demo/x.py", ",", ",,", '"', '""', "\n", "\r", "\r\n", "\n\n", " ", "\0", "\u00e9",
    "sha256=abc", "12", "\u2028", "\x0b", "\x1c",
]  # fmt: skip


def _csv_rows(text: str) -> list[list[str]] | str:
    try:
        return [row for row in csv.reader(io.StringIO(text)) if row]
    except csv.Error as exc:
        return f"error: {exc}"


def _split_rows(text: str) -> list[list[str]] | str:
    try:
        return split_record(text)
    except csv.Error as exc:
        return f"error: {exc}"


@pytest.fixture
def small_field_limit() -> Iterator[int]:
    old = csv.field_size_limit(12)
    try:
        yield 12
    finally:
        csv.field_size_limit(old)


def test_record_splitting_agrees_with_csv(small_field_limit: int) -> None:
    rng = random.Random(1234)
    for _ in range(20_000):
        text = "".join(rng.choices(_RECORD_PIECES, k=rng.randint(0, 12)))
        assert _split_rows(text) == _csv_rows(text), repr(text)
    # Plain rows, some past the field limit: csv refuses those; so must the split.
    for _ in range(2000):
        text = "".join(rng.choice(["a,b,c\n", "ab" * 7 + ",x,y\n", "\n"]) for _ in range(4))
        assert _split_rows(text) == _csv_rows(text), repr(text)


def _metadata_files() -> list[bytes]:
    found = []
    for dist in distributions():
        for name in ("METADATA", "WHEEL"):
            text = dist.read_text(name)
            if text:
                found.append(text.encode("utf-8"))
    assert len(found) > 10
    return found


_HEADER_LINES = [
    b"Name: other", b"name:tight", b"Version: 2.0\n continued", b"Version: 3.0\r",
    b"Not a header", b" continuation", b"Name: caf\xc3\xa9", b"Wheel-Version: 9.9",
    b"Author: Ren\xc3\xa9", b"", b"From x: y", b"Version : spaced",
]  # fmt: skip


def test_metadata_headers_read_as_the_email_parser_reads_them() -> None:
    rng = random.Random(99)
    keys = ("Name", "Version", "Wheel-Version")
    for data in _metadata_files():
        for round_ in range(20):
            lines = data.split(b"\n")
            for _ in range(round_ % 4):
                lines.insert(rng.randint(0, min(len(lines), 30)), rng.choice(_HEADER_LINES))
            mangled = b"\n".join(lines)
            message = HeaderParser().parsestr(mangled.decode("utf-8"))
            expected = [message.get(key) or "" for key in keys]
            assert first_headers(mangled, keys) == expected, mangled[:300]


def test_record_paths_already_checked_skip_nothing_else() -> None:
    data = b"demo/a.py,sha256=x,1\n../evil.py,sha256=x,1\n"
    with pytest.raises(InvalidWheel, match="'..'"):
        check_wheel_record(data, "demo-1.0.dist-info/RECORD", {"demo/a.py"})
    data = b"demo/a.py,md5=x,1\n"
    with pytest.raises(InvalidWheel, match="unsupported hash"):
        check_wheel_record(data, "demo-1.0.dist-info/RECORD", {"demo/a.py"})
    data = b"demo/a.py,sha256=x,1\ndemo/a.py,sha256=x,1\n"
    with pytest.raises(InvalidWheel, match="twice"):
        check_wheel_record(data, "demo-1.0.dist-info/RECORD", {"demo/a.py"})


# VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's peak (the test run's).
_PEAK_SCRIPT = """
import sys
from pathlib import Path
from cachedb.store.unpack import unpack_wheel
def peak():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
before = peak()
tree = unpack_wheel(Path(sys.argv[1]), Path(sys.argv[2]), threads=int(sys.argv[3]))
print(peak() - before, sum(f.size for f in tree.files))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
@pytest.mark.parametrize("threads", [1, 2])
def test_a_big_wheel_is_unpacked_without_holding_it_in_memory(tmp_path: Path, threads: int) -> None:
    # An unpacking worker's peak memory is the biggest of a cold install's processes: a
    # wheel is held whole only up to zipdir.IN_MEMORY, and a member in pieces of
    # inflate.CHUNK, so a 32 MiB wheel (incompressible, as .so files nearly are) costs
    # well under its size, however many members it has and whichever thread does each
    # (measured: 9 MiB on one thread, 17 on two; 34 and 38 when it was held whole).
    rng = random.Random(7)
    files = {f"big/blob{i}.bin": rng.randbytes(8 * 1024**2) for i in range(3)}
    files.update({f"big/m{i}.py": rng.randbytes(64 * 1024) for i in range(128)})
    wheel = make_wheel(tmp_path / "w", "big", "1.0", files=files)
    assert wheel.stat().st_size > 32 * 1024**2
    out = subprocess.run(
        [sys.executable, "-c", _PEAK_SCRIPT, str(wheel), str(tmp_path / "tmp"), str(threads)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    grown, unpacked = map(int, out.split())
    assert unpacked > 32 * 1024**2
    assert grown < 24 * 1024**2, f"peak memory grew by {grown / 1024**2:.0f} MiB"
