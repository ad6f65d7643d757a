"""What the user sees: progress on a TTY, a closing summary, warnings; nothing when quiet."""

from __future__ import annotations

import sys

from .._color import console, paint

TYPE_CHECKING = False  # typing's, without importing typing (about 12M instructions)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path
    from typing import Any, TextIO

    from ..resolve import Pin
    from ..store import InstallRecord


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


def tell_dry_run(
    reporter: Reporter,
    todo: list[Pin],
    installed: Mapping[str, tuple[str, Path]],
    extraneous: list[str],
) -> None:
    """What an install would change, had it not been a dry run."""
    if not todo and not extraneous:
        reporter.info("Would make no changes")
    if extraneous:
        reporter.info(f"Would uninstall {count(len(extraneous))}")
    if todo:
        reporter.info(f"Would install {count(len(todo))}")
    lines = [(name, f" - {name}=={installed[name][0]}") for name in extraneous]
    for pin in todo:
        if pin.name in installed:
            lines.append((pin.name, f" - {pin.name}=={installed[pin.name][0]}"))
        lines.append((pin.name + "\0", f" + {pin.name}=={pin.version}"))
    for _, line in sorted(lines):
        reporter.info(line)
    reporter.info("Dry run: nothing was changed")


def tell_changes(
    reporter: Reporter,
    records: list[InstallRecord],
    removed: list[tuple[str, str]],
    extraneous: list[str],
    seconds: float,
) -> None:
    """The closing summary of an install: counts, then each removal and addition by name."""
    if extraneous:
        reporter.info(f"Uninstalled {count(len(extraneous))}")
    reporter.info(f"Installed {count(len(records))} in {duration(seconds)}")
    old_versions = dict(removed)
    for name in extraneous:
        reporter.change("-", f"{name}=={old_versions[name]}")
    for rec in sorted(records, key=lambda r: r.name):
        if rec.name in old_versions:
            reporter.change("-", f"{rec.name}=={old_versions[rec.name]}")
        reporter.change("+", f"{rec.name}=={rec.version}")
