"""--index-strategy: which index's versions of a project count (as uv's option).

The safe default, first-index, takes a project's versions from the first index
that has the project at all, so a name planted on an extra index (dependency
confusion) cannot win with a higher version.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from indexserver import IndexServer
from installtools import cachedb, make_venv, run_in
from wheelbuilder import make_wheel


@dataclass
class Two:
    first: IndexServer
    extra: IndexServer
    tmp: Path

    def install(self, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        venv = self.tmp / "venv"
        if not venv.exists():
            make_venv(venv)
        proc = cachedb(
            "install", "--cache-dir", self.tmp / "cache", "--venv", venv,
            "--index-url", self.first.url, "--extra-index-url", self.extra.url, *args, env=env,
        )  # fmt: skip
        if proc.returncode != 0:
            return proc.returncode, "", proc.stderr
        ran = run_in(venv, "import demo; print(demo.VERSION)")
        return proc.returncode, ran.stdout.strip(), proc.stderr


@pytest.fixture
def two(tmp_path: Path) -> Iterator[Two]:
    with IndexServer() as first, IndexServer() as extra:
        first.add(make_wheel(tmp_path / "w1", "demo", "1.0"))
        extra.add(make_wheel(tmp_path / "w2", "demo", "99.0"))
        extra.add(make_wheel(tmp_path / "w2", "onlyextra", "2.0", requires=["demo"]))
        yield Two(first, extra, tmp_path)


@pytest.mark.parametrize(
    ("args", "env"),
    [
        ((), None),
        (("--index-strategy", "first-index"), None),
        ((), {"CACHEDB_INDEX_STRATEGY": "first-index"}),
    ],
    ids=["default", "option", "env"],
)
def test_a_higher_version_on_an_extra_index_does_not_win(
    two: Two, args: tuple[str, ...], env: dict[str, str] | None
) -> None:
    code, version, err = two.install(*args, "demo", env=env)
    assert code == 0, err
    assert version == "1.0"
    assert not any("/simple/demo/" in r for r in two.extra.requests)


def test_first_index_falls_through_to_the_index_that_has_the_project(two: Two) -> None:
    code, version, err = two.install("onlyextra")
    assert code == 0, err
    assert version == "1.0"  # onlyextra comes from the extra index, its demo from the first


def test_first_index_does_not_look_elsewhere_for_a_missing_version(two: Two) -> None:
    code, _, err = two.install("demo==99.0")
    assert code == 1
    assert "demo" in err and "99.0" in err


def test_unsafe_best_match_takes_the_highest_version_of_any_index(two: Two) -> None:
    code, version, err = two.install("--index-strategy", "unsafe-best-match", "demo")
    assert code == 0, err
    assert version == "99.0"


def test_unsafe_first_match_takes_the_first_index_with_a_matching_version(two: Two) -> None:
    code, version, err = two.install("--index-strategy", "unsafe-first-match", "demo")
    assert code == 0, err
    assert version == "1.0"
    code, version, err = two.install("--index-strategy", "unsafe-first-match", "demo>=2")
    assert code == 0, err
    assert version == "99.0"


@pytest.mark.parametrize("how", ["option", "env"])
def test_unknown_index_strategy_is_a_usage_error(two: Two, how: str) -> None:
    if how == "option":
        code, _, err = two.install("--index-strategy", "best", "demo")
    else:
        code, _, err = two.install("demo", env={"CACHEDB_INDEX_STRATEGY": "best"})
    assert code == 2
    assert "first-index" in err and "unsafe-best-match" in err


def test_a_version_cached_from_an_extra_index_does_not_win_either(two: Two) -> None:
    # The cache holds demo 99.0 from the extra index; first-index must still answer as cold.
    code, version, err = two.install("--index-strategy", "unsafe-best-match", "demo")
    assert (code, version) == (0, "99.0"), err
    (two.tmp / "venv").rename(two.tmp / "venv-best")
    code, version, err = two.install("demo")
    assert code == 0, err
    assert version == "1.0"


def test_a_pin_cached_from_an_extra_index_answers_as_cold(two: Two) -> None:
    code, version, err = two.install("--index-strategy", "unsafe-best-match", "demo==99.0")
    assert (code, version) == (0, "99.0"), err
    (two.tmp / "venv").rename(two.tmp / "venv-best")
    code, _, err = two.install("demo==99.0")  # cold, first-index: the first index has no 99.0
    assert code == 1, err
