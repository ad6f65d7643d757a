"""``cachedb verify``: the database against the disk, in both directions.

This module finds the problems (``problems.py`` names their kinds; ``repair.py``
fixes them). Ids and relpaths read from rows become paths only once checked: a
tampered row is reported, never followed. Unknown directories younger than
``GRACE_SECONDS`` are ignored, because ``put`` renames a tree into
``archive-v0/`` just before registering it.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..store import Cache
from ..store import pointers as links
from ..store.layout import POINTER_BUCKETS, is_archive_id, is_pointer
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
    PointerRow,
    Problem,
)

GRACE_SECONDS = 3600.0


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
        rows.append(PointerRow(p.bucket, p.key, p.archive_id, p.kind))
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
