"""The thread helpers: ``Background`` (jobs started while the caller works on, taken one
by one, or abandoned) and ``on_threads`` (one step over many items)."""

from __future__ import annotations

import threading
import time

import pytest

from cachedb._threads import Background, on_threads


def test_results_are_taken_by_key_and_then_belong_to_the_caller() -> None:
    jobs: Background[str, int] = Background(1, "test")
    for n in range(5):
        jobs.submit(f"k{n}", pow, n, 2)
    assert jobs.take("k3") == 9
    assert jobs.take("missing") is None
    assert sorted(jobs.abandon()) == [0, 1, 4, 16]  # all but the one taken


def test_a_failed_job_raises_when_taken_and_is_left_out_by_abandon() -> None:
    jobs: Background[str, int] = Background(1, "test")
    jobs.submit("good", int, "7")  # one worker: done before "bad" is
    jobs.submit("bad", int, "not a number")
    with pytest.raises(ValueError):
        jobs.take("bad")
    assert jobs.abandon() == [7]


def test_abandon_waits_for_running_jobs_and_drops_queued_ones() -> None:
    jobs: Background[int, int] = Background(1, "test")
    release = threading.Event()
    started = threading.Event()
    ran: list[int] = []

    def job(n: int) -> int:
        if n < 0:
            started.set()
            release.wait()
        ran.append(n)
        return n

    jobs.submit(-1, job, -1)
    for n in range(10):
        jobs.submit(n, job, n)
    started.wait()
    threading.Timer(0.2, release.set).start()
    # The running job is waited for and returned; queued ones are cancelled, not run
    # (unless the worker picked one up before the queue was emptied).
    returned = jobs.abandon()
    assert -1 in returned and sorted(returned) == sorted(ran)


def test_nothing_started_means_nothing_to_abandon() -> None:
    jobs: Background[str, int] = Background(2, "test")
    assert jobs.abandon() == []
    assert jobs.take("anything") is None


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_on_threads_returns_results_in_item_order(workers: int) -> None:
    items = list(range(200))
    weights = [n % 7 for n in items]  # heaviest first: another order of work, the same answer
    assert on_threads(lambda n: n * n, items, workers, "test", weights) == [n * n for n in items]
    assert on_threads(lambda n: n, [], workers, "test") == []


def test_on_threads_stops_at_a_failure_and_raises_it_once_all_workers_stopped() -> None:
    started: list[int] = []
    gate = threading.Event()

    def fn(n: int) -> int:
        started.append(n)
        if n == 0:
            gate.wait()  # the other worker fails while this one is busy
            return n
        raise ValueError(n)

    def release() -> None:
        while len(started) < 2:
            time.sleep(0.001)
        gate.set()

    threading.Thread(target=release, daemon=True).start()
    with pytest.raises(ValueError):
        on_threads(fn, list(range(50)), 2, "test")
    # Item 0 finished before the failure was raised; no worker went on past its next item.
    assert 0 in started and len(started) == 2
