"""``cachedb install``, as named steps, each in its module:

collect requirements (``request``) → discover the target (``discover``) → read the
environment (``environment``) → resolve (``resolving``; downloads start early in
``prefetch``) → fetch or build, then store (``materialize``) → link (``linking``) →
record (``Cache.record_install``) → report (``report``, ``install_report``).

Requirements are read before the target is discovered, so that bad input creates
no venv. Nothing in the environment changes until every wheel is fetched, verified
and stored; nothing in the cache changes until every download is verified.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from .options import InstallOptions
from .report import Reporter
from .report import count as _count
from .report import duration as _secs

TYPE_CHECKING = False  # typing's, without importing typing (about 12M instructions)
if TYPE_CHECKING:
    from ..index import IndexClient
    from ..remote.tier import RemoteTier
    from ..store import Cache
    from ..target import Interpreter, Query
    from .discover import Target
    from .environment import Environment
    from .fetching import Fetcher
    from .finder import CandidateFinder
    from .linking import Linked
    from .request import Request
    from .resolving import Plan


def run_install(opts: InstallOptions, reporter: Reporter) -> int:
    """Install ``opts``; return the process exit code (0), raising CachedbError on failure."""
    from .noop import Known, nothing_to_do, plainly_nothing_to_do, remembered

    started = time.perf_counter()
    known = Known(opts)
    kept = remembered(opts, known)
    if kept is None:
        kept = plainly_nothing_to_do(opts, known)
    if kept is None:
        from .request import collect_request

        request = collect_request(opts)
        kept = nothing_to_do(opts, request, known)
        if kept is None:
            return _run(opts, reporter, request, started)
    # What the pipeline says when resolving finds everything installed.
    took = _secs(time.perf_counter() - started)
    reporter.info(f"Resolved {_count(kept)} in {took}")
    reporter.info(f"Audited {_count(kept)} in {took}")
    return 0


def _run(opts: InstallOptions, reporter: Reporter, request: Request, started: float) -> int:
    """The full pipeline."""
    from ..store import open_cache, staging
    from ..target import start_query
    from .discover import discover_target, forget_target

    target = discover_target(opts)
    try:
        # The interpreter answers on its own while the HTTP client loads. (Not before the
        # cache is open: a read-only cache must be reported as such, before anything writes.)
        with (
            open_cache(opts.cache_dir, opts.db_url) as cache,
            staging.in_use(cache.layout),
            start_query(target.python, cache.layout.interpreters) as query,
        ):
            return _install_into(opts, reporter, request, target, query, cache, started)
    except BaseException:
        forget_target(opts, target)
        raise


def _install_into(
    opts: InstallOptions,
    reporter: Reporter,
    request: Request,
    target: Target,
    query: Query,
    cache: Cache,
    started: float,
) -> int:
    """The install proper, once the cache is open and the interpreter asked."""
    from ..target.lock import environment_lock
    from .discover import target_interpreter
    from .environment import read_environment
    from .prefetch import download_direct, start_fetching, will_download
    from .resolving import resolve_request

    # One writer at a time per environment: held from reading what is installed
    # until the new state is recorded.
    with contextlib.ExitStack() as locked:
        # Likely to need the index client (pages to read, or downloads): it is made ready
        # while the interpreter answers. Only pins a find-links directory alone answers
        # need it not.
        local_dirs = request.sources.local_directories()
        needs_index = not opts.offline and (
            local_dirs is None or will_download(request.reqs, cache)
        )
        early = _index(opts, request, cache) if needs_index else None
        try:
            if early is not None and will_download(request.reqs, cache):
                early.connect()
            if not query.answered:
                from .building import likely_builds, load_builder

                if likely_builds(request, local_dirs):
                    load_builder()  # while the interpreter answers
            interp = target_interpreter(query, opts)
            if not opts.dry_run:  # a dry run writes nothing, not even a lock file
                prefix = Path(interp.prefix)
                locked.enter_context(
                    environment_lock(
                        prefix, cache.layout.locks, wait=opts.wait, waiting=reporter.info
                    )
                )
        except BaseException:
            if early is not None:
                early.close()
            raise
        env = read_environment(interp, opts, request.hashes, cache, fresh=target.fresh)
        remote = _remote(opts, reporter, request, interp, cache)
        finder = _finder(opts, reporter, request, interp, env, cache, early, local_dirs, remote)
        staging: Path | None = None
        fetcher: Fetcher | None = None
        held: list[int] = []
        try:
            staging = download_direct(request.direct, finder, cache, opts)
            if not opts.dry_run:  # a dry run downloads only what resolving needs
                fetcher = start_fetching(request, finder, interp, opts, cache)
            plan = resolve_request(request, finder, interp, opts, env, reporter, started)
            linked = _carry_out(
                opts, reporter, request, plan, finder, interp, env, cache, fetcher, held
            )
        finally:
            reporter.stop()
            if fetcher is not None:
                fetcher.close()
            finder.close()
            cache.release(held)
            if staging is not None:
                import shutil

                shutil.rmtree(staging, ignore_errors=True)
        if opts.dry_run:
            return 0
        if linked is None:
            took = _secs(time.perf_counter() - started)
            reporter.info(f"Audited {_count(len(plan.resolution.pins))} in {took}")
        else:
            from .report import tell_changes

            elapsed = time.perf_counter() - linked.started
            tell_changes(reporter, linked.records, linked.removed, plan.extraneous, elapsed)
        if opts.compile_bytecode:
            from .bytecode import compile_environment

            compile_environment(interp, reporter)
        return 0


def _index(opts: InstallOptions, request: Request, cache: Cache) -> IndexClient | None:
    if not request.sources.index_urls and not request.sources.find_links:
        return None
    from .locations import index_client

    return index_client(opts, request.sources, cache.layout.simple, scratch=cache.layout.tmp)


def _finder(
    opts: InstallOptions,
    reporter: Reporter,
    request: Request,
    interp: Interpreter,
    env: Environment,
    cache: Cache,
    early: IndexClient | None,
    local_dirs: list[Path] | None,
    remote: RemoteTier | None,
) -> CandidateFinder:
    """The resolver's view: ``env``'s usable distributions, the cache and the sources."""
    from .._cachekey import LocalHashes
    from .building import build_policy, builder_factory
    from .finder import CandidateFinder

    where = request.sources
    finder = CandidateFinder(
        cache=cache,
        tags=interp.tags,
        installed=env.usable,
        direct=request.direct,
        index=(lambda: _index(opts, request, cache)) if early is None else (lambda: early),
        offline=opts.offline,
        python_version=interp.version,
        builder=builder_factory(
            cache,
            interp,
            opts,
            where.index_urls,
            where.find_links,
            reporter.info,
            remote=remote,
            metadata_only=opts.dry_run,
        ),
        policy=build_policy(opts),
        local_dirs=local_dirs,
        local_hashes=LocalHashes(cache.layout.simple / "local-files"),
        refresh=opts.refresh,
    )
    finder.remote = remote
    return finder


def _remote(
    opts: InstallOptions, reporter: Reporter, request: Request, interp: Interpreter, cache: Cache
) -> RemoteTier | None:
    """The remote tier (``--remote``), if one is given."""
    if not opts.remote or opts.offline:  # --offline asks no network, the remote included
        return None
    from ..remote.tier import RemoteTier

    return RemoteTier(
        opts.remote,
        push=opts.remote_push,
        tags=interp.tags,
        warn=reporter.warn,
        timeout=opts.timeout,
        hashes=request.hashes,
        tmp=cache.layout.tmp,
    )


def _carry_out(
    opts: InstallOptions,
    reporter: Reporter,
    request: Request,
    plan: Plan,
    finder: CandidateFinder,
    interp: Interpreter,
    env: Environment,
    cache: Cache,
    fetcher: Fetcher | None,
    held: list[int],
) -> Linked | None:
    """Fetch and store, link and record what ``plan`` changes; None when nothing changes
    (a dry run says here what would). Leases taken are appended to ``held``."""
    from .linking import link_all
    from .materialize import materialize, note_kept

    if opts.dry_run or (not plan.todo and not plan.extraneous):
        if opts.report is not None:
            from .install_report import write_report  # (json) for --report only

            write_report(opts.report, plan.todo, finder, interp, cache, None)
        finder.commit()
        if opts.dry_run:
            from .report import tell_dry_run

            tell_dry_run(reporter, plan.todo, env.installed, plan.extraneous)
        return None
    ready = materialize(
        plan.todo,
        cache=cache,
        finder=finder,
        hashes=request.hashes,
        leases=held,
        progress=reporter,
        fetcher=fetcher,
    )
    reporter.stop()
    # Stored by this run: if linking fails they stay (valid, immutable), said so below.
    kept = [item.archive_id for item in ready if item.fetched]
    if kept:
        took = _secs(time.perf_counter() - plan.resolved_at)
        reporter.info(f"Prepared {_count(len(kept))} in {took}")
    try:
        linked = link_all(ready, plan.extraneous, env, interp, opts, cache, reporter)
        removed = [name for name, _ in linked.removed]
        cache.record_install(str(Path(interp.prefix)), interp.executable, linked.records, removed)
        if opts.report is not None:
            from .install_report import write_report

            write_report(opts.report, plan.todo, finder, interp, cache, ready)
    except BaseException:
        if kept:
            note_kept(cache, interp.prefix, kept)
        raise
    finder.commit()
    return linked


__all__ = ["InstallOptions", "run_install"]
