"""Properties over hostile bytes: mutated wheels, member names, RECORDs, index pages.

Requirement strings, requirements files and wheel filenames typed by a user
are fuzzed in tests/test_requirements_fuzz.py; this module covers what comes
from an index or a wheel. Every property is the same promise: arbitrary
input yields a result or one of our one-line ``CachedbError``s, never another
exception, and a failed unpack leaves no staging directory behind.
"""

from __future__ import annotations

import io
import json
import os
import struct
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from wheelbuilder import UnseekableStream, make_wheel

from cachedb.errors import CachedbError, InvalidWheel
from cachedb.index._parse import parse_page
from cachedb.store.unpack import unpack_wheel
from cachedb.wheel.members import check_member_name
from cachedb.wheel.records import check_wheel_record

FUZZ = settings(
    max_examples=int(os.environ.get("CHAOS_FUZZ_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

_BASES: dict[str, bytes] = {}


def _base(kind: str) -> bytes:
    """A small valid wheel (deflated, or stored with a data dir and an entry point)."""
    if kind not in _BASES:
        with tempfile.TemporaryDirectory() as tmp:
            files = {"demo/__init__.py": "X = 1\n", "demo/sub/mod.py": "Y = 2\n" * 20}
            if kind == "stored":
                files["demo-1.0.data/scripts/run"] = "#!python\nprint(1)\n"
            wheel = make_wheel(
                Path(tmp), "demo", "1.0", files=files,
                entry_points={"console_scripts": {"demo": "demo:main"}},
            )  # fmt: skip
            data = wheel.read_bytes()
            if kind == "stored":
                data = _restore(data)
            _BASES[kind] = data
    return _BASES[kind]


def _restore(data: bytes) -> bytes:
    """The same members, stored uncompressed: byte flips then hit names and contents."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            content = src.read(info)
            info.compress_type = zipfile.ZIP_STORED
            dst.writestr(info, content)
    return out.getvalue()


_MUTATION = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(1, 255)),
    st.tuples(st.just("set"), st.integers(0, 10**6), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 64)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6), st.just(0)),
    st.tuples(st.just("append"), st.just(0), st.binary(min_size=1, max_size=32)),
)


def _mutate(data: bytes, mutations: list[tuple[str, int, object]]) -> bytes:
    buf = bytearray(data)
    for kind, pos, arg in mutations:
        at = pos % (len(buf) + 1)
        if kind == "flip" and buf:
            buf[at % len(buf)] ^= int(arg)  # type: ignore[call-overload]
        elif kind == "set":
            assert isinstance(arg, bytes)
            buf[at : at + len(arg)] = arg
        elif kind == "insert":
            assert isinstance(arg, bytes)
            buf[at:at] = arg
        elif kind == "delete":
            assert isinstance(arg, int)
            del buf[at : at + arg]
        elif kind == "truncate":
            del buf[at:]
        elif kind == "append":
            assert isinstance(arg, bytes)
            buf += arg
    return bytes(buf)


def _local_walk(data: bytes) -> list[str]:
    """Member names as a streaming reader sees them: local headers from byte 0 onwards."""
    names = []
    pos = 0
    while data[pos : pos + 4] == b"PK\x03\x04":
        _v, flags, _m, _t, _d, _crc, csize, _usize, nlen, xlen = struct.unpack_from(
            "<HHHHHIIIHH", data, pos + 4
        )
        assert not flags & 0x08, "the base wheels have no data descriptors"
        names.append(data[pos + 30 : pos + 30 + nlen].decode("utf-8", "replace"))
        pos += 30 + nlen + xlen + csize
    return names


def _unpacked_or_refused_cleanly(kind: str, mutations: list[tuple[str, int, object]]) -> None:
    data = _mutate(_base(kind), mutations)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = Path(tmp) / "demo-1.0-py3-none-any.whl"
        wheel.write_bytes(data)
        staging = Path(tmp) / "staging"
        try:
            unpacked = unpack_wheel(wheel, staging)
        except CachedbError as exc:
            assert str(exc) and "\n" not in str(exc)
            assert list(staging.iterdir()) == [], "a refused wheel left its staging directory"
            return
        # Accepted: a reader walking the local headers sees the very same members,
        # and everything written stays inside the staging directory.
        with zipfile.ZipFile(wheel) as zf:
            assert _local_walk(data) == [i.filename for i in zf.infolist()]
        root = os.path.realpath(unpacked.directory)
        for entry in unpacked.files:
            path = os.path.realpath(os.path.join(root, entry.path))
            assert path.startswith(root + os.sep)
            assert os.path.getsize(path) == entry.size
        assert [p.name for p in staging.iterdir()] == [unpacked.directory.name]


_KIND = st.sampled_from(["deflated", "stored"])
_MUTATIONS = st.lists(_MUTATION, min_size=1, max_size=4)


@FUZZ
@given(kind=_KIND, mutations=_MUTATIONS)
@example(kind="stored", mutations=[("append", 0, b"trailing")])
@example(kind="deflated", mutations=[("insert", 0, b"MZ")])
def test_mutated_wheel_is_unpacked_or_refused_cleanly(
    kind: str, mutations: list[tuple[str, int, object]]
) -> None:
    _unpacked_or_refused_cleanly(kind, mutations)


@pytest.mark.slow
@settings(FUZZ, max_examples=3000)
@given(kind=_KIND, mutations=st.lists(_MUTATION, min_size=1, max_size=12))
def test_mutated_wheel_is_unpacked_or_refused_cleanly_many(
    kind: str, mutations: list[tuple[str, int, object]]
) -> None:
    _unpacked_or_refused_cleanly(kind, mutations)


@FUZZ
@given(name=st.text(max_size=30), tag=st.sampled_from(["py3-none-any", "cp311-abi3-x", "x"]))
def test_any_wheel_filename_is_parsed_or_refused(name: str, tag: str) -> None:
    filename = f"{name}-{tag}.whl" if tag != "x" else name
    if not filename or "/" in filename or "\0" in filename or filename in (".", ".."):
        return  # not a file name at all
    if len(filename.encode("utf-8", "surrogatepass")) > 200:
        return
    with tempfile.TemporaryDirectory() as tmp:
        try:
            wheel = Path(tmp) / filename
            wheel.write_bytes(_base("deflated"))
        except (OSError, UnicodeEncodeError):
            return
        staging = Path(tmp) / "staging"
        try:
            unpacked = unpack_wheel(wheel, staging)
        except CachedbError as exc:
            assert "\n" not in str(exc)
            assert not staging.exists() or list(staging.iterdir()) == []
            return
        assert (unpacked.name, unpacked.version) == ("demo", "1.0")


_PIECES = st.sampled_from(
    ["a", "demo", "/", "//", ".", "..", "\\", "C:", "c:", "\0", "\x1f", " ", "é", "e\u0301",
     "\u2024", "..\\", "~", "$HOME", "%2e%2e", ":", "CON", "nul"]
)  # fmt: skip
_NAME = st.one_of(st.text(max_size=20), st.lists(_PIECES, max_size=8).map("".join))


@FUZZ
@given(name=_NAME)
@example(name="../x")
@example(name="a/../../x")
@example(name="C:x")
def test_accepted_member_names_stay_inside_the_archive(name: str) -> None:
    try:
        check_member_name(name)
    except InvalidWheel as exc:
        assert "\n" not in str(exc)
        return
    root = "/cache/archive-v0/abc"
    joined = os.path.normpath(os.path.join(root, name))
    assert joined.startswith(root + "/"), name
    assert joined == os.path.join(root, name.rstrip("/")), name  # nothing was collapsed


_RECORD_PIECES = st.sampled_from(
    ['demo/x.py', ',', 'sha256=', 'md5=', 'sha256=abc', '12', '-1', '"', '\n', '\r', '../x',
     '/abs', '\\', 'demo-1.0.dist-info/RECORD', ',,', 'é', '\0']
)  # fmt: skip


@FUZZ
@given(
    text=st.one_of(st.lists(_RECORD_PIECES, max_size=20).map("".join), st.text(max_size=60)),
    raw=st.binary(max_size=40),
)
def test_any_record_is_parsed_or_refused(text: str, raw: bytes) -> None:
    for data in (text.encode("utf-8", "surrogatepass"), raw):
        try:
            rows = check_wheel_record(data, "demo-1.0.dist-info/RECORD")
        except InvalidWheel as exc:
            assert "\n" not in str(exc)
            continue
        for path, (p, _hash, _size) in rows.items():
            assert path == p and check_member_name(path)


_JSON = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
        st.sampled_from(["demo-1.0-py3-none-any.whl", "../x.whl", "http://[::1", "http://[",
                         "//evil/x.whl", "sha256", "1.0", "2.0", ">=3", "file:///etc/passwd",
                         "a" * 64]),
        st.text(max_size=10),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(["files", "meta", "api-version", "url", "filename", "hashes",
                             "sha256", "yanked", "requires-python", "core-metadata",
                             "dist-info-metadata", "size", "name"]),
            inner, max_size=6,
        ),
    ),
    max_leaves=20,
)  # fmt: skip

_HTML_PIECES = st.sampled_from(
    ['<a href="', '">', "</a>", "<base href=\"", 'demo-1.0-py3-none-any.whl', "#sha256=",
     "abc", '" data-requires-python="', '" data-yanked', '" data-core-metadata="', "&gt;=3",
     "http://[", "../", "%00", "<", ">", '"', "'", "\0", "&#0;", "&#x110000;", " "]
)  # fmt: skip


def _check_links(links: list[object]) -> None:
    from cachedb.index import Link

    for link in links:
        assert isinstance(link, Link)
        assert isinstance(link.url, str) and isinstance(link.filename, str)
        assert "/" not in link.filename and link.filename not in ("", ".", "..")
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in link.hashes.items())
        assert link.requires_python is None or isinstance(link.requires_python, str)
        assert link.yanked is None or isinstance(link.yanked, str)
        assert link.size is None or isinstance(link.size, int)


@FUZZ
@given(page=_JSON, nested=st.integers(0, 3))
@example(
    page={"meta": {"api-version": "1.0"}, "files": [{"url": "http://[", "filename": "a.whl"}]},
    nested=0,
)
@example(page={"files": [{"url": "x.whl", "requires-python": 3}]}, nested=0)
@example(page=[], nested=3000)
def test_any_json_index_page_is_parsed_or_refused(page: object, nested: int) -> None:
    body = ("[" * nested + json.dumps(page) + "]" * nested).encode()
    try:
        links = parse_page(body, "application/vnd.pypi.simple.v1+json", "https://i/simple/d/", "i")
    except CachedbError as exc:
        assert "\n" not in str(exc)
        return
    _check_links(list(links))


@FUZZ
@given(
    text=st.one_of(st.lists(_HTML_PIECES, max_size=25).map("".join), st.text(max_size=80)),
    charset=st.sampled_from(["utf-8", "latin-1", "bogus", "utf-16"]),
)
@example(text='<a href="http://[/x.whl">x</a>', charset="utf-8")
def test_any_html_index_page_is_parsed_or_refused(text: str, charset: str) -> None:
    body = text.encode("utf-8", "surrogatepass")
    try:
        links = parse_page(body, f"text/html; charset={charset}", "https://i/simple/d/", "i")
    except CachedbError as exc:
        assert "\n" not in str(exc)
        return
    _check_links(list(links))


def _rewrite(data: bytes, layout: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as src:
        items = [(info, src.read(info)) for info in src.infolist()]
    out: io.BytesIO | UnseekableStream = (
        UnseekableStream() if layout == "descriptors" else io.BytesIO()
    )
    limit = zipfile.ZIP_FILECOUNT_LIMIT
    if layout == "zip64 end records":
        zipfile.ZIP_FILECOUNT_LIMIT = 1  # type: ignore[misc]  # makes zipfile write them
    try:
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for info, content in items:
                member = zipfile.ZipInfo(info.filename, info.date_time)
                member.external_attr = info.external_attr
                member.compress_type = zipfile.ZIP_DEFLATED
                with zf.open(member, "w", force_zip64=layout == "zip64 members") as fh:
                    fh.write(content)
            if layout == "comment":
                zf.comment = b"built by a tool that signs its zips"
    finally:
        zipfile.ZIP_FILECOUNT_LIMIT = limit  # type: ignore[misc]
    return bytes(out.data) if isinstance(out, UnseekableStream) else out.getvalue()


@pytest.mark.parametrize(
    "layout", ["descriptors", "zip64 members", "zip64 end records", "comment", "stored"]
)
def test_legitimate_zip_layouts_are_accepted(layout: str, tmp_path: Path) -> None:
    """The layout check refuses ambiguity, not the zip features real wheel builders use."""
    data = _base("stored") if layout == "stored" else _rewrite(_base("stored"), layout)
    wheel = tmp_path / "demo-1.0-py3-none-any.whl"
    wheel.write_bytes(data)
    unpacked = unpack_wheel(wheel, tmp_path / "staging")
    assert {f.path for f in unpacked.files} >= {"demo/__init__.py", "demo/sub/mod.py"}
