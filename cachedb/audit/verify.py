"""``cachedb verify``: the database against the disk, in both directions, with optional repair.

The database is the truth, so repairs move the disk towards the
rows, except where the disk proves a row wrong: an archive whose directory
vanished or whose files were altered stops being live (its pointers are
dropped, so the next install fetches it again). Nothing is deleted outright:
altered archives and unknown directories are moved to ``<cache>/quarantine/``
for a person to inspect. Unknown directories younger than ``GRACE_SECONDS``
are ignored, because ``put`` renames a tree into ``archive-v0/`` just before
registering it.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..db.dialect import for_update
from ..db.events import record_sql
from ..db.lite import Executor
from ..store import Cache
from ..store import pointers as links
from ..store.layout import POINTER_BUCKETS, QUARANTINE_DIR, is_archive_id, is_pointer

GRACE_SECONDS = 3600.0

ARCHIVE_MISSING = "archive-missing"
ARCHIVE_TAMPERED = "archive-tampered"
ARCHIVE_UNKNOWN = "archive-unknown"
ARCHIVE_BAD_ID = "archive-bad-id"
ARCHIVE_BAD_RELPATH = "archive-bad-relpath"
POINTER_BAD_KEY = "pointer-bad-key"
POINTER_NO_LINK = "pointer-missing-link"
POINTER_WRONG_TARGET = "pointer-wrong-target"
POINTER_DEAD_ARCHIVE = "pointer-dead-archive"
LINK_WITHOUT_ROW = "link-without-row"


@dataclass(frozen=True)
class Holder:
    """An environment that held a tampered archive by hardlink or symlink: it shared the
    altered files, so it must be linked again to a clean copy."""

    path: str  # the environment's prefix
    python: str
    name: str
    version: str
    link_mode: str


@dataclass
class Problem:
    kind: str
    subject: str  # an archive id, "<bucket>/<key>", or a path relative to the cache
    message: str
    repaired: str | None = None
    # What the repair needs; not part of the report.
    archive_id: str | None = field(default=None, repr=False)
    # archive-tampered, once repaired: each environment that shared its files, with
    # whether it was linked again to a clean copy (``relinked``) or why not (``error``).
    environments: list[dict[str, Any]] = field(default_factory=list)
    holders: list[Holder] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["archive_id"], out["holders"]
        if not self.environments:
            del out["environments"]
        return out

    def line(self) -> str:
        return f"{self.kind}: {self.subject}: {self.message}"


@dataclass(frozen=True)
class _PointerRow:
    bucket: str
    key: str
    archive_id: str
    kind: str


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _files_on_disk(root: Path) -> Iterator[str]:
    for dirpath, dirnames, filenames in os.walk(root):
        rel = Path(dirpath).relative_to(root)
        # os.walk lists symlinks to directories as directories; an archive has none.
        for name in dirnames:
            if os.path.islink(os.path.join(dirpath, name)):
                yield (rel / name).as_posix()
        for name in filenames:
            yield (rel / name).as_posix()


@dataclass(frozen=True)
class _ArchiveRow:
    id: str
    relpath: str
    deleted_at: float | None


@dataclass(frozen=True)
class _PointerRowWithId:
    id: int
    bucket: str
    key: str
    archive_id: str
    kind: str


@dataclass(frozen=True)
class _FileRow:
    size: int
    sha256: str


def check_contents(cache: Cache, archive_id: str) -> str | None:
    """Why the files of ``archive_id`` disagree with its ``archive_files`` rows, or None."""
    recorded = {
        str(path): _FileRow(int(size), str(sha256))
        for path, size, sha256 in cache.read_sql(
            lambda run: run(
                "SELECT path, size, sha256 FROM archive_files WHERE archive_id = :a",
                {"a": archive_id},
            )
        )
    }
    root = cache.archive_path(archive_id)
    seen = set()
    for rel in sorted(_files_on_disk(root)):
        seen.add(rel)
        row = recorded.get(rel)
        path = root / rel
        if row is None:
            return f"{rel} is not one of the archive's recorded files"
        if path.is_symlink() or not path.is_file():
            return f"{rel} is no longer a regular file"
        if path.stat().st_size != row.size:
            return f"{rel} has size {path.stat().st_size}, recorded {row.size}"
        if _sha256(path) != row.sha256:
            return f"{rel} has a different sha256 than recorded"
    missing = sorted(set(recorded) - seen)
    if missing:
        return f"{missing[0]} is missing"
    return None


def _pointer_entries(cache: Cache) -> Iterator[tuple[str, str, Path]]:
    """Every entry of the pointer buckets at key depth (and stray files above it)."""
    for bucket in POINTER_BUCKETS:
        base = cache.root / bucket
        yield from _walk_bucket(bucket, base, base, 1)


def _walk_bucket(
    bucket: str, base: Path, directory: Path, depth: int
) -> Iterator[tuple[str, str, Path]]:
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    for entry in entries:
        if ".tmp-" in entry.name and entry.name.startswith("."):
            continue  # a pointer being written right now
        path = Path(entry.path)
        if depth < 3 and entry.is_dir(follow_symlinks=False):
            yield from _walk_bucket(bucket, base, path, depth + 1)
        else:
            yield bucket, path.relative_to(base).as_posix(), path


def find_problems(
    cache: Cache, *, contents: bool = False, now: float | None = None
) -> list[Problem]:
    now = time.time() if now is None else now
    layout = cache.layout
    problems: list[Problem] = []
    archive_rows, pointer_rows = cache.read_sql(
        lambda run: (
            [_ArchiveRow(*r) for r in run("SELECT id, relpath, deleted_at FROM archives")],
            [
                _PointerRowWithId(*r)
                for r in run("SELECT id, bucket, key, archive_id, kind FROM pointers")
            ],
        )
    )
    archives: dict[str, float | None] = {}
    for a in archive_rows:
        # Ids and relpaths are paths once used: a tampered row is reported, never followed.
        if not is_archive_id(a.id):
            problems.append(
                Problem(
                    ARCHIVE_BAD_ID,
                    a.id,
                    "not 64 lowercase hex digits; never used as a path",
                    archive_id=a.id,
                )
            )
            continue
        archives[a.id] = a.deleted_at
        if not layout.is_archive_relpath(a.id, a.relpath):
            problems.append(
                Problem(
                    ARCHIVE_BAD_RELPATH,
                    a.id,
                    f"relpath {a.relpath!r} is not {layout.archive_relpath(a.id)!r}",
                    archive_id=a.id,
                )
            )
    rows = []
    for p in pointer_rows:
        if not is_archive_id(p.archive_id):
            continue  # reported, and repaired, with its archive
        if not is_pointer(p.bucket, p.key):
            problems.append(
                Problem(
                    POINTER_BAD_KEY,
                    f"{p.bucket}/{p.key}",
                    "not '<bucket>/<source>/<name>/<wheel-stem>'; never used as a path",
                    archive_id=str(p.id),
                )
            )
            continue
        rows.append(_PointerRow(p.bucket, p.key, p.archive_id, p.kind))
    live = {aid for aid, deleted in archives.items() if deleted is None}
    missing: set[str] = set()
    for aid in sorted(live):
        if not cache.archive_path(aid).is_dir():
            missing.add(aid)
            problems.append(
                Problem(ARCHIVE_MISSING, aid, "archive directory is missing", archive_id=aid)
            )
    try:
        on_disk = sorted(os.scandir(layout.archives), key=lambda e: e.name)
    except FileNotFoundError:
        on_disk = []
    for entry in on_disk:
        if entry.name in live:
            continue
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except FileNotFoundError:
            continue
        if age >= GRACE_SECONDS:
            problems.append(
                Problem(
                    ARCHIVE_UNKNOWN,
                    f"{layout.archives.name}/{entry.name}",
                    "no live archive row knows this entry",
                    archive_id=entry.name,
                )
            )
    known: set[tuple[str, str]] = set()
    for row in rows:
        known.add((row.bucket, row.key))
        subject = f"{row.bucket}/{row.key}"
        if row.archive_id in missing:
            continue  # reported (and repaired) with its archive
        if row.archive_id not in live:
            problems.append(
                Problem(
                    POINTER_DEAD_ARCHIVE,
                    subject,
                    f"points at deleted archive {row.archive_id}",
                    archive_id=row.archive_id,
                )
            )
            continue
        link = layout.pointer_path(row.bucket, row.key)
        target = links.read_pointer(link, row.kind)
        if target is None and not os.path.lexists(link):
            problems.append(
                Problem(POINTER_NO_LINK, subject, "link is missing", archive_id=row.archive_id)
            )
        elif target != cache.archive_path(row.archive_id):
            shown = (
                "something unreadable" if target is None else os.path.relpath(target, cache.root)
            )
            problems.append(
                Problem(
                    POINTER_WRONG_TARGET,
                    subject,
                    f"link leads to {shown}, row says {row.archive_id}",
                    archive_id=row.archive_id,
                )
            )
    for bucket, key, _path in _pointer_entries(cache):
        if (bucket, key) not in known:
            problems.append(Problem(LINK_WITHOUT_ROW, f"{bucket}/{key}", "no pointer row"))
    if contents:
        for aid in sorted(live - missing):
            why = check_contents(cache, aid)
            if why is not None:
                problems.append(Problem(ARCHIVE_TAMPERED, aid, why, archive_id=aid))
    return problems


# -- repair -------------------------------------------------------------------


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
) -> list[_PointerRow]:
    """Mark an archive deleted and drop its pointer rows (one transaction); return the rows.

    With ``holders``, the installs that share the archive's files (hardlink, symlink) in
    living environments are marked removed in the same transaction, and listed there:
    those environments no longer hold the clean copy the rows claimed.
    """

    def _write(run: Executor) -> list[_PointerRow]:
        run("SELECT id FROM archives WHERE id = :a" + for_update(run), {"a": archive_id})
        run(
            "UPDATE archives SET deleted_at = :now WHERE id = :a AND deleted_at IS NULL",
            {"now": time.time(), "a": archive_id},
        )
        dropped = [
            _PointerRow(bucket, key, aid, kind)
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
        "SELECT i.id, e.path, e.python, i.name, i.version, i.link_mode"
        " FROM installs i JOIN environments e ON e.id = i.environment_id"
        " WHERE i.archive_id = :a AND i.removed_at IS NULL AND e.stale_at IS NULL"
        " AND i.link_mode IN (:m0, :m1) ORDER BY e.path, i.id",
        {"a": archive_id, "m0": _SHARING_MODES[0], "m1": _SHARING_MODES[1]},
    )
    for install_id, path, python, name, version, mode in found:
        run("UPDATE installs SET removed_at = :now WHERE id = :id", {"now": now, "id": install_id})
        record_sql(
            run,
            "verify.repair.install-tampered",
            f"{path}:{name}",
            old_archive=archive_id,
            detail=f"{mode}: shared the altered files",
        )
        out.append(Holder(path, python, name, version, mode))
    return out


def _unlink_pointers(cache: Cache, rows: list[_PointerRow]) -> None:
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
    _unlink_pointers(cache, [_PointerRow(bucket, key, archive_id, "")])
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
