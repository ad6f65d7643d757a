"""The cache: one directory plus the database that describes it.

``put`` stores a wheel (insert archive, then swap the pointer); ``lookup`` turns
a pointer row into the canonical archive path, treating anything that does not
lead into ``archive-v0/`` as a miss.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .._config import resolve_cache_dir, resolve_db_url
from ..db import events
from ..db.engine import Database
from ..db.migrate import ensure_schema
from ..db.models import Archive, Pointer
from ..errors import CacheError, InvalidWheel, UsageError
from . import archive as archives
from . import environments, leases, pointers
from .environments import InstallRecord
from .layout import POINTER_BUCKETS, Layout
from .unpack import sha256_file, unpack_wheel


@dataclass(frozen=True)
class Entry:
    archive_id: str
    path: Path  # canonical absolute archive directory
    bucket: str
    key: str
    lease_id: int | None = None  # set when the caller asked to hold the archive


@dataclass(frozen=True)
class CachedWheel:
    bucket: str
    key: str
    archive_id: str
    filename: str
    name: str
    version: str
    tags: str
    path: Path


class Cache:
    """A cache directory and its metadata database."""

    def __init__(self, root: Path, db: Database, *, pointer_kind: str | None = None) -> None:
        self.root = root
        self.layout = Layout(root)
        self.db = db
        self._pointer_kind = pointer_kind

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pointer_kind(self) -> str:
        if self._pointer_kind is None:
            self._pointer_kind = pointers.default_kind(self.layout.tmp)
        return self._pointer_kind

    # -- paths -------------------------------------------------------------

    def archive_path(self, archive_id: str) -> Path:
        return self.layout.archive_dir(archive_id)

    def archive_lock(self, archive_id: str) -> object:
        """The per-archive file lock held while an archive directory is created or deleted."""
        from filelock import FileLock

        return FileLock(str(self.layout.archive_lock(archive_id)))

    def _canonical(self, relpath: str) -> Path | None:
        """The archive directory a row's relpath names, if it really is one inside archive-v0."""
        candidate = Path(os.path.normpath(self.root / relpath))
        if candidate.parent != self.layout.archives:
            return None
        try:
            real = candidate.resolve(strict=True)
        except OSError:
            return None
        if real.parent != self.layout.archives.resolve() or not real.is_dir():
            return None
        return candidate

    # -- storing -----------------------------------------------------------

    def put(
        self, bucket: str, key: str, wheel: Path, *, sha256: str | None = None, lease: bool = False
    ) -> Entry:
        """Store ``wheel`` as ``bucket``/``key``: insert its archive, then swap the pointer.

        With ``lease``, the archive is leased in the transaction that moves the
        pointer, so gc cannot collect it before the caller releases the lease.
        """
        _check_bucket(bucket)
        _check_key(key)
        archive_id = sha256 or sha256_file(wheel)
        for _attempt in range(5):
            self._ensure_archive(wheel, archive_id)
            lease_id = self._point(bucket, key, archive_id, lease)
            if not isinstance(lease_id, _Gone):
                return Entry(archive_id, self.archive_path(archive_id), bucket, key, lease_id)
        raise CacheError(f"{wheel.name} keeps being collected while it is stored; is gc looping?")

    replace = put

    def _ensure_archive(self, wheel: Path, archive_id: str) -> None:
        with self.db.read() as session:
            live = archives.live_archive(session, archive_id)
        if live is not None and self._canonical(live.relpath) is not None:
            return
        # Unpack outside the lock: two racing processes both unpack, the second discards.
        unpacked = unpack_wheel(wheel, self.layout.tmp, archive_id=archive_id)
        try:
            with self.archive_lock(archive_id):  # type: ignore[attr-defined]
                with self.db.read() as session:
                    live = archives.live_archive(session, archive_id)
                if live is not None and self._canonical(live.relpath) is not None:
                    return
                archives.move_into_bucket(unpacked, self.layout)

                def _register(session: Session) -> None:
                    row = session.get(Archive, archive_id)
                    if row is not None and row.deleted_at is None:
                        # A live row whose tree vanished: the tree was just restored.
                        events.record(session, "archive.restore", row.filename, new_archive=row.id)
                        return
                    archives.register(session, unpacked, self.layout)

                self.db.write(_register)
        finally:
            archives.discard(unpacked.directory, self.layout)

    def _point(self, bucket: str, key: str, archive_id: str, lease: bool) -> int | None | _Gone:
        kind = self.pointer_kind
        now = time.time()

        def _swap(session: Session) -> int | None | _Gone:
            archive = session.get(Archive, archive_id)
            if archive is None or archive.deleted_at is not None:
                return _GONE  # gc took it after we checked: store it again
            lease_id = leases.acquire(session, [archive_id])[0] if lease else None
            row = session.scalars(
                select(Pointer).where(Pointer.bucket == bucket, Pointer.key == key)
            ).first()
            if row is None:
                session.add(
                    Pointer(
                        bucket=bucket,
                        key=key,
                        archive_id=archive_id,
                        kind=kind,
                        created_at=now,
                        updated_at=now,
                    )
                )
                events.record(session, "pointer.insert", f"{bucket}/{key}", new_archive=archive_id)
                return lease_id
            old = row.archive_id
            if old == archive_id and row.kind == kind:
                return lease_id
            row.archive_id = archive_id
            row.kind = kind
            row.updated_at = now
            events.record(
                session, "pointer.swap", f"{bucket}/{key}", old_archive=old, new_archive=archive_id
            )
            return lease_id

        result = self.db.write(_swap)
        if isinstance(result, _Gone):
            return result
        link = self.layout.pointer_path(bucket, key)
        target = self.archive_path(archive_id)
        if pointers.read_pointer(link, kind) != target:
            pointers.write_pointer(link, target, kind)
        return result

    # -- reading -----------------------------------------------------------

    def lookup(self, bucket: str, key: str) -> Path | None:
        """The canonical archive directory of ``bucket``/``key``, or None on a miss.

        A row whose archive vanished or lies outside ``archive-v0/``, or whose
        on-disk link was tampered with, is a miss; the row is dropped so the
        next store re-creates the entry.
        """
        with self.db.read() as session:
            found = session.execute(_pointer_query([(bucket, key)])).all()
        return self._checked(*found[0]) if found else None

    def lookup_leased(
        self, keys: Sequence[tuple[str, str]]
    ) -> tuple[dict[tuple[str, str], Path], list[int]]:
        """Look up many entries and lease their archives in the same transaction.

        Returns the hits (misses are simply absent) and the lease ids to release.
        """
        if not keys:
            return {}, []

        def _read(session: Session) -> tuple[list[Any], list[int]]:
            rows = session.execute(_pointer_query(keys)).all()
            live = sorted({r.archive_id for r in rows if r.deleted_at is None})
            return list(rows), leases.acquire(session, live)

        rows, lease_ids = self.db.write(_read)
        hits = {}
        for row in rows:
            path = self._checked(*row)
            if path is not None:
                hits[(row.bucket, row.key)] = path
        return hits, lease_ids

    def release(self, lease_ids: Sequence[int]) -> None:
        leases.release(self.db, lease_ids)

    def _checked(
        self,
        bucket: str,
        key: str,
        archive_id: str,
        kind: str,
        relpath: str,
        deleted_at: float | None,
    ) -> Path | None:
        path = self._canonical(relpath) if deleted_at is None else None
        if path is not None:
            link = self.layout.pointer_path(bucket, key)
            on_disk = pointers.read_pointer(link, kind)
            if on_disk == path:
                return path
            if on_disk is not None and on_disk.parent == self.layout.archives:
                # Another archive in the bucket: a swap in flight (row first, link second).
                return path
            if on_disk is None and not os.path.lexists(link):
                # Someone removed the link only; the row is the truth, so restore it.
                pointers.write_pointer(link, path, kind)
                return path
            reason = "pointer.tampered"
        else:
            reason = "pointer.dangling"
        self._drop_pointer(bucket, key, archive_id, reason, vanished=path is None)
        return None

    def _drop_pointer(
        self, bucket: str, key: str, archive_id: str, reason: str, *, vanished: bool
    ) -> None:
        def _drop(session: Session) -> None:
            row = session.scalars(
                select(Pointer).where(Pointer.bucket == bucket, Pointer.key == key)
            ).first()
            if row is None or row.archive_id != archive_id:
                return  # someone else repaired or swapped it meanwhile
            session.delete(row)
            if vanished:
                archive = session.get(Archive, archive_id)
                if archive is not None and archive.deleted_at is None:
                    archive.deleted_at = time.time()
            events.record(session, reason, f"{bucket}/{key}", old_archive=archive_id)

        self.db.write(_drop)
        pointers.remove_pointer(self.layout.pointer_path(bucket, key))

    def record_install(
        self,
        prefix: str,
        python: str,
        installed: Sequence[InstallRecord],
        removed: Iterable[str] = (),
    ) -> None:
        """Record an install run in environment ``prefix`` (one transaction)."""
        self.db.write(lambda s: environments.record_changes(s, prefix, python, installed, removed))

    def cached_wheels(self, name: str, version: str | None = None) -> list[CachedWheel]:
        """Live pointer entries for distribution ``name`` (canonical), optionally one version."""
        query = (
            select(
                Pointer.bucket,
                Pointer.key,
                Archive.id,
                Archive.filename,
                Archive.name,
                Archive.version,
                Archive.tags,
                Archive.relpath,
            )
            .join(Archive, Archive.id == Pointer.archive_id)
            .where(Archive.name == name, Archive.deleted_at.is_(None))
        )
        if version is not None:
            query = query.where(Archive.version == version)
        with self.db.read() as session:
            rows = session.execute(query).all()
        out = []
        for bucket, key, aid, filename, dname, dversion, tags, relpath in rows:
            path = self.root / relpath
            out.append(CachedWheel(bucket, key, aid, filename, dname, dversion, tags, path))
        return out


