"""Where archives are registered: move an unpacked wheel into ``archive-v0/`` and record it.

Order matters for crash safety (DESIGN invariant 1): the tree is complete and
verified in ``tmp/`` before the rename, and the row is written only after the
rename, so a registered row never names a partial tree. The rows are written in
plain SQL (``db.lite``), so storing imports neither SQLAlchemy nor Alembic.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from pathlib import Path

from ..db.events import record_sql
from ..db.lite import Executor, insert_rows
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


def live_archive(run: Executor, archive_id: str) -> str | None:
    """The relpath of ``archive_id``'s row, unless there is none or gc marked it deleted."""
    rows = run(
        "SELECT relpath FROM archives WHERE id = :id AND deleted_at IS NULL", {"id": archive_id}
    )
    return str(rows[0][0]) if rows else None


_FILE_COLUMNS = ("archive_id", "path", "sha256", "size", "executable")


def register(run: Executor, unpacked: UnpackedWheel, layout: Layout) -> str:
    """Record the tree just renamed to ``archive-v0/<id>``; returns the event kind written.

    Inserts the archive row and its file rows, or revives a row gc marked
    deleted, or (a live row whose tree had vanished) notes that it was restored.
    """
    archive_id = unpacked.archive_id
    now = time.time()
    found = run("SELECT deleted_at FROM archives WHERE id = :id", {"id": archive_id})
    if found and found[0][0] is None:
        # Same id, same wheel: the row and its file rows already describe this tree.
        kind = "archive.restore"
    elif found:
        # gc marked it deleted but the row is still here: the tree was just re-created.
        run("DELETE FROM archive_files WHERE archive_id = :id", {"id": archive_id})
        run(
            "UPDATE archives SET deleted_at = NULL, created_at = :now, last_used_at = :now"
            " WHERE id = :id",
            {"now": now, "id": archive_id},
        )
        kind = "archive.revive"
    else:
        run(
            "INSERT INTO archives (id, relpath, filename, name, version, tags, unpacked_size,"
            " file_count, wheel_size, created_at, last_used_at)"
            " VALUES (:id, :relpath, :filename, :name, :version, :tags, :unpacked_size,"
            " :file_count, :wheel_size, :now, :now)",
            {
                "id": archive_id,
                "relpath": layout.archive_relpath(archive_id),
                "filename": unpacked.filename,
                "name": unpacked.name,
                "version": unpacked.version,
                "tags": unpacked.tags,
                "unpacked_size": unpacked.unpacked_size,
                "file_count": len(unpacked.files),
                "wheel_size": unpacked.wheel_size,
                "now": now,
            },
        )
        kind = "archive.insert"
    if kind != "archive.restore":
        insert_rows(
            run,
            "archive_files",
            _FILE_COLUMNS,
            [(archive_id, f.path, f.sha256, f.size, f.executable) for f in unpacked.files],
        )
    record_sql(run, kind, unpacked.filename, new_archive=archive_id)
    return kind


def archive_ids_named(run: Executor, name: str) -> list[str]:
    return [str(r[0]) for r in run("SELECT id FROM archives WHERE name = :n", {"n": name})]
