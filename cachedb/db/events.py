"""The append-only event log: every change to the cache leaves one row."""

from __future__ import annotations

import os
import sys
import time

from sqlalchemy.orm import Session

from .models import Event

_COMMAND = " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))


def set_command(command: str) -> None:
    """Name the command recorded in event rows (the CLI sets the user's command line)."""
    global _COMMAND
    _COMMAND = command


def record(
    session: Session,
    kind: str,
    subject: str,
    *,
    old_archive: str | None = None,
    new_archive: str | None = None,
    detail: str | None = None,
    at: float | None = None,
) -> None:
    session.add(
        Event(
            at=time.time() if at is None else at,
            kind=kind,
            subject=subject,
            old_archive=old_archive,
            new_archive=new_archive,
            pid=os.getpid(),
            command=_COMMAND,
            detail=detail,
        )
    )
