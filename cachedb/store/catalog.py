"""The statements a warm install runs, in plain SQL.

They run on sqlite3 directly (``db.lite``) so a fully cached install never
imports SQLAlchemy, on psycopg for PostgreSQL (``db.pg``), and through an ORM
session (``Database.write_sql``) on other databases. Named parameters and
``RETURNING`` work on both SQLite and PostgreSQL.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .._process import boot_id, host_id, process_start_time, this_host
from ..db.dialect import db_now, for_share, for_update, lock_names, now_sql
from ..db.events import Event, record_many, record_sql
from ..db.lite import Executor
from ..errors import UsageError

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    # Not typing's NamedTuple: that one compiles each field's annotation (~0.2M instructions).
    from .._record import NamedTuple


# Seconds a lease lives past its holder's last heartbeat (``CACHEDB_LEASE_TTL``). The
# holder beats every quarter of it (``store.heartbeat``), so only a dead or cut-off host
# loses its leases; a crashed process on this host is noticed through its pid at once.
LEASE_TTL = 60.0
LEASE_TTL_ENV = "CACHEDB_LEASE_TTL"
# Leases per INSERT: one parameter each (plus four shared), far below any limit.
_LEASES_CHUNK = 500
# Pointer keys per SELECT: two parameters each, below SQLite's old limit of 999.
_KEYS_CHUNK = 200


class InstallRecord(NamedTuple):
    archive_id: str
    name: str  # canonical
    version: str
    link_mode: str


_CACHED_WHEELS = (
    "SELECT p.bucket, p.key, a.id, a.filename, a.name, a.version, a.tags, a.relpath"
    " FROM pointers p JOIN archives a ON a.id = p.archive_id WHERE a.deleted_at IS NULL"
)


def cached_wheels(run: Executor, name: str, version: str | None) -> list[tuple[Any, ...]]:
    """(bucket, key, archive id, filename, name, version, tags, relpath) of live entries,
    by (bucket, key)."""
    sql = _CACHED_WHEELS + " AND a.name = :name"
    params: dict[str, Any] = {"name": name}
    if version is not None:
        sql += " AND a.version = :version"
        params["version"] = version
    return run(sql + " ORDER BY p.bucket, p.key", params)


def cached_wheels_of(run: Executor, names: Sequence[str]) -> list[tuple[Any, ...]]:
    """``cached_wheels`` of every name in ``names`` (all versions), one statement a chunk."""
    rows: list[tuple[Any, ...]] = []
    for marks, params in _chunks(names, "n"):
        rows += run(f"{_CACHED_WHEELS} AND a.name IN ({marks}) ORDER BY p.bucket, p.key", params)
    return rows


def pointer_rows(
    run: Executor, keys: Sequence[tuple[str, str]], *, lock: str = ""
) -> list[tuple[Any, ...]]:
    """(bucket, key, archive id, kind, relpath, deleted_at) for each existing pointer.

    ``lock``: ``"share"`` keeps the archives read as they are until the caller's
    transaction ends (a lease is taken on what was read: gc cannot mark them
    meanwhile); ``"update"`` locks the pointer rows (they are about to move).
    """
    suffix = {"": "", "share": for_share(run, "a"), "update": for_update(run, "p")}[lock]
    rows: list[tuple[Any, ...]] = []
    for start in range(0, len(keys), _KEYS_CHUNK):
        params: dict[str, Any] = {}
        clauses = []
        for i, (bucket, key) in enumerate(keys[start : start + _KEYS_CHUNK]):
            params[f"b{i}"], params[f"k{i}"] = bucket, key
            clauses.append(f"(p.bucket = :b{i} AND p.key = :k{i})")
        rows += run(
            "SELECT p.bucket, p.key, p.archive_id, p.kind, a.relpath, a.deleted_at"
            " FROM pointers p JOIN archives a ON a.id = p.archive_id WHERE "
            + " OR ".join(clauses)
            + suffix,
            params,
        )
    return rows


def file_counts(run: Executor, archive_ids: Sequence[str]) -> dict[str, int]:
    """Archive id -> its number of files, for the archives of ``archive_ids`` that have a row."""
    counts: dict[str, int] = {}
    for marks, params in _chunks(archive_ids, "i"):
        for archive_id, count in run(
            f"SELECT id, file_count FROM archives WHERE id IN ({marks})", params
        ):
            counts[archive_id] = int(count)
    return counts


def _chunks(values: Sequence[Any], prefix: str) -> Iterable[tuple[str, dict[str, Any]]]:
    """``values`` by ``_KEYS_CHUNK``, for ``IN (...)``: each chunk's ``:<prefix>N`` marks
    and their parameters."""
    for start in range(0, len(values), _KEYS_CHUNK):
        chunk = values[start : start + _KEYS_CHUNK]
        marks = ", ".join(f":{prefix}{i}" for i in range(len(chunk)))
        yield marks, {f"{prefix}{i}": value for i, value in enumerate(chunk)}


def lease_ttl() -> float:
    """Seconds a lease outlives its holder's last heartbeat (``CACHEDB_LEASE_TTL``)."""
    from .._settings import value

    raw = (value("lease-ttl") or "").strip()
    if not raw:
        return LEASE_TTL
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise UsageError(f"{LEASE_TTL_ENV} must be a positive number of seconds, not {raw!r}")
    return seconds


