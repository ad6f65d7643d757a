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


def _touch(directory: Path, fail_on: int | None = None) -> Callable[[int], tuple[int, int]]:
    def work(item: int) -> tuple[int, int]:
        if item == fail_on:
            raise InstallError(f"cannot install item {item}")
        (directory / str(item)).write_text(str(os.getpid()))
        time.sleep(0.01)  # long enough that both processes take a share
        return item, os.getpid()

    return work


def test_results_come_back_in_order_from_both_processes(tmp_path: Path) -> None:
    items = list(range(30))
    results = on_two_processes(_touch(tmp_path), items, weights=[1] * 30, name="test")
    assert [item for item, _ in results] == items
    pids = {pid for _, pid in results}
    assert os.getpid() in pids and len(pids) == 2
    assert sorted(int(p.name) for p in tmp_path.iterdir()) == items


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
        results = on_two_processes(_touch(tmp_path), list(range(6)), name="test")
    finally:
        stop.set()
        other.join()
    assert {pid for _, pid in results} == {os.getpid()}
    assert len(list(tmp_path.iterdir())) == 6
