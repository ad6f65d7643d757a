"""What the user sees: progress on a TTY, a closing summary, warnings; nothing when quiet."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from .._color import console, paint


class Reporter:
    """Writes to stderr like uv: short status lines, rich progress only on a terminal."""

    def __init__(self, verbosity: int = 0, stream: TextIO | None = None) -> None:
        self.verbosity = verbosity
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty() and verbosity >= 0
        self._progress: Any = None
        self._task: Any = None

    def info(self, message: str) -> None:
        if self.verbosity >= 0:
            self.stream.write(message + "\n")

    def detail(self, message: str) -> None:
        if self.verbosity > 0:
            self.stream.write(message + "\n")

    def warn(self, message: str) -> None:
        if self.verbosity >= -1:
            self.stream.write(f"{paint('warning:', 'warning', self.stream)} {message}\n")

    def change(self, sign: str, what: str) -> None:
        """One line of the closing summary: `` + name==version`` or `` - name==version``."""
        if self.verbosity >= 0:
            text = paint(f"{sign} {what}", "added" if sign == "+" else "removed", self.stream)
            self.stream.write(f" {text}\n")

    def start(self, description: str, total: int) -> None:
        if not self.interactive or total == 0:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.stop()
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console(self.stream),
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task(description, total=total)

    def advance(self, name: str, amount: int = 1) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=amount, description=name)

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def count(n: int) -> str:
    """``1 package``, ``2 packages``: how summaries count."""
    return f"{n} package{'s' if n != 1 else ''}"


def duration(seconds: float) -> str:
    """``250ms`` or ``1.25s``, as uv prints them."""
    return f"{seconds * 1000:.0f}ms" if seconds < 1 else f"{seconds:.2f}s"