_STARTED: list[float | None] = []


def _this_process_started() -> float | None:
    if not _STARTED or _STARTED[0] is None:
        _STARTED[:] = [process_start_time(os.getpid())]
    return _STARTED[0]


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_STARTED.clear)  # a forked child is another process

# Whether this process has taken a lease: the cache then keeps them alive (heartbeat).
_taken: list[bool] = []


def took_leases() -> bool:
    return bool(_taken)


def acquire_leases(
    run: Executor, archive_ids: Iterable[str], *, ttl: float | None = None
) -> list[int]:
    """Lease ``archive_ids`` for this process inside the caller's write transaction.

    A lease names its host, its process (pid and start time), and its heartbeat;
    it lives ``ttl`` seconds (``lease_ttl()``) past the last one, by the database's
    clock. One statement per few hundred leases. The ids come back in ``archive_ids``
    order; RETURNING gives rows in no promised order, but two leases of one
    archive are alike (same process, same times), so matching by archive is enough.
    """
    wanted = list(archive_ids)
    if not wanted:
        return []
    _taken[:] = [True]
    now = now_sql(run)  # the database's clock, in the INSERT itself
    given: dict[str, list[int]] = {}
    common: dict[str, Any] = {"pid": os.getpid(), "host": host_id(), "now": time.time()}
    common["ttl"] = lease_ttl() if ttl is None else ttl
    common["start"] = _this_process_started()
    for start in range(0, len(wanted), _LEASES_CHUNK):
        params = dict(common)
        values = []
        for n, archive_id in enumerate(wanted[start : start + _LEASES_CHUNK]):
            params[f"a{n}"] = archive_id
            values.append(f"(:a{n}, :pid, :host, {now}, {now} + :ttl, :start, {now})")
        for lease_id, archive_id in run(
            "INSERT INTO leases (archive_id, pid, host, created_at, expires_at, started_at,"
            " heartbeat_at) VALUES " + ", ".join(values) + " RETURNING id, archive_id",
            params,
        ):
            given.setdefault(str(archive_id), []).append(int(lease_id))
    return [given[archive_id].pop() for archive_id in wanted]


def beat(run: Executor, ttl: float) -> int:
    """This process's heartbeat: its leases live ``ttl`` seconds from now. How many it has."""
    now = now_sql(run)
    return len(
        run(
            f"UPDATE leases SET heartbeat_at = {now}, expires_at = {now} + :ttl"
            " WHERE host = :host AND pid = :pid RETURNING id",
            {"now": time.time(), "ttl": ttl, "host": host_id(), "pid": os.getpid()},
        )
    )


def release_leases(run: Executor, lease_ids: Sequence[int]) -> None:
    # One statement per chunk, not per lease: a warm install releases one per wheel.
    for marks, params in _chunks(lease_ids, "i"):
        run(f"DELETE FROM leases WHERE id IN ({marks})", params)


# Environment ``:p`` of this host (``:m``, its machine id); a row recorded before hosts
# were (no host) is any host's own, until one records into it and so claims it.
THIS_HOSTS_ENVIRONMENT = (
    "e.path = :p AND (e.host_id IS NULL OR e.host_id IN"
    " (SELECT h.id FROM hosts h WHERE h.machine_id = :m))"
)


def installed_archives(run: Executor, prefix: str) -> dict[str, str]:
    """Canonical name -> the archive cachedb last installed there, for environment ``prefix``
    of this host."""
    rows = run(
        "SELECT i.name, i.archive_id FROM installs i JOIN environments e"
        f" ON e.id = i.environment_id WHERE {THIS_HOSTS_ENVIRONMENT} AND i.removed_at IS NULL",
        {"p": prefix, "m": host_id()},
    )
    return {name: archive_id for name, archive_id in rows}


