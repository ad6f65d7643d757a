"""IndexClient against a real index server: pages, cache, find-links, metadata, downloads."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from wheelbuilder import make_wheel, metadata_text

from cachedb.errors import HashMismatch, InvalidWheel, NetworkError, UsageError
from cachedb.index import IndexClient, parse_html_page
from cachedb.index._concurrency import (
    LOOPBACK_CONCURRENCY,
    PAGES_PER_DOWNLOAD,
    REMOTE_CONCURRENCY,
)

if TYPE_CHECKING:
    from indexserver import IndexServer


@pytest.fixture
def wheels(tmp_path: Path) -> dict[str, Path]:
    src = tmp_path / "src"
    return {
        "alpha1": make_wheel(src, "alpha", "1.0", requires=["beta>=1"]),
        "alpha2": make_wheel(src, "alpha", "2.0", requires_python=">=3.8"),
        "beta": make_wheel(src, "beta", "1.0"),
    }


@pytest.fixture
def served(index_server: IndexServer, wheels: dict[str, Path]) -> IndexServer:
    index_server.add(wheels["alpha1"], yanked="broken build", metadata=False)
    index_server.add(wheels["alpha2"], requires_python=">=3.8,<4")
    index_server.add(wheels["beta"], yanked="")
    return index_server


def client(server: IndexServer | None, cache: Path | None, **kw: object) -> IndexClient:
    urls = [server.url] if server is not None else []
    kw.setdefault("timeout", 5.0)
    return IndexClient(index_urls=urls, cache_dir=cache, **kw)  # type: ignore[arg-type]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("html_only", [False, True], ids=["json", "html"])
def test_project_page_attributes(
    served: IndexServer, wheels: dict[str, Path], tmp_path: Path, html_only: bool
) -> None:
    served.html_only = html_only
    with client(served, None) as c:
        links = {link.filename: link for link in c.project_links("Alpha")}
        beta = c.project_links("beta")[0]
    one, two = links[wheels["alpha1"].name], links[wheels["alpha2"].name]
    assert one.url == f"{served.root_url}/files/{one.filename}"
    assert one.hashes == {"sha256": _sha(wheels["alpha1"].read_bytes())}
    assert one.yanked == "broken build" and two.yanked is None and beta.yanked == ""
    assert two.requires_python == ">=3.8,<4" and one.requires_python is None
    assert one.metadata_hashes is None
    meta = metadata_text("alpha", "2.0", requires_python=">=3.8").encode()
    assert two.metadata_hashes == {"sha256": _sha(meta)}
    assert one.source == served.url and one.is_wheel
    assert served.requests[0] == "/simple/alpha/"


def test_unknown_project_is_empty(served: IndexServer) -> None:
    with client(served, None) as c:
        assert c.project_links("nothing-here") == []


def test_pep658_metadata_is_fetched_and_verified(
    served: IndexServer, wheels: dict[str, Path]
) -> None:
    with client(served, None) as c:
        two = next(x for x in c.project_links("alpha") if x.filename == wheels["alpha2"].name)
        assert b"Requires-Python: >=3.8" in c.fetch_metadata(two)
        assert served.requests[-1] == f"/files/{two.filename}.metadata"
        tampered = two._replace(metadata_hashes={"sha256": "0" * 64})
        with pytest.raises(HashMismatch, match="0000"):
            c.fetch_metadata(tampered)


def test_metadata_falls_back_to_wheel(
    served: IndexServer, wheels: dict[str, Path], tmp_path: Path
) -> None:
    scratch = tmp_path / "tmp"  # the cache's tmp/: the wheel is downloaded there, then gone
    with client(served, None, scratch=scratch) as c:
        one = next(x for x in c.project_links("alpha") if x.filename == wheels["alpha1"].name)
        assert b"Requires-Dist: beta>=1" in c.fetch_metadata(one)
        assert served.requests[-1] == f"/files/{one.filename}"
    assert list(scratch.iterdir()) == []
    with client(served, None) as c:  # no cache to download into: said, nothing written
        one = next(x for x in c.project_links("alpha") if x.filename == wheels["alpha1"].name)
        with pytest.raises(UsageError, match="without a cache"):
            c.fetch_metadata(one)


def test_metadata_cached_for_offline_use(served: IndexServer, tmp_path: Path) -> None:
    cache = tmp_path / "simple-v0"
    with client(served, cache) as c:
        two = next(x for x in c.project_links("alpha") if x.metadata_hashes)
        first = c.fetch_metadata(two)
    with client(served, cache, offline=True) as c:
        assert c.fetch_metadata(two) == first
        assert c.request_count == 0


def test_etag_revalidation_and_one_request_per_process(served: IndexServer, tmp_path: Path) -> None:
    cache = tmp_path / "simple-v0"
    with client(served, cache) as c:
        first = c.project_links("alpha")
        c.project_links("alpha")
        assert c.request_count == 1
    assert served.conditional_requests == []
    with client(served, cache) as c:
        assert c.project_links("alpha") == first
        assert c.request_count == 1
    assert served.conditional_requests == ["/simple/alpha/"]


def test_offline_uses_cache_and_sends_nothing(served: IndexServer, tmp_path: Path) -> None:
    cache = tmp_path / "simple-v0"
    with client(served, cache) as c:
        expected = c.project_links("alpha")
        assert c.project_links("nothing-here") == []
    before = list(served.requests)
    with client(served, cache, offline=True) as c:
        assert c.project_links("alpha") == expected
        assert c.project_links("nothing-here") == []  # a cached 404 is an answer too
        with pytest.raises(NetworkError, match="not in the cache and --offline is set"):
            c.project_links("beta")
        with pytest.raises(NetworkError, match="--offline"):
            c.download(expected[0], tmp_path / "out")
        assert c.request_count == 0
    assert served.requests == before


def test_offline_warm_path_does_not_import_httpx(served: IndexServer, tmp_path: Path) -> None:
    cache = tmp_path / "simple-v0"
    with client(served, cache) as c:
        c.project_links("alpha")
    code = (
        "import sys; from pathlib import Path; from cachedb.index import IndexClient\n"
        f"c = IndexClient(index_urls=[{served.url!r}], cache_dir=Path({str(cache)!r}),"
        " offline=True)\n"
        "assert c.project_links('alpha'); assert 'httpx' not in sys.modules, 'httpx imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_refresh_always_revalidates(served: IndexServer, tmp_path: Path) -> None:
    cache = tmp_path / "simple-v0"
    with client(served, cache) as c:
        c.project_links("alpha")
    with client(served, cache, refresh=True) as c:
        c.project_links("alpha")
        assert c.request_count == 1
    assert served.conditional_requests == ["/simple/alpha/"]


def test_find_links_directory(wheels: dict[str, Path], tmp_path: Path) -> None:
    (wheels["alpha1"].parent / "notes.txt").write_text("not a dist")
    for location in (str(wheels["alpha1"].parent), wheels["alpha1"].parent.as_uri()):
        c = IndexClient(index_urls=[], find_links=[location], cache_dir=None, offline=True)
        links = c.project_links("ALPHA")
        assert sorted(x.filename for x in links) == sorted(
            [wheels["alpha1"].name, wheels["alpha2"].name]
        )
        assert links[0].url.startswith("file://")
        got = c.download(links[0], tmp_path / "out")
        assert got.path.read_bytes() == Path(links[0].url[len("file://") :]).read_bytes()
        assert b"Name: alpha" in c.fetch_metadata(links[0])


def test_find_links_missing_directory(tmp_path: Path) -> None:
    c = IndexClient(index_urls=[], find_links=[str(tmp_path / "nope")], cache_dir=None)
    with pytest.raises(UsageError, match="does not exist"):
        c.project_links("alpha")


def test_find_links_url(served: IndexServer, wheels: dict[str, Path], tmp_path: Path) -> None:
    # Any HTML page of links works; the project page lists alpha only, so filter on beta too.
    page = f"{served.url}/alpha/"
    with IndexClient(index_urls=[], find_links=[page], cache_dir=None) as c:
        assert {x.filename for x in c.project_links("alpha")} == {
            wheels["alpha1"].name,
            wheels["alpha2"].name,
        }
        assert c.project_links("beta") == []
        assert c.request_count == 1


def test_html_parsing_details() -> None:
    page = b"""<html><head><base href="https://files.example/pkgs/"></head><body>
    <a href="a-1.0-py3-none-any.whl#sha256=ABCD" data-requires-python="&gt;=3.8"
       data-yanked data-dist-info-metadata="true">a</a>
    <a href="../other/a-1.0.tar.gz">sdist</a>
    <a href="..">up</a>
    </body></html>"""
    whl, sdist = parse_html_page(page, "https://index.example/simple/a/", "src")
    assert whl.url == "https://files.example/pkgs/a-1.0-py3-none-any.whl"
    assert whl.hashes == {"sha256": "abcd"} and whl.requires_python == ">=3.8"
    assert whl.yanked == "" and whl.metadata_hashes == {}
    assert sdist.url == "https://files.example/other/a-1.0.tar.gz" and not sdist.is_wheel
    assert sdist.metadata_hashes is None and sdist.yanked is None


def test_bad_hash_download(served: IndexServer, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "more", "gamma", "1.0")
    served.add(wheel, bad_hash=True)
    with client(served, None) as c:
        (link,) = c.project_links("gamma")
        with pytest.raises(HashMismatch) as info:
            c.download(link, tmp_path / "out")
    assert _sha(wheel.read_bytes()) in str(info.value)
    assert list((tmp_path / "out").iterdir()) == []


def test_expected_hash_checked(
    served: IndexServer, wheels: dict[str, Path], tmp_path: Path
) -> None:
    with client(served, None) as c:
        link = c.project_links("beta")[0]
        good = {"sha256": _sha(wheels["beta"].read_bytes())}
        assert c.download(link, tmp_path / "ok", expected=good).sha256 == good["sha256"]
        with pytest.raises(HashMismatch):
            c.download(link, tmp_path / "bad", expected={"sha256": "1" * 64})
    assert list((tmp_path / "bad").iterdir()) == []


def test_truncated_download(served: IndexServer, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "more", "big", "1.0", files={"big/x.bin": b"y" * 300_000})
    served.add(wheel)
    served.faults[wheel.name] = "truncate"
    with client(served, None) as c, pytest.raises(NetworkError):
        c.download(c.project_links("big")[0], tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://user:secret@127.0.0.1:{port}/simple"


def test_unreachable_index_fails_fast_without_credentials(tmp_path: Path) -> None:
    c = IndexClient(index_urls=[_closed_port_url()], cache_dir=tmp_path / "c", timeout=30.0)
    with pytest.raises(NetworkError) as info:
        c.project_links("alpha")
    message = str(info.value)
    assert "cannot connect" in message and "****@127.0.0.1" in message
    assert "secret" not in message and "user" not in message
    # Nothing about the failed page is kept, and no credentials reach the disk.
    assert not any(p.is_file() for p in (tmp_path / "c").rglob("*"))


def test_credentials_used_but_never_shown(wheels: dict[str, Path], tmp_path: Path) -> None:
    from indexserver import IndexServer

    server = IndexServer(auth=("user", "secret"))
    try:
        server.add(wheels["beta"])
        secret_url = server.url.replace("http://", "http://user:secret@")
        cache = tmp_path / "simple-v0"
        with IndexClient(index_urls=[secret_url], cache_dir=cache) as c:
            (link,) = c.project_links("beta")
            assert "secret" in link.url and "secret" not in link.redacted_url
            assert "secret" not in link.source
            c.download(link, tmp_path / "out")
            server.faults[link.filename] = "404"
            with pytest.raises(NetworkError) as info:
                c.download(link, tmp_path / "out2")
            assert "secret" not in str(info.value) and "****@" in str(info.value)
        anonymous = IndexClient(index_urls=[server.url], cache_dir=None)
        with anonymous as c, pytest.raises(NetworkError, match="401"):
            c.project_links("beta")
        assert all(b"secret" not in p.read_bytes() for p in cache.rglob("*") if p.is_file())
    finally:
        server.close()


def test_redirect_loop_on_index(served: IndexServer) -> None:
    served.faults["alpha"] = "redirect-loop"
    with client(served, None) as c, pytest.raises(NetworkError, match="redirect loop"):
        c.project_links("alpha")


def test_stalled_index_times_out(served: IndexServer) -> None:
    served.faults["alpha"] = "stall"
    with client(served, None, timeout=0.3) as c, pytest.raises(NetworkError, match="timed out"):
        c.project_links("alpha")


def test_download_many_concurrently(index_server: IndexServer, tmp_path: Path) -> None:
    built = [make_wheel(tmp_path / "src", f"pkg{i}", "1.0") for i in range(6)]
    for wheel in built:
        index_server.add(wheel)
    with client(index_server, None, concurrency=3) as c:
        items = [(c.project_links(w.name.split("-")[0])[0], None) for w in built]
        got = c.download_many(items, tmp_path / "out")
    assert [d.path.name for d in got] == [w.name for w in built]
    assert all(d.path.read_bytes() == w.read_bytes() for d, w in zip(got, built, strict=True))
    assert c.download_many([], tmp_path / "out") == []


def test_download_many_reports_failure(index_server: IndexServer, tmp_path: Path) -> None:
    good = make_wheel(tmp_path / "src", "good", "1.0")
    bad = make_wheel(tmp_path / "src", "bad", "1.0")
    index_server.add(good)
    index_server.add(bad, bad_hash=True)
    with client(index_server, None) as c:
        items = [(c.project_links(n)[0], None) for n in ("good", "bad")]
        with pytest.raises(HashMismatch):
            c.download_many(items, tmp_path / "out")
    assert [p.name for p in (tmp_path / "out").iterdir()] == [good.name]


def test_page_size_cap(served: IndexServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cachedb.index._pages.MAX_PAGE", 100)
    with client(served, None) as c, pytest.raises(NetworkError, match="larger than"):
        c.project_links("alpha")


@pytest.mark.parametrize(
    ("locations", "expected"),
    [
        (["http://127.0.0.1:8080/simple"], LOOPBACK_CONCURRENCY),
        (["http://localhost/simple", "http://[::1]:3141/root/pypi"], LOOPBACK_CONCURRENCY),
        (["http://127.0.0.1/simple", "/srv/wheels"], LOOPBACK_CONCURRENCY),
        (["https://pypi.org/simple"], REMOTE_CONCURRENCY),
        (["http://127.0.0.1/simple", "https://mirror.example/simple"], REMOTE_CONCURRENCY),
    ],
)
def test_requests_at_once_depend_on_where_the_index_is(locations: list[str], expected: int) -> None:
    urls = [u for u in locations if "://" in u]
    paths = [u for u in locations if "://" not in u]
    client = IndexClient(index_urls=urls, find_links=paths, cache_dir=None)
    assert client.concurrency == expected
    # Pages are small: across a network their latency is hidden by asking for more at once.
    pages = expected * (PAGES_PER_DOWNLOAD if expected == REMOTE_CONCURRENCY else 1)
    assert client.page_concurrency == pages
    given = IndexClient(index_urls=urls, cache_dir=None, concurrency=5)
    assert (given.concurrency, given.page_concurrency) == (5, 5)  # as the user said


def _zipfile_metadata(wheel: Path) -> list[bytes]:
    import zipfile

    with zipfile.ZipFile(wheel) as zf:
        return [zf.read(n) for n in zf.namelist() if n.count("/") == 1 and n.endswith("/METADATA")]


def test_metadata_read_from_a_wheel_is_what_zipfile_reads(tmp_path: Path) -> None:
    import random
    import zipfile

    from cachedb.wheel.metadata import _single_metadata, wheel_metadata

    rng = random.Random(658)
    for i in range(30):
        # Many members, names of every length, stored or deflated: the member whose
        # name ends in .dist-info/METADATA is found among them, and only that one.
        files = {
            f"pkg{i}/{'d/' * rng.randrange(3)}{'m' * rng.randrange(1, 90)}{j}.py": "x" * j
            for j in range(rng.randrange(1, 60))
        }
        wheel = make_wheel(tmp_path / str(i), f"pkg{i}", "1.0", files=files, requires=["lib>=1"])
        if i % 3 == 0:  # rewritten with nothing compressed
            stored = wheel.with_suffix(".tmp")
            with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(stored, "w") as dst:
                for info in src.infolist():
                    dst.writestr(info.filename, src.read(info), zipfile.ZIP_STORED)
            stored.replace(wheel)
        # Found by name, without zipfile's reading of every member (None would fall back).
        assert _single_metadata(wheel, f"pkg{i}") is not None
        assert [wheel_metadata(wheel)] == _zipfile_metadata(wheel)


def test_metadata_of_a_wheel_with_a_vendored_or_nested_dist_info(tmp_path: Path) -> None:
    from cachedb.index._metadata import wheel_metadata

    vendored = make_wheel(
        tmp_path / "v",
        "outer",
        "1.0",
        extra_members={"inner-2.0.dist-info/METADATA": b"Name: inner\nVersion: 2.0\n"},
    )
    assert b"Name: outer" in wheel_metadata(vendored)  # the project's own dist-info wins
    nested = make_wheel(tmp_path / "n", "deep", "1.0", dist_info="sub/deep-1.0.dist-info")
    with pytest.raises(InvalidWheel):
        wheel_metadata(nested)  # nothing at the top level to read


def test_a_page_the_cache_cannot_keep_is_logged_and_the_run_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The page cache only saves requests: a page it cannot write is a debug line of
    its logger, not an error (its ``logging`` loads only then)."""
    import logging

    from cachedb.index._httpcache import CachedPage, PageCache

    blocked = tmp_path / "simple"
    blocked.write_text("a file where the cache's folder should be")
    page = CachedPage(
        "https://example.invalid/simple/a/", 200, "text/html", None, None, 0.0, 60.0, b""
    )
    with caplog.at_level(logging.DEBUG, logger="cachedb.index._httpcache"):
        PageCache(blocked).put(page.url, "text/html", page)
    assert "cannot cache index page" in caplog.text
    assert blocked.read_text() == "a file where the cache's folder should be"
