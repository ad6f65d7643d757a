"""The cache: one directory plus the database that describes it.

``put`` stores a wheel (insert archive, then swap the pointer); ``lookup`` turns
a pointer row into the canonical archive path, treating anything that does not
lead into ``archive-v0/`` as a miss. Everything an install does runs in plain
SQL on sqlite3 (``catalog`` for reads and bookkeeping, ``entries`` for storing);
SQLAlchemy is loaded only for other databases, audits and repairs.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .. import _pause
from .._config import resolve_cache_dir, resolve_db_url
from .._flock import file_lock
from ..db.lite import Executor, plain_database
from ..errors import CacheError, UsageError
from . import catalog, pointers
from .catalog import InstallRecord
from .layout import POINTER_BUCKETS, Layout, is_pointer
from .rootid import check_root_id

if TYPE_CHECKING:
    from typing import NamedTuple

    from ..db.engine import Database
    from .heartbeat import Heartbeat
    from .unpack import UnpackedWheel
else:
    # Not typing's NamedTuple: that one compiles each field's annotation (~0.2M instructions).
    from .._record import NamedTuple

T = TypeVar("T")


class Entry(NamedTuple):
    archive_id: str
    path: Path  # canonical absolute archive directory
    bucket: str
    key: str
    lease_id: int | None = None  # set when the caller asked to hold the archive


class PutItem(NamedTuple):
    """What ``Cache.put`` takes, for ``Cache.put_many``."""

    bucket: str
    key: str
    wheel: Path
    sha256: str | None = None
    lease: bool = False
    unpacked: UnpackedWheel | None = None


class CachedWheel(NamedTuple):
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

    def __init__(self, root: Path, db_url: str, *, pointer_kind: str | None = None) -> None:
        self.root = root
        self.layout = Layout(root)
        self.db_url = db_url
        self._pointer_kind = pointer_kind
        self._db: Database | None = None
        self._plain = plain_database(db_url)
        self._heartbeat: Heartbeat | None = None

    @property
    def db(self) -> Database:
        """The SQLAlchemy view of the database, created on first use (databases other than
        SQLite and PostgreSQL, and tests)."""
        if self._db is None:
            from ..db.engine import Database

            self._db = Database(self.db_url)
        return self._db

    def close(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None
        if self._db is not None:
            self._db.close()
        if self._plain is not None:
            self._plain.close()

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write_sql(self, fn: Callable[[Executor], T]) -> T:
        """Run ``fn`` in a write transaction, retried while busy or aborted: only SQL in it.

        On SQLite it is ``BEGIN IMMEDIATE`` (one writer at a time); on PostgreSQL,
        READ COMMITTED with the locks ``db.dialect`` adds, run again after a
        deadlock or serialization failure.
        """
        result = self._plain.write(fn) if self._plain is not None else self.db.write_sql(fn)
        if self._heartbeat is None and catalog.took_leases():
            self._start_heartbeat()
        return result

    def _start_heartbeat(self) -> None:
        """Keep this process's leases alive from now until the cache closes."""
        from .heartbeat import Connection, Heartbeat

        url = self.db_url

        def connect() -> Connection:
            plain = plain_database(url)
            if plain is not None:
                return plain.write, plain.close
            from ..db.engine import Database

            db = Database(url)
            return db.write_sql, db.close

        self._heartbeat = Heartbeat(connect, catalog.lease_ttl())

    def read_sql(self, fn: Callable[[Executor], T]) -> T:
        """Run ``fn`` in one read transaction."""
        if self._plain is not None:
            return self._plain.read_sql(fn)
        return self.db.read_sql(fn)

    @property
    def pointer_kind(self) -> str:
        if self._pointer_kind is None:
            self._pointer_kind = pointers.default_kind(self.layout.tmp)
        return self._pointer_kind

    # -- paths -------------------------------------------------------------

    def archive_path(self, archive_id: str) -> Path:
        return self.layout.archive_dir(archive_id)

    def archive_lock(self, archive_id: str) -> AbstractContextManager[object]:
        """The per-archive file lock held while an archive directory is created or deleted."""
        return file_lock(self.layout.archive_lock(archive_id))

    def canonical(self, archive_id: str, relpath: str) -> Path | None:
        """The archive directory of a row, if its id and relpath agree and it really is one
        inside archive-v0 (ids and relpaths come from a database someone may have edited)."""
        if not self.layout.is_archive_relpath(archive_id, relpath):
            return None
        candidate = self.layout.archive_dir(archive_id)
        try:
            if os.name == "posix" and stat.S_ISDIR(os.lstat(candidate).st_mode):
                return candidate  # a directory, not a link, in the bucket: really inside it
            real = candidate.resolve(strict=True)
        except OSError:
            return None
        if real.parent != self.layout.archives.resolve() or not real.is_dir():
            return None
        return candidate

    # -- storing -----------------------------------------------------------

    def put(
        self,
        bucket: str,
        key: str,
        wheel: Path,
        *,
        sha256: str | None = None,
        lease: bool = False,
        unpacked: UnpackedWheel | None = None,
    ) -> Entry:
        """Store ``wheel`` as ``bucket``/``key``: insert its archive, then swap the pointer.

        With ``lease``, the archive is leased in the transaction that moves the
        pointer, so gc cannot collect it before the caller releases the lease.
        ``unpacked`` is ``wheel`` already unpacked under ``layout.tmp``
        (``unpack_wheel``): it is used instead of unpacking again, and consumed
        (moved into the cache or discarded) whatever happens.
        """
        return self.put_many([PutItem(bucket, key, wheel, sha256, lease, unpacked)])[0]

    def put_many(self, items: Sequence[PutItem]) -> list[Entry]:
        """Store several wheels as ``put`` does each, with one transaction for them all.

        The same guarantees as ``put``: every tree is renamed into ``archive-v0/``
        (under its archive's lock, the locks taken in sorted order) before the one
        transaction that writes the archive rows, moves the pointers and takes the
        leases; the links on disk follow. Archives already stored are only pointed
        at. Every ``unpacked`` tree is consumed whatever happens, and one entry
        refused up front (bucket, key, tree of another wheel) stores none.
        Returns the entries in ``items`` order.
        """
        if not items:
            return []
        from . import entries
        from .archive import discard
        from .unpack import sha256_file

        trees: dict[str, UnpackedWheel] = {}
        spare: list[UnpackedWheel] = []  # a second tree of one archive
        for item in items:
            if item.unpacked is not None:
                kept = trees.setdefault(item.unpacked.archive_id, item.unpacked)
                if kept is not item.unpacked:
                    spare.append(item.unpacked)
        try:
            wanted = []
            keys = set()
            for item in items:
                _check_bucket(item.bucket)
                _check_key(item.key)
                if (item.bucket, item.key) in keys:
                    raise UsageError(f"pointer {item.bucket}/{item.key} given twice")
                keys.add((item.bucket, item.key))
                archive_id = item.sha256 or (
                    item.unpacked.archive_id
                    if item.unpacked is not None
                    else sha256_file(item.wheel)
                )
                if item.unpacked is not None and item.unpacked.archive_id != archive_id:
                    raise ValueError(f"{item.unpacked.filename} was unpacked as another archive")
                wanted.append(
                    entries.Wanted(item.bucket, item.key, item.wheel, archive_id, item.lease)
                )
            lease_ids = entries.store(self, wanted, trees)
        finally:
            for tree in [*trees.values(), *spare]:
                discard(tree.directory, self.layout)
        return [
            Entry(w.archive_id, self.archive_path(w.archive_id), w.bucket, w.key, lease_id)
            for w, lease_id in zip(wanted, lease_ids, strict=True)
        ]

    replace = put

    # -- reading -----------------------------------------------------------

    def lookup(self, bucket: str, key: str) -> Path | None:
        """The canonical archive directory of ``bucket``/``key``, or None on a miss.

        A row whose archive vanished or lies outside ``archive-v0/``, or whose
        on-disk link was tampered with, is a miss; the row is dropped so the
        next store re-creates the entry.
        """
        found = self.read_sql(lambda run: catalog.pointer_rows(run, [(bucket, key)]))
        return self._checked(*found[0]) if found else None

    def lookup_leased(
        self, keys: Sequence[tuple[str, str]]
    ) -> tuple[dict[tuple[str, str], Path], list[int]]:
        """Look up many entries and lease their archives in the same transaction.

        Returns the hits (misses are simply absent) and the lease ids to release.
        """
        if not keys:
            return {}, []

        def _read(run: Executor) -> tuple[list[tuple[Any, ...]], list[int]]:
            rows = catalog.pointer_rows(run, keys, lock="share")
            live = sorted({r[2] for r in rows if r[5] is None})
            _pause.point("lease.decide")
            return rows, catalog.acquire_leases(run, live)

        rows, lease_ids = self.write_sql(_read)
        hits = {}
        for row in rows:
            path = self._checked(*row)
            if path is not None:
                hits[(row[0], row[1])] = path
        return hits, lease_ids

    def release(self, lease_ids: Sequence[int]) -> None:
        if lease_ids:
            self.write_sql(lambda run: catalog.release_leases(run, lease_ids))

    def _checked(
        self,
        bucket: str,
        key: str,
        archive_id: str,
        kind: str,
        relpath: str,
        deleted_at: float | None,
    ) -> Path | None:
        path = self.canonical(archive_id, relpath) if deleted_at is None else None
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
        from . import entries

        entries.drop_pointer(self, bucket, key, archive_id, reason, vanished=path is None)
        return None

    def record_install(
        self,
        prefix: str,
        python: str,
        installed: Sequence[InstallRecord],
        removed: Iterable[str] = (),
    ) -> None:
        """Record an install run in environment ``prefix`` (one transaction)."""
        self.write_sql(lambda run: catalog.record_install(run, prefix, python, installed, removed))

    def file_counts(self, archive_ids: Sequence[str]) -> dict[str, int]:
        """Archive id -> number of files, as recorded when each archive was stored."""
        return self.read_sql(lambda run: catalog.file_counts(run, archive_ids))

    def installed_archives(self, prefix: str) -> dict[str, str]:
        """Canonical name -> archive id of what cachedb installed into environment ``prefix``."""
        return self.read_sql(lambda run: catalog.installed_archives(run, prefix))

    def cached_wheels(self, name: str, version: str | None = None) -> list[CachedWheel]:
        """Live pointer entries for distribution ``name`` (canonical), optionally one version."""
        return self._wheels(self.read_sql(lambda run: catalog.cached_wheels(run, name, version)))

    def cached_wheels_of(self, names: Iterable[str]) -> dict[str, list[CachedWheel]]:
        """``cached_wheels(name)`` of every (canonical) name in ``names``: one query."""
        out: dict[str, list[CachedWheel]] = {name: [] for name in names}
        rows = self.read_sql(lambda run: catalog.cached_wheels_of(run, sorted(out))) if out else []
        for wheel in self._wheels(rows):
            out[wheel.name].append(wheel)
        return out

    def _wheels(self, rows: list[tuple[Any, ...]]) -> list[CachedWheel]:
        return [
            CachedWheel(bucket, key, aid, filename, dname, dversion, tags, self.root / relpath)
            for bucket, key, aid, filename, dname, dversion, tags, relpath in rows
            if self.layout.is_archive_relpath(aid, relpath)
        ]