def this_host_row(run: Executor, now: float) -> int:
    """The ``hosts`` row of this machine (made or refreshed in the caller's write transaction)."""
    return int(
        run(
            "INSERT INTO hosts (machine_id, boot_id, name, first_seen_at, last_seen_at)"
            " VALUES (:m, :b, :n, :now, :now) ON CONFLICT (machine_id) DO UPDATE"
            " SET boot_id = excluded.boot_id, name = excluded.name,"
            " last_seen_at = excluded.last_seen_at RETURNING id",
            {"m": host_id(), "b": boot_id(), "n": this_host(), "now": now},
        )[0][0]
    )


def record_install(
    run: Executor,
    prefix: str,
    python: str,
    installed: Sequence[InstallRecord],
    removed: Iterable[str] = (),
) -> None:
    """Record one install run in environment ``prefix`` of this host: installs, removals,
    last-used bumps."""
    now = db_now(run)  # gc on any host compares last-used times
    host = this_host_row(run, now)
    # Two installs into one new environment must not both insert it.
    lock_names(run, [f"environment:{host}:{prefix}"])
    found = run(
        "SELECT e.id, e.stale_at FROM environments e WHERE "
        + THIS_HOSTS_ENVIRONMENT
        # This host's own row before one recorded without a host.
        + " ORDER BY CASE WHEN e.host_id IS NULL THEN 1 ELSE 0 END"
        + for_update(run),
        {"p": prefix, "m": host_id()},
    )
    if not found:
        env_id = run(
            "INSERT INTO environments (path, python, created_at, last_used_at, host_id)"
            " VALUES (:p, :py, :now, :now, :h) RETURNING id",
            {"p": prefix, "py": python, "now": now, "h": host},
        )[0][0]
        record_sql(run, "environment.insert", prefix)
    else:
        env_id, stale_at = found[0]
        run(
            "UPDATE environments SET last_used_at = :now, python = :py, stale_at = NULL,"
            " host_id = :h WHERE id = :id",
            {"now": now, "py": python, "id": env_id, "h": host},
        )
        if stale_at is not None:
            record_sql(run, "environment.revive", prefix)
    # A few statements per run, not three per distribution: a warm install of
    # 46 wheels waited on 140 of them after linking.
    names = sorted(set(removed) | {r.name for r in installed})
    current: dict[str, list[tuple[int, str]]] = {}
    for marks, params in _chunks(names, "n"):
        for install_id, archive_id, name in run(
            "SELECT id, archive_id, name FROM installs WHERE environment_id = :e"
            f" AND removed_at IS NULL AND name IN ({marks}) ORDER BY id",
            {"e": env_id, **params},
        ):
            current.setdefault(name, []).append((install_id, archive_id))
    gone = [(name, row) for name in names for row in current.get(name, ())]
    for marks, params in _chunks([row[0] for _, row in gone], "i"):
        params["now"] = now
        run(f"UPDATE installs SET removed_at = :now WHERE id IN ({marks})", params)
    events: list[Event] = [
        ("install.remove", f"{prefix}:{name}", archive_id, None, None)
        for name, (_, archive_id) in gone
    ]
    for start in range(0, len(installed), _KEYS_CHUNK):
        rows = installed[start : start + _KEYS_CHUNK]
        values: dict[str, Any] = {"e": env_id, "now": now}
        for i, rec in enumerate(rows):
            values.update({f"a{i}": rec.archive_id, f"n{i}": rec.name})
            values.update({f"v{i}": rec.version, f"m{i}": rec.link_mode})
        run(
            "INSERT INTO installs (environment_id, archive_id, name, version, link_mode,"
            " installed_at) VALUES "
            + ", ".join(f"(:e, :a{i}, :n{i}, :v{i}, :m{i}, :now)" for i in range(len(rows))),
            values,
        )
    for marks, params in _chunks(sorted({r.archive_id for r in installed}), "a"):
        params["now"] = now
        run(f"UPDATE archives SET last_used_at = :now WHERE id IN ({marks})", params)
    events += [
        ("install.insert", f"{prefix}:{rec.name}", None, rec.archive_id, rec.link_mode)
        for rec in installed
    ]
    record_many(run, events)
