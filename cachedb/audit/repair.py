"""``cachedb verify --repair``: each problem ``verify.find_problems`` reports, fixed.

The database is the truth, so repairs move the disk towards the rows, except
where the disk proves a row wrong: an archive whose directory vanished or whose
files were altered stops being live (its pointers are dropped, so the next
install fetches it again). Nothing is deleted outright: altered archives and
unknown directories are moved to ``<cache>/quarantine/`` for a person to
inspect. Every repair records a ``verify.repair.*`` event.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from ..db.dialect import for_update
from ..db.events import record_sql
from ..db.lite import Executor
from ..store import Cache
from ..store import pointers as links
from ..store.layout import QUARANTINE_DIR, is_archive_id
from .problems import (
    ARCHIVE_BAD_ID,
    ARCHIVE_BAD_RELPATH,
    ARCHIVE_MISSING,
    ARCHIVE_TAMPERED,
    ARCHIVE_UNKNOWN,
    LINK_WITHOUT_ROW,
    POINTER_BAD_KEY,
    POINTER_DEAD_ARCHIVE,
    POINTER_NO_LINK,
    POINTER_WRONG_TARGET,
    Holder,
    PointerRow,
    Problem,
)


def _quarantine(cache: Cache, path: Path, name: str) -> Path:
    """Move ``path`` to ``<cache>/quarantine/<name>-<timestamp>`` (same filesystem: a rename)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = cache.root / QUARANTINE_DIR / f"{name}-{stamp}-{secrets.token_hex(2)}"
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(path, target)
    return target


def _remove_entry(cache: Cache, path: Path, name: str) -> str:
    """Remove a pointer-bucket entry; a real directory there is quarantined, not deleted."""
    if path.is_dir() and not path.is_symlink():
        moved = _quarantine(cache, path, name)
        return f"moved to {moved.relative_to(cache.root).as_posix()}"
    links.remove_pointer(path)
    return "removed"


def _retire_archive(
    cache: Cache, archive_id: str, kind: str, detail: str, holders: list[Holder] | None = None
) -> list[PointerRow]:
    """Mark an archive deleted and drop its pointer rows (one transaction); return the rows.

    With ``holders``, the installs that share the archive's files (hardlink, symlink) in
    living environments are marked removed in the same transaction, and listed there:
    those environments no longer hold the clean copy the rows claimed.
    """

    def _write(run: Executor) -> list[PointerRow]:
        run("SELECT id FROM archives WHERE id = :a" + for_update(run), {"a": archive_id})
        run(
            "UPDATE archives SET deleted_at = :now WHERE id = :a AND deleted_at IS NULL",
            {"now": time.time(), "a": archive_id},
        )
        dropped = [
            PointerRow(bucket, key, aid, kind)
            for bucket, key, aid, kind in run(
                "SELECT bucket, key, archive_id, kind FROM pointers WHERE archive_id = :a"
                + for_update(run),
                {"a": archive_id},
            )
        ]
        run("DELETE FROM pointers WHERE archive_id = :a", {"a": archive_id})
        record_sql(run, kind, archive_id, old_archive=archive_id, detail=detail)
        if holders is not None:
            holders[:] = _unclaim_shared_installs(run, archive_id)
        return dropped

    return cache.write_sql(_write)


_SHARING_MODES = ("hardlink", "symlink")


def _unclaim_shared_installs(run: Executor, archive_id: str) -> list[Holder]:
    now = time.time()
    out = []
    found = run(
        "SELECT i.id, e.path, e.python, i.name, i.version, i.link_mode, h.machine_id"
        " FROM installs i JOIN environments e ON e.id = i.environment_id"
        " LEFT JOIN hosts h ON h.id = e.host_id"
        " WHERE i.archive_id = :a AND i.removed_at IS NULL AND e.stale_at IS NULL"
        " AND i.link_mode IN (:m0, :m1) ORDER BY e.path, i.id",
        {"a": archive_id, "m0": _SHARING_MODES[0], "m1": _SHARING_MODES[1]},
    )
    for install_id, path, python, name, version, mode, host in found:
        run("UPDATE installs SET removed_at = :now WHERE id = :id", {"now": now, "id": install_id})
        record_sql(
            run,
            "verify.repair.install-tampered",
            f"{path}:{name}",
            old_archive=archive_id,
            detail=f"{mode}: shared the altered files",
        )
        out.append(Holder(path, python, name, version, mode, host))
    return out


def _unlink_pointers(cache: Cache, rows: list[PointerRow]) -> None:
    for row in rows:
        link = cache.layout.pointer_path(row.bucket, row.key)
        if not (link.is_dir() and not link.is_symlink()):
            links.remove_pointer(link)


def _log(cache: Cache, kind: str, subject: str, detail: str) -> None:
    cache.write_sql(lambda run: record_sql(run, kind, subject, detail=detail))


def _repair_missing(cache: Cache, problem: Problem, archive_id: str) -> str:
    with cache.archive_lock(archive_id):
        if cache.archive_path(archive_id).is_dir():
            return "directory reappeared; nothing to do"
        rows = _retire_archive(cache, archive_id, "verify.repair.archive-missing", problem.message)
    _unlink_pointers(cache, rows)
    return f"marked deleted, dropped {len(rows)} pointer(s)"


def _repair_tampered(cache: Cache, problem: Problem, archive_id: str) -> str:
    with cache.archive_lock(archive_id):
        # Row first: a crash after it leaves a dead directory for gc, never a live bad row.
        rows = _retire_archive(
            cache, archive_id, "verify.repair.quarantine", problem.message, problem.holders
        )
        moved = _quarantine(cache, cache.archive_path(archive_id), archive_id)
    _unlink_pointers(cache, rows)
    where = moved.relative_to(cache.root).as_posix()
    return f"moved to {where}, marked deleted, dropped {len(rows)} pointer(s)"


