"""Which archives go: unreferenced ones, and those a policy evicts (clean, max-age, max-size).

Planning only reads. Every choice is re-checked by ``sweep`` inside the
transaction that marks the archive deleted, so a plan may be stale by the time
it runs without anything unsafe happening.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..db.dialect import db_now
from ..db.lite import Executor
from ..store.layout import is_archive_id
from . import held, roots

DEFAULT_GRACE = 3600.0


@dataclass(frozen=True)
class Options:
    grace: float = DEFAULT_GRACE
    max_age: float | None = None
    max_size: int | None = None
    keep_installed: bool = False
    # clean: None cleans nothing, () every distribution, else these canonical names.
    clean: Sequence[str] | None = None


@dataclass(frozen=True)
class Candidate:
    archive_id: str
    filename: str
    size: int
    reason: str  # unreferenced | clean | max-age | max-size
    evicting: bool  # drop its pointers; only symlink (or keep_installed) installs protect it
    respect_grace: bool
    last_used_at: float
    # clean and max-age drop the pointers even of an archive that stays (in use).
    unlink: bool = False
    collect: bool = True  # False: only its pointers go


@dataclass
class Plan:
    candidates: list[Candidate] = field(default_factory=list)
    # Rows already marked deleted (a crash between mark and removal, or a vanished tree).
    unfinished: list[str] = field(default_factory=list)
    live: list[str] = field(default_factory=list)  # every other row, for the vanished check

    @property
    def size(self) -> int:
        return sum(c.size for c in self.candidates if c.collect)


@dataclass(frozen=True)
class _Row:
    id: str
    filename: str
    name: str
    size: int
    created_at: float
    last_used_at: float
    pointed: bool


def plan(run: Executor, options: Options, *, gone: roots.GoneRoots | None = None) -> Plan:
    """Choose what to collect; ``gone`` lists roots found dead on disk but not yet marked."""
    now = db_now(run)  # archives' times were written by the database's clock too
    out = Plan()
    for archive_id, deleted in run("SELECT id, deleted_at IS NOT NULL FROM archives"):
        # An id that is no archive id would be a path (`../x`): never acted on; verify reports it.
        if is_archive_id(archive_id):
            (out.unfinished if deleted else out.live).append(archive_id)
    policies = (options.clean, options.max_age, options.max_size) != (None, None, None)
    # Without a policy only archives no pointer names can go: SQL finds those alone
    # rather than every live row (and every pointer) being brought into Python.
    unpointed = "NOT EXISTS (SELECT 1 FROM pointers p WHERE p.archive_id = a.id)"
    where = "a.deleted_at IS NULL" + ("" if policies else f" AND {unpointed}")
    rows = [
        _Row(r[0], r[1], r[2], r[3], r[4], r[5], pointed=not r[6])
        for r in run(
            "SELECT a.id, a.filename, a.name, a.unpacked_size, a.created_at, a.last_used_at,"
            # The unary plus keeps SQLite off the last_used_at index: walking it visits the
            # table in random order, several times slower than a scan and a sort.
            f" {unpointed} FROM archives a WHERE {where} ORDER BY +a.last_used_at, a.id"
        )
        if is_archive_id(r[0])
    ]
    if not rows:
        return out
    leased = held.live_leased(run)
    modes = roots.living_install_modes(run, ignore=gone)
    old_before = now - options.grace
    chosen: dict[str, Candidate] = {}

    def choose(
        row: _Row, reason: str, *, evicting: bool, respect_grace: bool, unlink: bool = False
    ) -> None:
        if row.id in chosen:
            return
        if respect_grace and row.created_at > old_before:
            return
        keep = row.id in leased or roots.protects(
            modes.get(row.id, set()), evicting=evicting, keep_installed=options.keep_installed
        )
        if keep and not (unlink and row.pointed):
            return
        chosen[row.id] = Candidate(
            row.id,
            row.filename,
            row.size,
            reason,
            evicting,
            respect_grace,
            row.last_used_at,
            unlink=unlink,
            collect=not keep,
        )

    for row in rows:
        if not row.pointed:
            choose(row, "unreferenced", evicting=False, respect_grace=True)
    if options.clean is not None:
        names = set(options.clean)
        for row in rows:
            if not names or row.name in names:
                # An entry with a pointer is a finished store, so an explicit clean
                # need not wait out the grace period that protects stores in flight.
                choose(row, "clean", evicting=True, respect_grace=not row.pointed, unlink=True)
    if options.max_age is not None:
        unused_before = now - options.max_age
        for row in rows:
            if row.last_used_at < unused_before:
                choose(row, "max-age", evicting=True, respect_grace=True, unlink=True)
    if options.max_size is not None:
        total = sum(r.size for r in rows if r.id not in chosen or not chosen[r.id].collect)
        for row in rows:  # least recently used first
            if total <= options.max_size:
                break
            if row.id not in chosen:
                choose(row, "max-size", evicting=True, respect_grace=True)
                if row.id in chosen:
                    total -= row.size
    order = {r.id: i for i, r in enumerate(rows)}
    out.candidates = sorted(chosen.values(), key=lambda c: order[c.archive_id])
    return out