class _Gone:
    """The archive was collected between storing it and pointing at it."""


_GONE = _Gone()


def _pointer_query(keys: Sequence[tuple[str, str]]) -> Any:
    from sqlalchemy import and_, or_

    return (
        select(
            Pointer.bucket,
            Pointer.key,
            Pointer.archive_id,
            Pointer.kind,
            Archive.relpath,
            Archive.deleted_at,
        )
        .join(Archive, Archive.id == Pointer.archive_id)
        .where(or_(*(and_(Pointer.bucket == b, Pointer.key == k) for b, k in keys)))
    )


def _check_bucket(bucket: str) -> None:
    if bucket not in POINTER_BUCKETS:
        raise UsageError(f"unknown pointer bucket {bucket!r}")


def _check_key(key: str) -> None:
    parts = key.split("/")
    if len(parts) != 3 or any(p in ("", ".", "..") or "\\" in p for p in parts):
        raise UsageError(f"invalid pointer key {key!r}: expected '<source>/<name>/<wheel-stem>'")


def open_cache(
    cache_dir: str | os.PathLike[str] | None = None,
    db_url: str | None = None,
    *,
    pointer_kind: str | None = None,
) -> Cache:
    """Open (creating if needed) the cache at ``cache_dir`` and bring its database up to date."""
    root = resolve_cache_dir(cache_dir)
    layout = Layout(root)
    try:
        layout.create()
    except OSError as exc:
        raise CacheError(f"cannot use cache directory {str(root)!r}: {exc.strerror}") from exc
    db = Database(resolve_db_url(root, db_url))
    try:
        ensure_schema(db, layout.locks / "migrate.lock")
    except BaseException:
        db.close()
        raise
    return Cache(root, db, pointer_kind=pointer_kind)


__all__ = ["Cache", "CachedWheel", "Entry", "InstallRecord", "InvalidWheel", "open_cache"]
