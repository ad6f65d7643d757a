"""A wheel unpacked while it downloads equals the wheel unpacked from the finished file.

``StreamUnpack`` reads members from their local headers as the bytes arrive;
``finish`` keeps that tree only where it is what ``unpack_wheel`` writes, else
the caller unpacks the file. Hypothesis draws wheels (stored and deflated
members, empty and big ones, executables, data descriptors, zip64 records) and
breaks some (junk before or after, a truncated file, a duplicate member, a
flipped byte, a RECORD that lies), feeds them in random pieces, and checks that
streaming-then-falling-back gives exactly what the ordinary unpack gives: the
same tree on disk (paths, modes, bytes), the same rows, or the same error; and
that a plain wheel is in fact streamed, so the comparison is not empty.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from indexserver import IndexServer
from wheelbuilder import UnseekableStream, make_wheel

from cachedb.errors import InvalidWheel
from cachedb.index import IndexClient
from cachedb.install import fetching as fetching_module
from cachedb.install.fetching import Fetcher
from cachedb.install.unpack_workers import ForkedUnpacks
from cachedb.store import open_cache
from cachedb.store import stream as stream_module
from cachedb.store.stream import StreamUnpack, stream_into
from cachedb.store.unpack import UnpackedWheel, unpack_wheel
from cachedb.wheel.inflate import CHUNK
from cachedb.wheel.members import BOMB_THRESHOLD
from cachedb.wheel.zipdir import IN_MEMORY

BREAKS = ("none", "junk-before", "junk-after", "truncated", "duplicate", "flip", "bad-record")


def _tree(directory: Path) -> list[tuple[str, int, bytes]]:
    """Every path under ``directory`` with its mode and (for a file) its bytes."""
    out = []
    for root, dirs, files in os.walk(directory):
        for name in sorted(dirs + files):
            path = Path(root, name)
            st_ = path.lstat()
            data = path.read_bytes() if stat.S_ISREG(st_.st_mode) else b""
            out.append((str(path.relative_to(directory)), st_.st_mode, data))
    return sorted(out)


def _rewrite(source: Path, out: Path, *, stored: set[str], descriptors: bool, zip64: bool) -> None:
    """``source``'s members again, each stored or deflated, through an unseekable stream
    (data descriptors after each) or a file, with zip64 records where asked."""
    sink: io.RawIOBase | io.BytesIO = UnseekableStream() if descriptors else io.BytesIO()
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(sink, "w") as dst:
        for info in src.infolist():
            new = zipfile.ZipInfo(info.filename, date_time=(2020, 1, 1, 0, 0, 0))
            new.external_attr = info.external_attr
            new.compress_type = zipfile.ZIP_STORED if info.filename in stored else 8
            with dst.open(new, "w", force_zip64=zip64) as member:
                member.write(src.read(info))
    data = sink.data if isinstance(sink, UnseekableStream) else sink.getvalue()
    out.write_bytes(bytes(data))


def _break(wheel: Path, how: str, seed: int) -> None:
    data = bytearray(wheel.read_bytes())
    if how == "junk-before":
        data[:0] = b"MZ junk"
    elif how == "junk-after":
        data += b"\0junk"
    elif how == "truncated":
        del data[len(data) * (seed % 90 + 5) // 100 :]
    elif how == "flip":
        data[seed % len(data)] ^= 1 << (seed % 8)
    elif how == "duplicate":
        with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
            first = zf.infolist()[0]
            again = zf.read(first)
        buffer = io.BytesIO(bytes(data))
        with pytest.warns(UserWarning), zipfile.ZipFile(buffer, "a") as zf:
            zf.writestr(first.filename, again + b"# twice\n")
        data = bytearray(buffer.getvalue())
    wheel.write_bytes(bytes(data))


def _pieces(data: bytes, sizes: list[int]) -> Iterator[bytes]:
    at = 0
    for size in sizes * (len(data) // max(1, sum(sizes)) + 1):
        if at >= len(data):
            return
        yield data[at : at + size]
        at += size
    if at < len(data):
        yield data[at:]


def _outcome(make: Callable[[], UnpackedWheel]) -> tuple[str, object]:
    try:
        tree = make()
    except InvalidWheel as exc:
        return "error", str(exc)
    rows = (tree.archive_id, tree.filename, tree.name, tree.version, tree.tags, tree.files,
            tree.unpacked_size, tree.wheel_size, tree.dist_info)  # fmt: skip
    return "tree", (rows, _tree(tree.directory))


def _repeat(times: int, piece: bytes) -> bytes:
    return piece * times


_NAMES = st.sampled_from(["a.py", "b.txt", "sub/c.py", "sub/deep/d.bin", "e.so", "f", "g/h"])


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    files=st.dictionaries(
        _NAMES,
        st.one_of(
            st.binary(max_size=300),
            st.builds(_repeat, st.integers(0, 3 * CHUNK // 64), st.binary(min_size=1, max_size=64)),
            st.builds(os.urandom, st.sampled_from([0, 1, CHUNK - 1, CHUNK + 7])),
        ),
        max_size=5,
    ),
    executable=st.sets(_NAMES, max_size=2),
    stored=st.sets(_NAMES, max_size=3),
    descriptors=st.booleans(),
    zip64=st.booleans(),
    how=st.sampled_from(BREAKS),
    seed=st.integers(0, 2**32),
    sizes=st.lists(st.integers(1, 70_000), min_size=1, max_size=5),
)
def test_streamed_unpack_equals_the_unpack_of_the_file(
    tmp_path_factory: pytest.TempPathFactory,
    files: dict[str, bytes],
    executable: set[str],
    stored: set[str],
    descriptors: bool,
    zip64: bool,
    how: str,
    seed: int,
    sizes: list[int],
) -> None:
    base = tmp_path_factory.mktemp("w")
    files = {f"demo/{name}": data for name, data in files.items()}
    source = make_wheel(
        base / "src", "demo", files=files or None, executable={f"demo/{n}" for n in executable}
    )
    stored = {f"demo/{name}" for name in stored}
    wheel = base / "dl" / source.name
    wheel.parent.mkdir()
    _rewrite(source, wheel, stored=stored, descriptors=descriptors, zip64=zip64)
    if how == "bad-record":
        lied = next(iter(files), "demo/__init__.py")
        bad = make_wheel(
            base / "bad", "demo", files=files or None,
            record_overrides={lied: f"{lied},sha256=AAAA,1"},
        )  # fmt: skip
        _rewrite(bad, wheel, stored=stored, descriptors=descriptors, zip64=zip64)
    else:
        _break(wheel, how, seed)
    data = wheel.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()

    ordinary = _outcome(lambda: unpack_wheel(wheel, base / "ordinary", archive_id=sha256))

    parent = base / "streamed"
    parent.mkdir()
    stream = StreamUnpack(parent, len(data))
    for piece in _pieces(data, sizes):
        stream.feed(piece)
    kept = stream.finish(wheel, sha256)
    streamed = _outcome(lambda: kept or unpack_wheel(wheel, base / "fallback", archive_id=sha256))
    assert streamed == ordinary
    if kept is None:
        assert os.listdir(parent) == []  # the streamed tree is gone
    else:
        assert kept.directory.parent == parent
    has_stored_descriptor = descriptors and any(n in stored for n in files)
    if how == "none" and not has_stored_descriptor and not zip64:
        assert kept is not None, "a plain wheel must be streamed"


def test_a_stored_member_with_a_data_descriptor_falls_back(tmp_path: Path) -> None:
    source = make_wheel(tmp_path / "w", "demo", files={"demo/x.py": "X = 1\n"})
    wheel = tmp_path / "dl" / source.name
    wheel.parent.mkdir()
    _rewrite(source, wheel, stored={"demo/x.py"}, descriptors=True, zip64=False)
    data = wheel.read_bytes()
    stream = StreamUnpack(tmp_path, len(data))
    stream.feed(data)
    assert not stream.streaming  # stopped at the member, its tree removed
    assert stream.finish(wheel, "0" * 64) is None
    assert not any(p.name.startswith("unpack-stream-") for p in tmp_path.iterdir())


def test_a_bomb_stops_streaming_before_anything_is_written(tmp_path: Path) -> None:
    zeros = b"\0" * (BOMB_THRESHOLD + 1)  # about 64 KiB deflated: past 200 times its size
    wheel = make_wheel(tmp_path / "w", "demo", files={"demo/zeros.bin": zeros})
    stream = StreamUnpack(tmp_path, wheel.stat().st_size)
    stream.feed(wheel.read_bytes())
    assert not stream.streaming
    assert not any(p.name.startswith("unpack-stream-") for p in tmp_path.iterdir())
    with pytest.raises(InvalidWheel, match="implausibly large"):
        unpack_wheel(wheel, tmp_path / "ordinary")


def test_only_big_downloads_are_streamed(tmp_path: Path) -> None:
    assert stream_into(tmp_path, None) is None
    assert stream_into(tmp_path, 1000) is None
    stream = stream_into(tmp_path, IN_MEMORY)
    assert stream is not None
    stream.discard()
    assert list(tmp_path.iterdir()) == []


def _world(directory: Path) -> list[Path]:
    """Wheels for an index: plain ones (one with an executable, one with a big member),
    and one whose RECORD lies about a file."""
    return [
        make_wheel(
            directory,
            "aa",
            files={"aa/__init__.py": "A = 1\n", "aa/run": "#!/bin/sh\n"},
            executable=["aa/run"],
        ),  # fmt: skip
        make_wheel(
            directory, "bb", files={"bb/__init__.py": "", "bb/big.bin": os.urandom(CHUNK * 2)}
        ),
        make_wheel(
            directory,
            "cc",
            files={"cc/__init__.py": "C = 3\n"},
            record_overrides={"cc/__init__.py": "cc/__init__.py,sha256=AAAA,6"},
        ),  # fmt: skip
    ]


def _ordinary(wheel: Path, staging: Path, sha256: str) -> tuple[str, object]:
    return _outcome(lambda: unpack_wheel(wheel, staging, archive_id=sha256))


def test_the_fetcher_keeps_streamed_trees_only_where_they_equal_the_unpack(
    index_server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Downloads on this process's threads (an index elsewhere: 8 at once) are streamed;
    each tree taken is the ordinary unpack's, a bad wheel fails as it would."""
    monkeypatch.setattr(stream_module, "STREAM_FROM", 1)  # these small wheels too
    monkeypatch.setattr(fetching_module, "STREAMS_AT_ONCE", 8)  # all of them
    wheels = _world(tmp_path / "src")
    for wheel in wheels:
        index_server.add(wheel)
    with IndexClient(index_urls=[index_server.url], cache_dir=None, concurrency=8) as client:
        fetcher = Fetcher(open_cache(tmp_path / "cache"), client, {}, len(wheels))
        try:
            wanted = [(n, client.project_links(n)[0]) for n in ("aa", "bb", "cc")]
            got = fetcher.results(wanted)
            outcomes = []
            for downloaded in got:
                outcomes.append(_outcome(lambda d=downloaded: _take(fetcher, d.path)))
                want = _ordinary(downloaded.path, tmp_path / "ordinary", downloaded.sha256)
                assert outcomes[-1] == want
        finally:
            fetcher.close()
    assert [kind for kind, _ in outcomes] == ["tree", "tree", "error"]
    assert "does not match its sha256 hash in RECORD" in str(outcomes[2][1])
    assert list((tmp_path / "cache" / "tmp").iterdir()) == []


