"""Splitting work between this process and a forked child (how archives are linked)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from cachedb.errors import InstallError
from cachedb.install.forked import on_two_processes

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


def _touch(directory: Path, fail_on: int | None = None) -> Callable[[int], None]:
    def work(item: int) -> None:
        if item == fail_on:
            raise InstallError(f"cannot install item {item}")
        (directory / str(item)).write_text(str(os.getpid()))
        time.sleep(0.01)  # long enough that both processes take a share

    return work


def _doers(directory: Path) -> dict[int, int]:
    """Which process did each item (the pid its file holds)."""
    return {int(p.name): int(p.read_text()) for p in directory.iterdir()}


def test_every_item_is_done_once_by_one_of_both_processes(tmp_path: Path) -> None:
    items = list(range(30))
    assert on_two_processes(_touch(tmp_path), items, weights=[1] * 30, name="test") is None
    doers = _doers(tmp_path)
    assert sorted(doers) == items
    pids = set(doers.values())
    assert os.getpid() in pids and len(pids) == 2


def test_a_failure_in_either_process_is_raised_after_both_stop(tmp_path: Path) -> None:
    with pytest.raises(InstallError, match="cannot install item 7"):
        on_two_processes(_touch(tmp_path, fail_on=7), list(range(30)), name="test")
    # Nothing is still running: what exists now stays as it is.
    before = sorted(p.name for p in tmp_path.iterdir())
    time.sleep(0.2)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert "7" not in before


def test_with_other_threads_alive_it_does_not_fork(tmp_path: Path) -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        on_two_processes(_touch(tmp_path), list(range(6)), name="test")
    finally:
        stop.set()
        other.join()
    assert _doers(tmp_path) == dict.fromkeys(range(6), os.getpid())


def test_a_failure_in_the_child_comes_back_as_its_exception(tmp_path: Path) -> None:
    parent = os.getpid()

    def work(item: int) -> None:
        time.sleep(0.01)  # both processes take a share
        if os.getpid() != parent:
            raise InstallError(f"the child failed on item {item}")
        (tmp_path / str(item)).touch()

    with pytest.raises(InstallError, match="the child failed on item"):
        on_two_processes(work, list(range(30)), name="test")
    assert 0 < len(list(tmp_path.iterdir())) < 30  # the parent did its share
