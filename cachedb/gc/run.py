"""One gc (or clean) run: find dead roots, plan, then collect one archive at a time."""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..store import Cache
from . import held, memos, policy, roots, sweep, templates
from .policy import Options
from .report import ArchiveLine, Report


def run(cache: Cache, options: Options, *, dry_run: bool = False) -> Report:
    """Collect garbage in ``cache`` (or, with ``dry_run``, only report what would go)."""
    started = time.monotonic()
    report = _run(cache, options, dry_run=dry_run)
    report.seconds = time.monotonic() - started
    return report


def _run(cache: Cache, options: Options, *, dry_run: bool) -> Report:
    report = Report(dry_run=dry_run)
    gone = roots.find_gone(cache.read_sql(roots.living_installs))
    report.removed_installs = len(gone.installs)
    if dry_run:
        report.stale_environments = sorted(gone.environments.values())
        plan = cache.read_sql(lambda run: policy.plan(run, options, gone=gone))
        report.finished = sum(
            1 for aid in plan.unfinished if os.path.lexists(cache.archive_path(aid))
        )
        report.archives = [_line(c) for c in plan.candidates if c.collect]
        report.pointers = sum(1 for c in plan.candidates if not c.collect)
        listing = sweep.Listing.scan(cache.layout.archives)
        known = [*plan.live, *plan.unfinished]
        orphans = sweep.find_orphans(cache, options.grace, listing, known, dry_run=True)
        report.orphans = [_rel(cache, p) for p in orphans]
        report.orphan_links = [f"{b}/{k}" for b, k in sweep.find_orphan_links(cache, options.grace)]
        report.memos = [_rel(cache, p) for p in _stale_memos(cache, options)]
        report.templates = [_rel(cache, p) for p in _stale_templates(cache, options)]
        return report
    if gone:
        report.stale_environments = sorted(roots.mark_gone(cache, gone))
    # Dead leases are looked for first, so a run with none takes no write lock for them.
    if cache.read_sql(held.dead):
        cache.write_sql(held.purge_dead)
    plan = cache.read_sql(lambda run: policy.plan(run, options))
    # Finish what an interrupted run (or a lookup that found a tree missing) started.
    report.finished = sum(1 for aid in plan.unfinished if sweep.finish(cache, aid))
    # One scan of archive-v0/ serves the vanished check and the orphan search.
    listing = sweep.Listing.scan(cache.layout.archives)
    for aid in sweep.vanished(plan.live, listing):
        sweep.mark_vanished(cache, aid)
    for candidate in plan.candidates:
        collected = sweep.collect(cache, candidate, options)
        if collected is None:
            continue
        report.pointers += collected.pointers
        if collected.removed:
            report.archives.append(_line(candidate))
    # Rows purged since were discarded first, so ids read before the sweep are enough.
    known = [*plan.live, *plan.unfinished]
    for path in sweep.find_orphans(cache, options.grace, listing, known):
        if sweep.remove_orphan(cache, path):
            report.orphans.append(_rel(cache, path))
    for bucket, key in sweep.find_orphan_links(cache, options.grace):
        if sweep.remove_orphan_link(cache, bucket, key):
            report.orphan_links.append(f"{bucket}/{key}")
    for path in _stale_memos(cache, options):
        if memos.remove(path):
            report.memos.append(_rel(cache, path))
    for path in _stale_templates(cache, options):
        if templates.remove(cache.layout, path):
            report.templates.append(_rel(cache, path))
    return report


def _stale_memos(cache: Cache, options: Options) -> list[Path]:
    if options.clean is not None:
        return []  # clean removes entries of distributions; memos are gc's
    return memos.find_stale(cache.layout, grace=options.grace, max_age=options.max_age)


def _stale_templates(cache: Cache, options: Options) -> list[Path]:
    if options.clean is not None:
        return []  # as memos: venv templates are gc's
    return templates.find_stale(cache.layout, grace=options.grace)


def _line(candidate: policy.Candidate) -> ArchiveLine:
    return ArchiveLine(candidate.archive_id, candidate.filename, candidate.size, candidate.reason)


def _rel(cache: Cache, path: os.PathLike[str]) -> str:
    return os.path.relpath(path, cache.root).replace(os.sep, "/")
