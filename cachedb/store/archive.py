"""Where archives are registered: move an unpacked wheel into ``archive-v0/`` and record it.

Order matters for crash safety (DESIGN invariant 1): the tree is complete and
verified in ``tmp/`` before the rename, and the row is written only after the
rename, so a registered row never names a partial tree.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from pathlib import Path

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from ..db import events
from ..db.models import Archive, ArchiveFile
from .layout import Layout
from .unpack import UnpackedWheel


def discard(path: Path, layout: Layout) -> None:
    """Remove a directory by first renaming it into ``tmp/`` so no reader sees it half-deleted."""
    if not os.path.lexists(path):
        return
    trash = layout.tmp / f"trash-{path.name[:16]}-{secrets.token_hex(4)}"
    try:
        os.rename(path, trash)
    except OSError:
        trash = path
    shutil.rmtree(trash, ignore_errors=True)


def move_into_bucket(unpacked: UnpackedWheel, layout: Layout) -> Path:
    """Rename the staging tree to ``archive-v0/<id>``, replacing an unregistered leftover there.

    The caller holds the archive's lock and has checked that no live row exists,
    so whatever sits at the target is a crash leftover or a half-collected tree.
    """
    target = layout.archive_dir(unpacked.archive_id)
    discard(target, layout)
    os.rename(unpacked.directory, target)
    return target


def live_archive(session: Session, archive_id: str) -> Archive | None:
    row = session.get(Archive, archive_id)
    if row is None or row.deleted_at is not None:
        return None
    return row


def register(session: Session, unpacked: UnpackedWheel, layout: Layout) -> None:
    """Insert (or revive a collected) archive row with its file rows and an event."""
    now = time.time()
    existing = session.get(Archive, unpacked.archive_id)
    if existing is not None:
        # gc marked it deleted but the row is still here: the tree was just re-created.
        session.execute(delete(ArchiveFile).where(ArchiveFile.archive_id == existing.id))
        existing.deleted_at = None
        existing.created_at = now
        existing.last_used_at = now
        kind = "archive.revive"
    else:
        session.add(
            Archive(
                id=unpacked.archive_id,
                relpath=layout.archive_relpath(unpacked.archive_id),
                filename=unpacked.filename,
                name=unpacked.name,
                version=unpacked.version,
                tags=unpacked.tags,
                unpacked_size=unpacked.unpacked_size,
                file_count=len(unpacked.files),
                wheel_size=unpacked.wheel_size,
                created_at=now,
                last_used_at=now,
            )
        )
        session.flush()
        kind = "archive.insert"
    if unpacked.files:
        session.execute(
            insert(ArchiveFile),
            [
                {
                    "archive_id": unpacked.archive_id,
                    "path": f.path,
                    "sha256": f.sha256,
                    "size": f.size,
                    "executable": f.executable,
                }
                for f in unpacked.files
            ],
        )
    events.record(session, kind, unpacked.filename, new_archive=unpacked.archive_id)


def archive_ids_named(session: Session, name: str) -> list[str]:
    return list(session.scalars(select(Archive.id).where(Archive.name == name)))
