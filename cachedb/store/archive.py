"""Where archives are registered: move an unpacked wheel into ``archive-v0/`` and record it.

Order matters for crash safety (docs/guarantees.md, "Crashes"): the tree is complete and
verified in ``tmp/`` before the rename, and the row is written only after the
rename, so a registered row never names a partial tree. The rows are written in
plain SQL (``db.lite``), so storing imports neither SQLAlchemy nor Alembic.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._flock import exclusive
from ..db.dialect import db_now, for_share, for_update, lock_names
from ..db.lite import Executor, insert_rows
from .layout import Layout
from .unpack import UnpackedWheel

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

# Ids per ``IN (...)``: far below SQLite's and PostgreSQL's limits on parameters.
_CHUNK = 500


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


@contextlib.contextmanager
def locked(
    layout: Layout,
    archive_ids: Iterable[str],
    file_lock: Callable[[str], AbstractContextManager[object]],
) -> Iterator[None]:
    """Hold the per-archive locks of ``archive_ids``, taken in sorted order.

    Sorted, so two processes holding overlapping sets cannot deadlock (everyone
    else holds one at a time). Each is the ``flock`` that ``file_lock(id)``
    (``Cache.archive_lock``, a FileLock) takes on the same file, taken directly:
    FileLock's bookkeeping costs about 0.1 ms a lock, the flock a few µs. Where
    that fails (no ``fcntl``, a file system without flock), FileLock itself.
    """
    with contextlib.ExitStack() as stack:
        for archive_id in sorted(set(archive_ids)):
            stack.enter_context(
                exclusive(layout.archive_lock(archive_id), partial(file_lock, archive_id))
            )
        yield


def live_archives(
    run: Executor, archive_ids: Sequence[str], *, lock: bool = False
) -> dict[str, str]:
    """The relpath of each of ``archive_ids`` that has a row gc has not marked deleted.

    With ``lock``, the rows stay live until the caller's transaction ends (it is
    about to point at them or lease them).
    """
    out: dict[str, str] = {}
    suffix = for_share(run) if lock else ""
    for start in range(0, len(archive_ids), _CHUNK):
        chunk = archive_ids[start : start + _CHUNK]
        marks, params = _in(chunk)
        for archive_id, relpath in run(
            f"SELECT id, relpath FROM archives WHERE id IN ({marks}) AND deleted_at IS NULL"
            + suffix,
            params,
        ):
            out[str(archive_id)] = str(relpath)
    return out


def _in(values: Sequence[str]) -> tuple[str, dict[str, Any]]:
    params = {f"i{n}": v for n, v in enumerate(values)}
    return ", ".join(f":{name}" for name in params), params


_ARCHIVE_COLUMNS = (
    "id",
    "relpath",
    "filename",
    "name",
    "version",
    "tags",
    "unpacked_size",
    "file_count",
    "wheel_size",
    "created_at",
    "last_used_at",
)
_FILE_COLUMNS = ("archive_id", "path", "sha256", "size", "executable")


def register(run: Executor, trees: Sequence[UnpackedWheel], layout: Layout) -> dict[str, str]:
    """Record the trees just renamed to ``archive-v0/<id>``; returns each id's event kind.

    Inserts an archive row and its file rows, or revives a row gc marked
    deleted, or (a live row whose tree had vanished) notes that it was restored.
    The caller records the events, so they can go in the order it stores entries.
    """
    now = db_now(run)  # gc on any host compares created and last-used times with its own
    found: dict[str, float | None] = {}
    ids = [t.archive_id for t in trees]
    # Rows that may not exist yet: no two transactions insert one (or revive one gc purges).
    lock_names(run, [f"archive:{i}" for i in ids])
    for start in range(0, len(ids), _CHUNK):
        marks, params = _in(ids[start : start + _CHUNK])
        for archive_id, deleted_at in run(
            f"SELECT id, deleted_at FROM archives WHERE id IN ({marks})" + for_update(run), params
        ):
            found[str(archive_id)] = deleted_at
    kinds: dict[str, str] = {}
    described: list[UnpackedWheel] = []  # trees whose file rows are written here
    inserted = []
    for tree in trees:
        archive_id = tree.archive_id
        if archive_id not in found:
            inserted.append(
                (
                    archive_id,
                    layout.archive_relpath(archive_id),
                    tree.filename,
                    tree.name,
                    tree.version,
                    tree.tags,
                    tree.unpacked_size,
                    len(tree.files),
                    tree.wheel_size,
                    now,
                    now,
                )
            )
            kinds[archive_id] = "archive.insert"
            described.append(tree)
        elif found[archive_id] is None:
            # Same id, same wheel: the row and its file rows already describe this tree
            # (a relpath someone edited, which made it a miss, is set right).
            run(
                "UPDATE archives SET relpath = :r WHERE id = :id AND relpath != :r",
                {"r": layout.archive_relpath(archive_id), "id": archive_id},
            )
            kinds[archive_id] = "archive.restore"
        else:
            # gc marked it deleted but the row is still here: the tree was just re-created.
            run("DELETE FROM archive_files WHERE archive_id = :id", {"id": archive_id})
            run(
                "UPDATE archives SET deleted_at = NULL, created_at = :now, last_used_at = :now,"
                " relpath = :r WHERE id = :id",
                {"now": now, "id": archive_id, "r": layout.archive_relpath(archive_id)},
            )
            kinds[archive_id] = "archive.revive"
            described.append(tree)
    insert_rows(run, "archives", _ARCHIVE_COLUMNS, inserted)
    insert_rows(
        run,
        "archive_files",
        _FILE_COLUMNS,
        [
            (t.archive_id, f.path, f.sha256, f.size, f.executable)
            for t in described
            for f in t.files
        ],
    )
    return kinds


def archive_ids_named(run: Executor, name: str) -> list[str]:
    return [str(r[0]) for r in run("SELECT id FROM archives WHERE name = :n", {"n": name})]
