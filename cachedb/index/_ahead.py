"""Index pages read ahead: started before anyone asks, while the caller goes on.

A cold install knows the pages a pinned set needs before the target's interpreter
has answered; reading them then hides their round trips behind that wait. The
same pages are read as the caller would read them, each once: a failure is kept
and raised by the first call that asks for that page again, in place of the
request that call would have sent.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence


class PagesAhead:
    """At most one batch of pages being read on threads of their own."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._failures: dict[str, Exception] = {}

    def start(self, read: Callable[[str], object], names: Sequence[str], workers: int) -> None:
        """``read(name)`` for each of ``names``, ``workers`` at once, in the background."""
        if self._thread is not None:
            return

        def one(name: str) -> None:
            try:
                read(name)
            except Exception as exc:  # noqa: BLE001 - raised by the next who asks
                self._failures[name] = exc

        def run() -> None:
            from cachedb._threads import on_threads

            with contextlib.suppress(BaseException):  # each failure is kept by one()
                on_threads(one, names, workers, "page")

        self._thread = threading.Thread(target=run, name="cachedb-page", daemon=True)
        self._thread.start()

    def settle(self) -> None:
        """Wait until the pages are read (at once if none are being read)."""
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
            self._thread = None

    def failure(self, name: str) -> Exception | None:
        """The failure reading ``name``'s page met (once), after ``settle``."""
        return self._failures.pop(name, None)
