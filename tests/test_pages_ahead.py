"""A cold install reads the pages of its exact pins while the target's interpreter answers
(``IndexClient.read_pages_soon``): the same requests, the same environment and the same
page cache as an install that reads them only when it gets there, failures included."""

from __future__ import annotations

import io
import re
import threading
from collections import Counter
from pathlib import Path

import pytest
from indexserver import Handler, IndexServer
from installtools import make_venv
from wheelbuilder import make_wheel

from cachedb.errors import CachedbError
from cachedb.index import IndexClient
from cachedb.install import fetching
from cachedb.install.fetching import Fetcher
from cachedb.install.options import InstallOptions
from cachedb.install.pipeline import run_install
from cachedb.install.report import Reporter
from cachedb.store import open_cache

PINS = [
    "alpha==1.0",
    "beta[fast]==2.0",
    "gamma==1.0",
    'delta==1.0; python_version < "3"',  # not for this target: its page is never read
    "Epsilon_Pkg==1.0",
]


def _index(server: IndexServer, tmp_path: Path) -> None:
    src = tmp_path / "src"
    server.add(make_wheel(src, "alpha", "1.0", requires=["zeta>=1"]))
    server.add(make_wheel(src, "beta", "2.0", extras=["fast"], requires=['zeta; extra == "fast"']))
    server.add(make_wheel(src, "gamma", "1.0"))
    server.add(make_wheel(src, "delta", "1.0"))
    server.add(make_wheel(src, "epsilon-pkg", "1.0"))
    server.add(make_wheel(src, "zeta", "1.0"))
    server.add(make_wheel(src, "zeta", "1.5"))


def _install(
    server: IndexServer, root: Path, pins: list[str]
) -> tuple[str | None, Counter[str], list[str], list[str]]:
    """(error or None, requests sent, dist-infos installed, page cache files) of one cold
    install of ``pins`` into a fresh venv with an empty cache."""
    venv, cache = root / "venv", root / "cache"
    make_venv(venv)
    server.take_count()
    server.requests.clear()
    opts = InstallOptions(
        requirements=pins, python=str(venv / "bin" / "python"), cache_dir=cache,
        index_url=server.url,
    )  # fmt: skip
    error = None
    try:
        assert run_install(opts, Reporter(0, stream=io.StringIO())) == 0
    except CachedbError as exc:
        error = re.sub(r"\d+(\.\d+)? ?m?s\b", "", str(exc))
    requests = Counter(server.requests)
    site = next((venv / "lib").glob("python*/site-packages"))
    installed = sorted(p.name for p in site.glob("*.dist-info"))
    simple = cache / "simple-v0"
    pages = sorted(str(p.relative_to(simple)) for p in simple.rglob("*") if p.is_file())
    return error, requests, installed, pages


def _both(
    server: IndexServer, tmp_path: Path, pins: list[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[tuple[str | None, Counter[str], list[str], list[str]], ...]:
    asked: list[list[str]] = []
    soon = IndexClient.read_pages_soon

    def spy(self: IndexClient, names: list[str]) -> None:
        names = list(names)
        asked.append(names)
        soon(self, names)

    monkeypatch.setattr(IndexClient, "read_pages_soon", spy)
    ahead = _install(server, tmp_path / "ahead", pins)
    assert asked == [["alpha", "beta", "gamma", "epsilon-pkg"]]  # what was read ahead
    monkeypatch.setattr(IndexClient, "read_pages_soon", lambda self, names: None)
    later = _install(server, tmp_path / "later", pins)
    return ahead, later


def test_pages_read_ahead_are_the_ones_the_install_reads_anyway(
    index_server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _index(index_server, tmp_path)
    ahead, later = _both(index_server, tmp_path, PINS, monkeypatch)
    assert ahead == later
    error, requests, installed, pages = ahead
    assert error is None
    assert installed == [
        "alpha-1.0.dist-info", "beta-2.0.dist-info", "epsilon_pkg-1.0.dist-info",
        "gamma-1.0.dist-info", "zeta-1.5.dist-info",
    ]  # fmt: skip
    assert "/simple/delta/" not in requests
    assert all(n == 1 for n in requests.values())  # each page and file asked once
    assert pages  # kept on success, as ever


def test_a_page_that_fails_ahead_fails_the_install_as_it_would_have(
    index_server: IndexServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _index(index_server, tmp_path)
    index_server.faults["gamma"] = "redirect-loop"
    ahead, later = _both(index_server, tmp_path, PINS, monkeypatch)
    assert ahead == later
    error, requests, installed, pages = ahead
    assert error is not None and "gamma" in error
    assert installed == [] and pages == []  # nothing installed, no page kept


def test_the_unpacking_workers_fork_once_the_pages_read_ahead_are_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forking with a page thread alive could copy a held lock into the workers: the
    Fetcher waits for the pages read ahead before it asks whether it may fork."""
    release = threading.Event()
    alive_at_fork: list[list[str]] = []

    class Slow(Handler):
        def _project_page(self, name: str) -> None:
            release.wait(10)
            super()._project_page(name)

    def may_fork() -> bool:
        alive_at_fork.append([t.name for t in threading.enumerate() if "page" in t.name])
        return False  # (this process runs the index server's threads)

    monkeypatch.setattr(fetching, "can_fork", may_fork)
    with IndexServer(handler=Slow) as server:
        for name in ("one", "two", "three"):
            server.add(make_wheel(tmp_path / "src", name, "1.0"))
        with IndexClient(index_urls=[server.url], cache_dir=None, concurrency=2) as client:
            client.read_pages_soon(["one", "two", "three"])
            threading.Timer(0.3, release.set).start()
            Fetcher(open_cache(tmp_path / "cache"), client, {}, 3).close()
            assert alive_at_fork == [[]]
            assert sorted(server.requests) == ["/simple/one/", "/simple/three/", "/simple/two/"]
