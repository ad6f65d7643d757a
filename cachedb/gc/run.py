"""One gc (or clean) run: find dead roots, plan, then collect one archive at a time."""

from __future__ import annotations

import os
import time

from ..store import Cache, leases
from . import policy, roots, sweep
from .policy import Options
from .report import ArchiveLine, Report


def run(cache: Cache, options: Options, *, dry_run: bool = False) -> Report:
    """Collect garbage in ``cache`` (or, with ``dry_run``, only report what would go)."""
    started = time.monotonic()
    report = Report(dry_run=dry_run)
    with cache.db.read() as session:
        gone = roots.find_gone(session)
    report.removed_installs = len(gone.installs)
    if dry_run:
        report.stale_environments = sorted(gone.environments.values())
        with cache.db.read() as session:
            plan = policy.plan(session, options, gone=gone)
        report.finished = sum(
            1 for aid in plan.unfinished if os.path.lexists(cache.archive_path(aid))
        )
        report.archives = [_line(c) for c in plan.candidates if c.collect]
        report.pointers = sum(1 for c in plan.candidates if not c.collect)
        report.orphans = [
            _rel(cache, p) for p in sweep.find_orphans(cache, options.grace, dry_run=True)
        ]
        report.orphan_links = [f"{b}/{k}" for b, k in sweep.find_orphan_links(cache, options.grace)]
    else:
        if gone:
            report.stale_environments = sorted(roots.mark_gone(cache.db, gone))
        cache.db.write(leases.purge_dead)
        with cache.db.read() as session:
            plan = policy.plan(session, options)
        # Finish what an interrupted run (or a lookup that found a tree missing) started.
        report.finished = sum(1 for aid in plan.unfinished if sweep.finish(cache, aid))
        for aid in sweep.vanished(cache):
            sweep.mark_vanished(cache, aid)
        for candidate in plan.candidates:
            collected = sweep.collect(cache, candidate, options)
            if collected is None:
                continue
            report.pointers += collected.pointers
            if collected.removed:
                report.archives.append(_line(candidate))
        for path in sweep.find_orphans(cache, options.grace):
            if sweep.remove_orphan(cache, path):
                report.orphans.append(_rel(cache, path))
        for bucket, key in sweep.find_orphan_links(cache, options.grace):
            if sweep.remove_orphan_link(cache, bucket, key):
                report.orphan_links.append(f"{bucket}/{key}")
    report.seconds = time.monotonic() - started
    return report


def _line(candidate: policy.Candidate) -> ArchiveLine:
    return ArchiveLine(candidate.archive_id, candidate.filename, candidate.size, candidate.reason)


def _rel(cache: Cache, path: os.PathLike[str]) -> str:
    return os.path.relpath(path, cache.root).replace(os.sep, "/")