def _take(fetcher: Fetcher, wheel: Path) -> UnpackedWheel:
    tree = fetcher.unpacks.take(wheel)
    assert tree is not None
    assert tree.directory.name.startswith("unpack-stream-")  # streamed, not unpacked after
    return tree


def test_a_download_whose_hash_is_refused_leaves_no_streamed_tree(
    index_server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream_module, "STREAM_FROM", 1)
    index_server.add(_world(tmp_path / "src")[0])
    with IndexClient(index_urls=[index_server.url], cache_dir=None, concurrency=8) as client:
        fetcher = Fetcher(
            open_cache(tmp_path / "cache"), client, {"aa": frozenset({"sha256:0"})}, 1
        )
        try:
            (got,) = fetcher.results([("aa", client.project_links("aa")[0])])
            assert fetcher.unpacks.take(got.path) is None
            assert [p.name for p in fetcher.staging.iterdir()] == [got.path.name]
        finally:
            fetcher.close()


def test_workers_that_download_unpack_the_file(
    index_server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The unpacking workers, which download from an index on this machine, unpack the
    downloaded file however big (streaming would cost CPU there for no time gained);
    the tree is the ordinary unpack's, a bad wheel fails as it would."""
    monkeypatch.setattr(stream_module, "STREAM_FROM", 1)  # before the fork
    wheels = _world(tmp_path / "src")
    for wheel in wheels:
        index_server.add(wheel)
    dest = tmp_path / "downloads"
    dest.mkdir()
    workers = ForkedUnpacks(tmp_path / "tmp")
    client = IndexClient(index_urls=[index_server.url], cache_dir=None)
    try:
        jobs = []
        for name in ("aa", "bb", "cc"):
            link = client.project_links(name)[0]
            limits = client.limits(link)  # the declared size, as Unpacks.fetch gives it
            jobs.append(workers.fetch(link.url, dest, link.filename, link.hashes, 5.0, limits))
        for job in jobs:
            assert job is not None
            got = workers.fetched(job)
            fetched = _outcome(lambda j=job: _from_file(workers.take(j)))
            assert fetched == _ordinary(got.path, tmp_path / "ordinary", got.sha256)
        assert not list(dest.glob("unpack-stream-*"))
    finally:
        client.close()
        assert workers.abandon() == []


def _from_file(tree: UnpackedWheel | None) -> UnpackedWheel:
    assert tree is not None
    assert not tree.directory.name.startswith("unpack-stream-")
    return tree
