"""The append-only event log: every change to the cache leaves one row."""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False  # typing's, without importing typing (about 12M instructions)
if TYPE_CHECKING:
    from .lite import Executor

_COMMAND = " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))


def set_command(command: str) -> None:
    """Name the command recorded in event rows (the CLI sets the user's command line)."""
    global _COMMAND
    _COMMAND = command


def command() -> str:
    """The command line as recorded (credentials already redacted by the CLI)."""
    return _COMMAND


def record_sql(
    run: Executor,
    kind: str,
    subject: str,
    *,
    old_archive: str | None = None,
    new_archive: str | None = None,
    detail: str | None = None,
    at: float | None = None,
) -> None:
    """Append an event inside the caller's plain-SQL transaction (see ``db.lite``)."""
    run(
        "INSERT INTO events (at, kind, subject, old_archive, new_archive, pid, command, detail)"
        " VALUES (:at, :kind, :subject, :old, :new, :pid, :command, :detail)",
        {
            "at": time.time() if at is None else at,
            "kind": kind,
            "subject": subject,
            "old": old_archive,
            "new": new_archive,
            "pid": os.getpid(),
            "command": _COMMAND,
            "detail": detail,
        },
    )
