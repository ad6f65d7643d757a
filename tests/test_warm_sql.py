"""The statements a warm install from an index runs: the cache is asked about a pinned
set once, not once per name, and the answer is the one asking name by name gives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from indexserver import IndexServer
from installtools import make_venv, tree
from wheelbuilder import make_wheel

from cachedb.cli import main
from cachedb.install import cache_hits
from cachedb.store import catalog

NAMES = ("alpha", "beta-b", "gamma", "delta", "epsilon")


@pytest.fixture
def pinned_index(tmp_path: Path, index_server: IndexServer) -> Iterator[tuple[IndexServer, Path]]:
    wheels = tmp_path / "wheels"
    for i, name in enumerate(NAMES):
        # Two versions each: the cache holds both after the second install below.
        for version in ("1.0", "2.0"):
            index_server.add(make_wheel(wheels, name, version, files={f"m{i}.py": version}))
    pins = tmp_path / "pins.txt"
    pins.write_text("".join(f"{name}==1.0\n" for name in NAMES))
    yield index_server, pins


def _install(tmp_path: Path, server: IndexServer, pins: Path, venv: str, cache: str) -> Path:
    python = make_venv(tmp_path / venv)
    code = main(
        ["install", "-q", "--python", str(python), "--cache-dir", str(tmp_path / cache),
         "--index-url", server.url, "-r", str(pins)]
    )  # fmt: skip
    assert code == 0
    return next((tmp_path / venv / "lib").glob("python*/site-packages"))


def _counting(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    calls = {"by name": 0, "all names": 0}
    one, many = catalog.cached_wheels, catalog.cached_wheels_of

    def by_name(*args: Any) -> Any:
        calls["by name"] += 1
        return one(*args)

    def all_names(*args: Any) -> Any:
        calls["all names"] += 1
        return many(*args)

    monkeypatch.setattr(catalog, "cached_wheels", by_name)
    monkeypatch.setattr(catalog, "cached_wheels_of", all_names)
    return calls


def test_a_warm_install_from_an_index_asks_the_cache_once_for_all_pins(
    tmp_path: Path, pinned_index: tuple[IndexServer, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, pins = pinned_index
    _install(tmp_path, server, pins, "cold", "cache")
    calls = _counting(monkeypatch)
    _install(tmp_path, server, pins, "warm", "cache")
    # Before: one query per pinned name (5 here, 46 in the benchmark) from the finder.
    assert calls == {"by name": 0, "all names": 2}


def test_the_names_read_ahead_answer_as_asking_name_by_name(
    tmp_path: Path, pinned_index: tuple[IndexServer, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, pins = pinned_index
    _install(tmp_path, server, pins, "cold", "cache")
    # The other version of each name cached too: a pinned name's read-ahead holds both.
    other = tmp_path / "other.txt"
    other.write_text(pins.read_text().replace("==1.0", "==2.0"))
    _install(tmp_path, server, other, "cold2", "cache")
    read_ahead = _install(tmp_path, server, pins, "warm", "cache")
    # The same warm install with the read-ahead switched off: each name asked on its own.
    monkeypatch.setattr(cache_hits.CacheHits, "stored_pins", _without_read_ahead)
    calls = _counting(monkeypatch)
    by_name = _install(tmp_path, server, pins, "warm2", "cache")
    assert calls["by name"] == len(NAMES)
    assert tree(read_ahead) == tree(by_name)
    assert tree(read_ahead) == tree(next((tmp_path / "cold/lib").glob("python*/site-packages")))


_stored_pins = cache_hits.CacheHits.stored_pins


def _without_read_ahead(self: cache_hits.CacheHits, pins: Any) -> Any:
    answer = _stored_pins(self, pins)
    self._read_ahead.clear()
    return answer
