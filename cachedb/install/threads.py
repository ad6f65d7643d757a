"""Running one step of an install over many distributions, two at a time."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def on_two_threads(fn: Callable[[T], R], items: Sequence[T], name: str) -> list[R]:
    """``[fn(item) for item in items]``, two items at a time; results in ``items`` order.

    Two, measured: unpacking and linking release the GIL only in short system calls
    and zlib, so more threads than cores only hand the GIL around.
    """
    if len(items) < 2:
        return [fn(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix=f"cachedb-{name}") as pool:
        futures = [pool.submit(fn, item) for item in items]
        return [f.result() for f in futures]
