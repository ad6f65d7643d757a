"""Pages written ahead under tmp/ (``PageCache.stage``) and moved into the cache at commit:
the cache ends exactly as a plain commit leaves it, and as it was when the run fails."""

from __future__ import annotations

import io
import os
import stat
import time
from pathlib import Path

import pytest
from indexserver import IndexServer
from installtools import make_venv
from wheelbuilder import make_wheel

from cachedb.errors import CachedbError
from cachedb.index import IndexClient
from cachedb.index._httpcache import CachedPage, PageCache
from cachedb.install.options import InstallOptions
from cachedb.install.pipeline import run_install
from cachedb.install.report import Reporter


def _files(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``root``: its bytes and permission bits, by relative path."""
    return {
        str(p.relative_to(root)): (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _page(n: int, body: bytes = b"{}") -> CachedPage:
    url = f"http://index.example/simple/p{n}/"
    return CachedPage(
        url=url, status=200, content_type="application/vnd.pypi.simple.v1+json",
        etag=f'"{n}"', last_modified=None, fetched=1.0, max_age=600, body=body,
    )  # fmt: skip


def _fill(cache: PageCache, pages: int) -> None:
    for n in range(pages):
        page = _page(n, b"%d" % n)
        cache.put(page.url, "application/json", page)
    cache.put_blob("ab" * 32, b"Metadata-Version: 2.1\n")


@pytest.mark.parametrize("warm", [False, True], ids=["new-cache", "cache-with-pages"])
def test_staged_pages_end_as_a_plain_flush_writes_them(tmp_path: Path, warm: bool) -> None:
    results = []
    for way in ("plain", "staged"):
        directory, scratch = tmp_path / way / "simple", tmp_path / way / "tmp"
        scratch.mkdir(parents=True)
        if warm:  # directories and older pages there already
            earlier = PageCache(directory)
            _fill(earlier, 30)
        before = _files(directory) if directory.exists() else {}
        cache = PageCache(directory, deferred=True)
        _fill(cache, 60)
        if way == "staged":
            cache.stage(scratch)
            # Put again after staging (a page revalidated later in the run): the newer wins.
            newer = _page(3, b"newer")
            cache.put(newer.url, "application/json", newer)
            assert (_files(directory) if directory.exists() else {}) == before  # untouched
        cache.flush()
        assert list(scratch.iterdir()) == []
        results.append((way, _files(directory)))
    (_, plain), (_, staged) = results
    assert b"newer" not in b"".join(data for data, _ in plain.values())
    staged_newer = [key for key, (data, _) in staged.items() if data.endswith(b"\nnewer")]
    assert len(staged_newer) == 1
    del staged[staged_newer[0]]
    del plain[staged_newer[0]]
    assert staged == plain
    assert len(plain) >= 60


def test_staged_pages_of_a_failed_run_never_reach_the_cache(tmp_path: Path) -> None:
    directory, scratch = tmp_path / "simple", tmp_path / "tmp"
    scratch.mkdir()
    PageCache(directory).put(_page(0).url, "application/json", _page(0))
    before = _files(directory)
    cache = PageCache(directory, deferred=True)
    _fill(cache, 10)
    cache.stage(scratch)
    cache.discard_staged()  # what closing the index client does without a commit
    assert _files(directory) == before
    assert list(scratch.iterdir()) == []


def _cold_install(server: IndexServer, root: Path, pins: list[str]) -> str | None:
    make_venv(root / "venv")
    opts = InstallOptions(
        requirements=pins, python=str(root / "venv" / "bin" / "python"),
        cache_dir=root / "cache", index_url=server.url,
    )  # fmt: skip
    try:
        run_install(opts, Reporter(0, stream=io.StringIO()))
    except CachedbError as exc:
        return str(exc)
    return None


def test_a_cold_install_keeps_the_pages_a_plain_commit_keeps(
    index_server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ["one", "two", "three", "four"]
    for name in names:
        index_server.add(make_wheel(tmp_path / "src", name, "1.0"))
    pins = [f"{name}==1.0" for name in names]
    staged: list[int] = []
    stage = IndexClient.stage_pages

    def spy(self: IndexClient) -> None:
        staged.append(len(self._cache._pending))
        stage(self)

    monkeypatch.setattr(IndexClient, "stage_pages", spy)
    assert _cold_install(index_server, tmp_path / "a", pins) is None
    assert staged == [4]  # the four pages were written ahead
    monkeypatch.setattr(IndexClient, "stage_pages", lambda self: None)
    assert _cold_install(index_server, tmp_path / "b", pins) is None

    def pages(root: Path) -> dict[str, tuple[bytes, int]]:
        found = _files(root / "cache" / "simple-v0")
        # Each page records when it was fetched: the rest must be byte for byte the same.
        return {k: (b"\n".join(v[0].split(b"\n")[1:]), v[1]) for k, v in found.items()}

    assert pages(tmp_path / "a") == pages(tmp_path / "b")
    assert len(pages(tmp_path / "a")) == 4
    assert list((tmp_path / "a" / "cache" / "tmp").iterdir()) == []


def test_a_cold_install_that_fails_after_staging_keeps_no_page(
    index_server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ["one", "two", "three"]
    for name in names:
        index_server.add(make_wheel(tmp_path / "src", name, "1.0"))
    index_server.faults["three-1.0-py3-none-any.whl"] = "404"
    staged: list[int] = []
    stage = IndexClient.stage_pages

    def spy(self: IndexClient) -> None:
        staged.append(len(self._cache._pending))
        stage(self)

    monkeypatch.setattr(IndexClient, "stage_pages", spy)
    error = _cold_install(index_server, tmp_path / "a", [f"{n}==1.0" for n in names])
    assert error is not None and "three" in error
    assert staged == [3]
    cache = tmp_path / "a" / "cache"
    assert not (cache / "simple-v0").exists() or _files(cache / "simple-v0") == {}
    assert [p.name for p in (cache / "tmp").iterdir()] == []


def test_timestamps_differ_only_in_the_header(tmp_path: Path) -> None:
    """(The comparison above drops each page's first line: its header, with ``fetched``.)"""
    cache = PageCache(tmp_path / "simple")
    page = _page(1, b"body\nlines")
    cache.put(page.url, "application/json", page._replace(fetched=time.time()))
    (path,) = [p for p in (tmp_path / "simple").rglob("*") if p.is_file()]
    assert path.read_bytes().split(b"\n", 1)[1] == b"body\nlines"
    assert os.path.getsize(path) > len(b"body\nlines")


@pytest.mark.parametrize("planted", ["pages", "pages/*"])
def test_staged_pages_never_move_through_a_folder_planted_as_a_link(
    tmp_path: Path, planted: str
) -> None:
    directory, scratch, away = tmp_path / "simple", tmp_path / "tmp", tmp_path / "away"
    scratch.mkdir()
    away.mkdir()
    _fill(PageCache(directory), 20)
    for folder in sorted(directory.glob(planted)):
        moved = away / folder.relative_to(directory).as_posix().replace("/", "-")
        folder.rename(moved)
        folder.symlink_to(moved)
    before = _files(away)
    cache = PageCache(directory, deferred=True)
    _fill(cache, 20)
    for n in range(20):  # newer pages of the same URLs: they would be written through the links
        page = _page(n, b"newer")
        cache.put(page.url, "application/json", page)
    cache.stage(scratch)
    cache.flush()
    assert _files(away) == before
    assert list(scratch.iterdir()) == []
