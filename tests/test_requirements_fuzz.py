"""Arbitrary input never escapes the inputs layer as anything but a CachedbError."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cachedb.errors import CachedbError
from cachedb.requirements import parse_requirement, parse_requirements_file, parse_wheel_name

FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# Fragments that steer generated text towards the interesting branches.
_PIECES = st.sampled_from(
    [
        "foo", "Foo_Bar", "-1.0", "-py3-none-any", ".whl", ".tar.gz", "[x]", "[", "]",
        " @ ", "@", "https://", "file://", "http://u:p@", "/", "./", "..", "#", "#sha256=",
        "a" * 64, ";", "; ", "python_version > '3'", "==", ">=", "~=", ",", " ", "\\", "\n",
        "-r ", "-c ", "-e ", "--hash=", "sha256:", "--pre", "--index-url", "-i", "${HOME}",
        "${X}", "'", '"', "\x00", "é", "-", "=", "egg=", ":",
    ]
)  # fmt: skip
_TEXT = st.one_of(st.text(max_size=80), st.lists(_PIECES, max_size=12).map("".join))


def _returns_or_raises_cachedb_error(func: object, *args: object, **kwargs: object) -> None:
    assert callable(func)
    try:
        func(*args, **kwargs)
    except CachedbError as exc:
        assert "\n" not in str(exc)


@FUZZ
@given(text=_TEXT)
def test_parse_requirement_total(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        _returns_or_raises_cachedb_error(parse_requirement, text, base_dir=Path(tmp))


@FUZZ
@given(lines=st.lists(_TEXT, max_size=6), raw=st.binary(max_size=40))
def test_parse_requirements_file_total(lines: list[str], raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        # Files that nested "-r"/"-c" lines in the generated text may name.
        (root / "foo").write_bytes(raw)
        (root / "x").write_text("\n".join(lines), encoding="utf-8")
        path = root / "requirements.txt"
        path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
        _returns_or_raises_cachedb_error(parse_requirements_file, path, environ={"X": "foo"})
        path.write_bytes(raw)
        _returns_or_raises_cachedb_error(parse_requirements_file, path)


@FUZZ
@given(name=_TEXT)
def test_parse_wheel_name_total(name: str) -> None:
    _returns_or_raises_cachedb_error(parse_wheel_name, name)
