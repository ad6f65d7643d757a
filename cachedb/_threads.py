"""Work on threads: a step over many items at once, or jobs in the background.

The one thread helper of the install (pages, downloads, unpacking, linking where
forking is unsafe) and of the index client; forked workers are ``install.forked``
and ``install.unpack_workers``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Generic, ParamSpec, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

T = TypeVar("T")
R = TypeVar("R")
K = TypeVar("K", bound=Hashable)
P = ParamSpec("P")


def on_threads(
    fn: Callable[[T], R],
    items: Sequence[T],
    workers: int,
    name: str,
    weights: Sequence[int] | None = None,
) -> list[R]:
    """``[fn(item) for item in items]`` on this thread and up to ``workers - 1`` more;
    results in ``items`` order.

    Every worker takes the next item from one shared queue (heaviest first, by
    ``weights``), so none is left alone with a big one at the end, and no future
    is made per item (thousands of files are thousands of items). The first
    failure stops every worker before its next item and is raised once all have
    stopped, so nothing is still being written when the caller sees it.
    """
    workers = min(workers, len(items))
    if workers < 2:
        return [fn(item) for item in items]
    order = range(len(items))
    if weights is not None:
        order = sorted(order, key=lambda n: weights[n], reverse=True)  # type: ignore[assignment]
    todo = iter(order)  # shared: next() on it is atomic under the GIL
    results: list[R | None] = [None] * len(items)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for n in todo:
                if errors:
                    return
                results[n] = fn(items[n])
        except BaseException as exc:  # handed to the calling thread
            errors.append(exc)

    helpers = [
        threading.Thread(target=work, name=f"cachedb-{name}", daemon=True)
        for _ in range(workers - 1)
    ]
    for helper in helpers:
        helper.start()
    work()
    try:
        for helper in helpers:
            helper.join()
    except BaseException as exc:  # e.g. Ctrl-C while joining: stop the helpers first
        errors.append(exc)
        for helper in helpers:
            helper.join()
        raise
    if errors:
        raise errors[0]
    return results  # type: ignore[return-value]  # every slot filled: no failure


def on_two_threads(
    fn: Callable[[T], R], items: Sequence[T], name: str, weights: Sequence[int] | None = None
) -> list[R]:
    """``on_threads`` with two: unpacking and linking release the GIL only in short
    system calls and zlib, so more threads than cores (measured) only hand the GIL
    around."""
    return on_threads(fn, items, 2, name, weights)


class Background(Generic[K, R]):
    """Jobs started one at a time, from any thread, while the caller does something else.

    The pool is created by the first job, so a run that starts none pays nothing.
    """

    def __init__(self, workers: int, name: str) -> None:
        self._workers = workers
        self._name = name
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._futures: dict[K, Future[R]] = {}

    def submit(self, key: K, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> None:
        with self._lock:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(
                    max_workers=self._workers, thread_name_prefix=f"cachedb-{self._name}"
                )
            self._futures[key] = self._pool.submit(fn, *args, **kwargs)

    def take(self, key: K) -> R | None:
        """The result of the job started for ``key``, waiting for it; None if none was.

        A result taken is the caller's: ``abandon`` no longer returns it.
        """
        with self._lock:
            future = self._futures.get(key)
        if future is None:
            return None
        value = future.result()
        with self._lock:
            self._futures.pop(key, None)
        return value

    def abandon(self) -> list[R]:
        """Cancel the jobs not started, wait for the running ones; the results not taken."""
        with self._lock:
            pool, self._pool = self._pool, None
            futures, self._futures = list(self._futures.values()), {}
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        return [f.result() for f in futures if not f.cancelled() and f.exception() is None]