def _check_bucket(bucket: str) -> None:
    if bucket not in POINTER_BUCKETS:
        raise UsageError(f"unknown pointer bucket {bucket!r}")


def _check_key(key: str) -> None:
    if not is_pointer(POINTER_BUCKETS[0], key):
        raise UsageError(f"invalid pointer key {key!r}: expected '<source>/<name>/<wheel-stem>'")


def open_cache(
    cache_dir: str | os.PathLike[str] | None = None,
    db_url: str | None = None,
    *,
    pointer_kind: str | None = None,
) -> Cache:
    """Open (creating if needed) the cache at ``cache_dir`` and bring its database up to date."""
    from ..db.migrate import ensure_schema

    root = resolve_cache_dir(cache_dir)
    layout = Layout(root)
    layout.check()
    try:
        layout.create()
    except OSError as exc:
        raise CacheError(f"cannot use cache directory {str(root)!r}: {exc.strerror}") from exc
    if not os.access(root, os.W_OK):
        # Said here, once: otherwise SQLite reports "unable to open database file".
        raise CacheError(f"cannot use cache directory {str(root)!r}: it is read-only")
    url = resolve_db_url(root, db_url)
    ensure_schema(url, layout.locks / "migrate.lock")
    cache = Cache(root, url, pointer_kind=pointer_kind)
    try:
        check_root_id(cache)
    except BaseException:
        cache.close()
        raise
    return cache


__all__ = ["Cache", "CachedWheel", "Entry", "InstallRecord", "PutItem", "open_cache"]
