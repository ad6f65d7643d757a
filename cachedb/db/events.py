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


# (kind, subject, old archive, new archive, detail): one event of ``record_many``.
Event = tuple[str, str, str | None, str | None, str | None]
_COLUMNS = ("at", "kind", "subject", "old_archive", "new_archive", "pid", "command", "detail")


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
    record_many(run, [(kind, subject, old_archive, new_archive, detail)], at=at)


def record_many(run: Executor, events: list[Event], *, at: float | None = None) -> None:
    """Append ``events``, in order, inside the caller's transaction: one batch, not a
    statement each (a warm install of 46 wheels logs 47 events)."""
    if not events:
        return
    from .lite import insert_rows  # sqlite3: not for the commands that log nothing

    when = time.time() if at is None else at
    pid = os.getpid()
    rows = [(when, kind, subject, old, new, pid, _COMMAND, detail)
            for kind, subject, old, new, detail in events]  # fmt: skip
    insert_rows(run, "events", _COLUMNS, rows)
