"""Running one step over many distributions in two processes: this one and a fork.

Linking is system calls of a few microseconds each (mkdir, link); two threads
hand the GIL back and forth around every one of them and gain little, while a
forked child links its half with no lock to share. The child only touches the
filesystem: it never uses the parent's database connection, locks or
terminal, and it leaves with ``os._exit`` so no inherited state is flushed or
closed on the parent's behalf.
"""

from __future__ import annotations

import os
import struct
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from .._fdio import write_all
from ..errors import InstallError
from ..store.heartbeat import THREAD_NAME as HEARTBEAT_THREAD

# The queue of item indices is written before anyone reads it, so it must fit in a
# pipe buffer: 4 KiB (4 bytes an item) fits every platform's.
_MAX_ITEMS = 1024

# What a child that finished its share sends; a failure sends its exception, pickled (a
# pickle starts with its protocol byte, never with this). Only failures need pickle: a
# warm install does not import it (about 6M instructions).
_DONE = b"done"

T = TypeVar("T")


def can_fork() -> bool:
    # Forking a process with other threads alive can copy a lock in its held state. The
    # lease heartbeat holds none that a child takes (its own connection, its own event).
    if not hasattr(os, "fork"):
        return False
    others = [t for t in threading.enumerate() if t is not threading.current_thread()]
    return all(t.name == HEARTBEAT_THREAD for t in others)


def _claim(fd: int) -> int | None:
    """The next item index from the shared queue, or None when it is empty."""
    # Reads of 4 bytes from a pipe are atomic, so each index goes to exactly one process.
    data = os.read(fd, 4)
    return struct.unpack("<I", data)[0] if len(data) == 4 else None


def _work(fn: Callable[[T], object], items: Sequence[T], queue: int) -> None:
    while (i := _claim(queue)) is not None:
        fn(items[i])


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def _child(fn: Callable[[T], object], items: Sequence[T], queue: int, fd: int) -> None:
    try:
        _work(fn, items, queue)
        payload = _DONE
    except BaseException as exc:  # noqa: BLE001 - every failure is reported to the parent
        import pickle

        try:
            payload = pickle.dumps(exc)
        except Exception:  # noqa: BLE001 - an exception that cannot be pickled
            payload = pickle.dumps(InstallError(str(exc) or type(exc).__name__))
    try:
        write_all(fd, payload)
    finally:
        os._exit(0)


def on_two_processes(
    fn: Callable[[T], object],
    items: Sequence[T],
    weights: Sequence[int] | None = None,
    name: str = "",
) -> None:
    """``fn(item)`` for every item, shared between this process and a forked child.

    Both take the next item from a queue (heaviest first, by ``weights``), so
    neither waits long for the other. ``fn`` must only change the filesystem
    (what it returns is dropped: the child's results never come back), and its
    exceptions must be picklable. Each process stops at its own first exception;
    the parent's, else the child's, is raised once both have stopped, so nothing
    is still being written when the caller sees it. Where forking is unsafe
    (other threads, no fork), two threads (``name``) do it.
    """
    if len(items) < 2 or len(items) > _MAX_ITEMS or not can_fork():
        from .._threads import on_two_threads

        on_two_threads(fn, items, name, weights)
        return
    order = range(len(items))
    if weights is not None:
        order = sorted(order, key=lambda i: -weights[i])  # type: ignore[assignment]
    queue, feed = os.pipe()
    write_all(feed, b"".join(struct.pack("<I", i) for i in order))
    os.close(feed)
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, which never returns
        os.close(read_fd)
        _child(fn, items, queue, write_fd)
    os.close(write_fd)
    error: BaseException | None = None
    try:
        _work(fn, items, queue)
    except BaseException as exc:
        error = exc
    try:
        payload = _read_all(read_fd)
    finally:
        os.close(read_fd)
        os.close(queue)
        os.waitpid(pid, 0)
    child_error: BaseException | None = None
    if not payload:
        child_error = InstallError("the linking process died")
    elif payload != _DONE:
        import pickle

        child_error = pickle.loads(payload)
    if error is not None:
        raise error
    if child_error is not None:
        raise child_error