def _repair_unknown(cache: Cache, problem: Problem, name: str) -> str:
    if not is_archive_id(name):
        # No store ever writes a name that is not an archive id: no lock to take.
        moved = _quarantine(cache, cache.layout.archives / name, name)
        where = moved.relative_to(cache.root).as_posix()
        _log(cache, "verify.repair.unknown-archive", problem.subject, f"moved to {where}")
        return f"moved to {where}"
    with cache.archive_lock(name):
        live = bool(
            cache.read_sql(
                lambda run: run(
                    "SELECT id FROM archives WHERE id = :a AND deleted_at IS NULL", {"a": name}
                )
            )
        )
        if live:
            return "registered meanwhile; nothing to do"
        moved = _quarantine(cache, cache.layout.archives / name, name)
    where = moved.relative_to(cache.root).as_posix()
    _log(cache, "verify.repair.unknown-archive", problem.subject, f"moved to {where}")
    return f"moved to {where}"


def _repair_link(cache: Cache, problem: Problem, _archive_id: str) -> str:
    bucket, key = problem.subject.split("/", 1)
    found = cache.read_sql(
        lambda run: run(
            "SELECT archive_id, kind FROM pointers WHERE bucket = :b AND key = :k",
            {"b": bucket, "k": key},
        )
    )
    current = (str(found[0][0]), str(found[0][1])) if found else None
    if current is None:
        return "row was dropped meanwhile; nothing to do"
    link = cache.layout.pointer_path(bucket, key)
    if link.is_dir() and not link.is_symlink():
        _quarantine(cache, link, link.name)
    links.write_pointer(link, cache.archive_path(current[0]), current[1])
    _log(cache, "verify.repair.relink", problem.subject, f"now points at {current[0]}")
    return f"re-linked to archive {current[0]}"


def _repair_dead_pointer(cache: Cache, problem: Problem, archive_id: str) -> str:
    bucket, key = problem.subject.split("/", 1)

    def _drop(run: Executor) -> None:
        found = run(
            "SELECT id, archive_id FROM pointers WHERE bucket = :b AND key = :k" + for_update(run),
            {"b": bucket, "k": key},
        )
        if found and found[0][1] == archive_id:
            run("DELETE FROM pointers WHERE id = :id", {"id": found[0][0]})
            record_sql(
                run,
                "verify.repair.pointer-dropped",
                problem.subject,
                old_archive=archive_id,
                detail=problem.message,
            )

    cache.write_sql(_drop)
    _unlink_pointers(cache, [PointerRow(bucket, key, archive_id, "")])
    return "dropped the pointer row and its link"


def _repair_bad_id(cache: Cache, problem: Problem, archive_id: str) -> str:
    """Forget every row naming an archive id that is no id: in the database only."""

    def _drop(run: Executor) -> int:
        dropped = 0
        for table in ("pointers", "archive_files", "installs", "leases"):
            ((count,),) = run(
                f"SELECT count(*) FROM {table} WHERE archive_id = :a", {"a": archive_id}
            )
            run(f"DELETE FROM {table} WHERE archive_id = :a", {"a": archive_id})
            dropped += int(count)
        run("DELETE FROM archives WHERE id = :a", {"a": archive_id})
        record_sql(run, "verify.repair.bad-archive-id", archive_id, detail=problem.message)
        return dropped

    return f"dropped the row and {cache.write_sql(_drop)} row(s) naming it; nothing on disk"


def _repair_bad_relpath(cache: Cache, problem: Problem, archive_id: str) -> str:
    right = cache.layout.archive_relpath(archive_id)

    def _fix(run: Executor) -> None:
        run("UPDATE archives SET relpath = :r WHERE id = :a", {"r": right, "a": archive_id})
        record_sql(
            run, "verify.repair.relpath", archive_id, old_archive=archive_id,
            detail=problem.message,
        )  # fmt: skip

    cache.write_sql(_fix)
    return f"relpath set to {right}"


def _repair_bad_key(cache: Cache, problem: Problem, pointer_id: str) -> str:
    def _drop(run: Executor) -> None:
        run("DELETE FROM pointers WHERE id = :id", {"id": int(pointer_id)})
        record_sql(run, "verify.repair.pointer-dropped", problem.subject, detail=problem.message)

    cache.write_sql(_drop)
    return "dropped the pointer row; nothing on disk"


def _repair_stray_link(cache: Cache, problem: Problem, _archive_id: str) -> str:
    path = cache.root / problem.subject
    done = _remove_entry(cache, path, path.name)
    _log(cache, "verify.repair.link-removed", problem.subject, done)
    return done


_REPAIRS = {
    ARCHIVE_MISSING: _repair_missing,
    ARCHIVE_TAMPERED: _repair_tampered,
    ARCHIVE_UNKNOWN: _repair_unknown,
    POINTER_NO_LINK: _repair_link,
    POINTER_WRONG_TARGET: _repair_link,
    POINTER_DEAD_ARCHIVE: _repair_dead_pointer,
    LINK_WITHOUT_ROW: _repair_stray_link,
    ARCHIVE_BAD_ID: _repair_bad_id,
    ARCHIVE_BAD_RELPATH: _repair_bad_relpath,
    POINTER_BAD_KEY: _repair_bad_key,
}


def repair(cache: Cache, problem: Problem) -> None:
    """Fix one problem, recording a ``verify.repair.*`` event; sets ``problem.repaired``."""
    problem.repaired = _REPAIRS[problem.kind](cache, problem, problem.archive_id or "")
