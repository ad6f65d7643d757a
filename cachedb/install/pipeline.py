"""``cachedb install``: inputs → target → resolve → fetch + store → link → record.

Nothing in the environment changes until every wheel is fetched, verified and
stored; nothing in the cache changes until every download is verified.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from packaging.utils import canonicalize_name
from packaging.version import Version

from .._cachekey import LocalHashes
from ..errors import UsageError
from ..resolve import Pin, Resolution, exact_pin, resolve, resolve_pinned
from .fetching import Fetcher
from .finder import CandidateFinder
from .forked import on_two_processes
from .options import DEFAULT_INDEX_URL, INDEX_URL_ENV, InstallOptions
from .prefetch import prefetch, uncached_pins
from .report import Reporter
from .report import count as _count
from .report import duration as _secs
from .sources import Built, Cached, Direct, Indexed, Installed, Sdist

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from ..index import IndexClient
    from ..requirements import RequirementSet
    from ..store import Cache, InstallRecord
    from ..target import Interpreter, Query
    from .materialize import Ready


def _index_urls(opts: InstallOptions, reqs: RequirementSet) -> list[str]:
    if opts.no_index or reqs.no_index:
        return []
    primary = opts.index_url or reqs.index_url or os.environ.get(INDEX_URL_ENV) or DEFAULT_INDEX_URL
    extras = [*opts.extra_index_urls, *reqs.extra_index_urls]
    urls: list[str] = []
    for url in [primary, *extras]:
        # A directory is an index too (pip, uv): named absolutely, as the cache keys it.
        url = url if "://" in url else os.path.abspath(os.path.expanduser(url))
        if url not in urls:
            urls.append(url)
    return urls


def _check_hash_mode(
    reqs: RequirementSet, resolution: Resolution, hashes: dict[str, frozenset[str]]
) -> None:
    unpinned = [
        str(r.requirement)
        for r in reqs.requirements
        if r.url is None and exact_pin(r.requirement.specifier) is None
    ]
    if unpinned:
        raise UsageError(
            "in --require-hashes mode every requirement must be pinned with ==; not pinned: "
            + ", ".join(unpinned)
        )
    # A git URL at a full commit id is checked by that id (a pylock's vcs entries are).
    committed = {r.name for r in reqs.requirements if r.url is not None and _at_commit(r.url)}
    missing = [
        f"{p.name}=={p.version}"
        for p in resolution.pins.values()
        if not hashes.get(p.name)
        and not isinstance(p.candidate.source, Installed)
        and p.name not in committed
    ]
    if missing:
        raise UsageError(
            "in --require-hashes mode every package needs a --hash; missing for: "
            + ", ".join(missing)
        )


def _at_commit(url: str) -> bool:
    if not url.lower().startswith("git+"):
        return False
    from ..build.git import parse_git_url

    return parse_git_url(url).pins_a_commit


def _resolve(
    reqs: RequirementSet, finder: CandidateFinder, interp: Interpreter, opts: InstallOptions
) -> Resolution:
    requirements = [r.requirement for r in reqs.requirements]
    constraints = [r.requirement for r in reqs.constraints]
    markers = interp.markers
    if not opts.upgrade:
        fast = resolve_pinned(
            requirements, finder, markers=markers, constraints=constraints, no_deps=opts.no_deps
        )
        if fast is not None:
            return fast
    return resolve(
        requirements,
        finder,
        markers=markers,
        constraints=constraints,
        upgrade=opts.upgrade,
        no_deps=opts.no_deps,
        pre=opts.pre or reqs.pre,
    )


def _local_directories(index_urls: list[str], find_links: list[str]) -> list[Path] | None:
    """The find-links directories, when they are the only sources (paths, not URLs)."""
    if index_urls or not find_links or any("://" in location for location in find_links):
        return None
    directories = [Path(location).expanduser().absolute() for location in find_links]
    return directories if all(d.is_dir() for d in directories) else None


def _yanked(resolution: Resolution) -> list[str]:
    """A warning for each chosen file its source marks yanked (an exact pin may select one)."""
    out = []
    for pin in resolution.pins.values():
        if not pin.candidate.yanked:
            continue
        source = pin.candidate.source
        link = source.link if isinstance(source, Indexed | Cached | Sdist) else None
        reason = (link.yanked if link is not None else None) or "<none given>"
        out.append(f"{pin.name}=={pin.version} is yanked. Reason for being yanked: {reason}")
    return out


def _will_download(reqs: RequirementSet, cache: Cache) -> bool:
    """Whether some requirement is likely to need the index: one the cache has no wheel
    of that exact version for (whatever the target), or one not pinned exactly."""
    for r in reqs.requirements:
        if r.url is not None:
            continue
        pin = exact_pin(r.requirement.specifier)
        if pin is None or not cache.cached_wheels(canonicalize_name(r.name), str(pin)):
            return True
    return False


def _start_fetching(
    reqs: RequirementSet,
    finder: CandidateFinder,
    interp: Interpreter,
    opts: InstallOptions,
    cache: Cache,
    hashes: Mapping[str, frozenset[str]],
) -> Fetcher | None:
    """For a pinned set the cache lacks: pages, metadata and downloads, all started now."""
    if opts.offline:
        return None
    pins = uncached_pins([r.requirement for r in reqs.requirements], finder, interp.markers)
    if len(pins) < 2 or finder.index is None:
        return None
    fetcher = Fetcher(cache, finder.index, hashes, len(pins), remote=finder.remote)
    # A set pinned throughout (a lock file) has no dependency left to discover, and
    # its install waits for every download anyway: each pin's metadata is read from
    # its wheel, one request less per package. Elsewhere metadata comes first, so
    # that unpinned dependencies are looked up before the big downloads end.
    pinned = all(
        r.url is None and exact_pin(r.requirement.specifier) is not None for r in reqs.requirements
    )
    if pinned:
        finder.downloaded = fetcher.downloaded
    try:
        prefetch(pins, finder, fetcher, metadata=not pinned)
    except BaseException:
        fetcher.close()
        raise
    return fetcher


def _prefetch_remote_direct(
    direct: dict[str, Direct], finder: CandidateFinder, cache: Cache, opts: InstallOptions
) -> Path | None:
    """Download wheels named by URL before resolving: their metadata lives inside them."""
    if not direct:
        return None  # and cachedb.fetch stays unloaded
    from ..fetch import local_path

    # git URLs are cloned by the builder, not downloaded.
    remote = [
        d for d in direct.values() if local_path(d.url) is None and not d.url.startswith("git+")
    ]
    if not remote:
        return None
    from ..index import Link

    index = finder.index
    if index is None:
        from ..index import IndexClient

        index = IndexClient(index_urls=[], cache_dir=None, network=opts.network())
    staging = cache.layout.tmp / f"direct-{os.getpid()}-{time.monotonic_ns()}"
    staging.mkdir(parents=True)
    links = [Link(d.url, d.filename, {}, None, None, None, d.url) for d in remote]
    for d, got in zip(
        remote, index.download_many([(lk, None) for lk in links], staging), strict=True
    ):
        finder.remote_direct[d.url] = got
    return staging


def _templates(opts: InstallOptions) -> Path | None:
    """Where venv templates are kept, if this install may create a venv."""
    if opts.venv is None:
        return None
    from .._config import resolve_cache_dir
    from ..store.layout import Layout

    layout = Layout(resolve_cache_dir(opts.cache_dir))
    # Not the first thing to write into a cache directory: open_cache makes it properly.
    return layout.interpreters if layout.root.is_dir() else None


def run_install(opts: InstallOptions, reporter: Reporter) -> int:
    """Install ``opts``; return the process exit code (0), raising CachedbError on failure."""
    from ..requirements import collect
    from ..store import open_cache, staging
    from ..target import find_target, start_query

    started = time.perf_counter()
    reqs = collect(
        opts.requirements, opts.requirement_files, opts.constraint_files, editables=opts.editables
    )
    if not reqs.requirements:
        raise UsageError("no requirements given (pass package names or -r FILE)")
    if opts.remote:
        from ..remote import RemoteUrl

        RemoteUrl.parse(opts.remote)  # a bad URL is refused before anything is written
    if opts.link_mode is not None and opts.link_mode not in (
        "clone",
        "hardlink",
        "copy",
        "symlink",
    ):
        raise UsageError(
            f"unknown --link-mode {opts.link_mode!r}; use clone, hardlink, copy or symlink"
        )

    venv_existed = opts.venv is None or Path(opts.venv).exists()
    if opts.target is not None or opts.prefix is not None:
        from . import destinations

        destinations.check(opts)
        python = destinations.interpreter(opts)
    elif opts.dry_run and not venv_existed:
        # Nothing is created: resolve for the interpreter the venv would be made from.
        python = find_target(python=opts.python) if opts.python else Path(sys.executable)
    else:
        python = find_target(
            python=opts.python, venv=opts.venv, seed=opts.seed, templates=_templates(opts)
        )
    try:
        # The interpreter answers on its own while the HTTP client loads. (Not before the
        # cache is open: a read-only cache must be reported as such, before anything writes.)
        with (
            open_cache(opts.cache_dir, opts.db_url) as cache,
            staging.in_use(cache.layout),
            start_query(python, cache.layout.interpreters) as query,
        ):
            return _install_into(
                opts, reporter, reqs, query, cache, started, fresh=not venv_existed
            )
    except BaseException:
        if not venv_existed and opts.venv is not None and not opts.dry_run:
            shutil.rmtree(opts.venv, ignore_errors=True)
        raise


def _install_into(
    opts: InstallOptions,
    reporter: Reporter,
    reqs: RequirementSet,
    query: Query,
    cache: Cache,
    started: float,
    *,
    fresh: bool = False,
) -> int:
    """The install proper; ``fresh``: the environment does not exist yet (a dry run's venv)."""
    from ..link import (
        Archive,
        choose_link_mode,
        install_archive,
        installed_distributions,
        read_archive,
        uninstall,
    )
    from ..store import InstallRecord
    from .building import build_policy, builder_factory
    from .materialize import materialize, note_kept

    direct: dict[str, Direct] = {}
    hashes: dict[str, frozenset[str]] = {}
    for r in [*reqs.requirements, *reqs.constraints]:
        if r.hashes:
            hashes[r.name] = hashes.get(r.name, frozenset()) | r.hashes
        if r.url is not None:
            # The path's last part: `x.whl?token=...` (a signed URL) is a wheel too.
            filename = unquote(urlsplit(r.url).path.rsplit("/", 1)[-1])
            direct[r.name] = Direct(r.url, filename, r.hashes, editable=r.editable)
    index_urls = _index_urls(opts, reqs)
    find_links = [*opts.find_links, *reqs.find_links]

    def make_index() -> IndexClient | None:
        if not index_urls and not find_links:
            return None
        from ..index import IndexClient

        return IndexClient(
            index_urls=index_urls,
            find_links=find_links,
            cache_dir=cache.layout.simple,
            offline=opts.offline,
            refresh=opts.refresh,
            refresh_packages=opts.refresh_packages,
            timeout=opts.timeout,
            concurrency=opts.concurrency,
            max_download_size=opts.max_download_size,
            strategy=opts.index_strategy,
            # A failed run must leave the cache as it was: pages are kept on success only.
            defer_cache_writes=True,
            network=opts.network(),
        )

    from ..target.lock import environment_lock

    # One writer at a time per environment: held from reading what is installed
    # until the new state is recorded.
    with contextlib.ExitStack() as locked:
        # Likely to need the index client (pages to read, or downloads): it is made ready
        # while the interpreter answers. Only pins a find-links directory alone answers
        # need it not.
        local_dirs = _local_directories(index_urls, find_links)
        needs_index = not opts.offline and (local_dirs is None or _will_download(reqs, cache))
        early = make_index() if needs_index else None
        try:
            if early is not None and _will_download(reqs, cache):
                early.connect()
            interp = query.result()
            if opts.target is not None or opts.prefix is not None:
                from .destinations import rebase

                interp = rebase(interp, opts)
            if not opts.dry_run:  # a dry run writes nothing, not even a lock file
                locked.enter_context(
                    environment_lock(
                        Path(interp.prefix),
                        cache.layout.locks,
                        wait=opts.wait,
                        waiting=reporter.info,
                    )
                )
        except BaseException:
            if early is not None:
                early.close()
            raise
        installed = {} if fresh and opts.dry_run else installed_distributions(interp.scheme)
        reinstall: set[str] = {canonicalize_name(n) for n in opts.reinstall_packages}
        if hashes and installed:
            # Another build of a version a lock pins is not what the lock asks for.
            recorded = cache.installed_archives(interp.prefix)
            reinstall |= _other_builds(installed, hashes, recorded, cache.layout.archive_dir)
        # What is to be reinstalled must not be offered as already there (--reinstall: nothing).
        usable = (
            {} if opts.reinstall else {k: v for k, v in installed.items() if k not in reinstall}
        )
        remote = None
        if opts.remote and not opts.offline:  # --offline asks no network, the remote included
            from ..remote.tier import RemoteTier

            remote = RemoteTier(
                opts.remote,
                push=opts.remote_push,
                tags=interp.tags,
                warn=reporter.warn,
                timeout=opts.timeout,
                hashes=hashes,
                tmp=cache.layout.tmp,
            )
        finder = CandidateFinder(
            cache=cache,
            tags=interp.tags,
            installed=usable,
            direct=direct,
            index=make_index if early is None else (lambda: early),
            offline=opts.offline,
            python_version=interp.version,
            builder=builder_factory(
                cache, interp, opts, index_urls, find_links, reporter.info, remote=remote
            ),
            policy=build_policy(opts),
            local_dirs=local_dirs,
            local_hashes=LocalHashes(cache.layout.simple / "local-files"),
            refresh=opts.refresh,
        )
        finder.remote = remote
        staging: Path | None = None
        kept: list[str] = []
        fetcher: Fetcher | None = None
        held: list[int] = []
        try:
            staging = _prefetch_remote_direct(direct, finder, cache, opts)
            if not opts.dry_run:  # a dry run downloads only what resolving needs
                fetcher = _start_fetching(reqs, finder, interp, opts, cache, hashes)
            resolution = _resolve(reqs, finder, interp, opts)
            if opts.no_deps:
                for pin in resolution.pins.values():
                    finder.check_python(pin.candidate)
            resolved_at = time.perf_counter()
            reporter.info(
                f"Resolved {_count(len(resolution.pins))} in {_secs(resolved_at - started)}"
            )
            if opts.offline:
                reporter.info(
                    "Offline (--offline): the cache was the only source; no index was asked"
                )
            for message in _yanked(resolution):
                reporter.warn(message)
            require_hashes = opts.require_hashes or reqs.require_hashes or bool(hashes)
            if require_hashes:
                _check_hash_mode(reqs, resolution, hashes)

            todo: list[Pin] = []
            for pin in resolution.pins.values():
                have = usable.get(pin.name)
                if (
                    have is not None
                    and Version(have[0]) == pin.version
                    # What the user named by path or URL is always (re)installed, as in pip.
                    and not isinstance(pin.candidate.source, Direct | Built)
                ):
                    continue
                if isinstance(pin.candidate.source, Installed):
                    continue
                todo.append(pin)
            # --exact: what the requirements do not resolve to goes.
            extraneous = _extraneous(installed, resolution) if opts.exact else []
            if opts.dry_run:
                if opts.report is not None:
                    _write_report(opts.report, todo, finder, interp, cache, None)
                finder.commit()
                _tell_dry_run(reporter, todo, installed, extraneous)
                return 0
            if not todo and not extraneous:
                if opts.report is not None:
                    _write_report(opts.report, [], finder, interp, cache, None)
                finder.commit()
                took = _secs(time.perf_counter() - started)
                reporter.info(f"Audited {_count(len(resolution.pins))} in {took}")
                if opts.compile_bytecode:
                    _compile(interp, reporter)
                return 0

            ready = materialize(
                todo,
                cache=cache,
                finder=finder,
                hashes=hashes,
                leases=held,
                progress=reporter,
                fetcher=fetcher,
            )
            reporter.stop()
            # Stored by this run: if linking fails they stay (valid, immutable), said so below.
            kept = [item.archive_id for item in ready if item.fetched]
            fetched = len(kept)
            prepared_at = time.perf_counter()
            if fetched:
                reporter.info(f"Prepared {_count(fetched)} in {_secs(prepared_at - resolved_at)}")

            warned: list[str] = []
            mode = choose_link_mode(
                opts.link_mode, cache.layout.archives, Path(interp.scheme["purelib"]), warned.append
            )
            for message in warned[:1]:
                reporter.warn(message)

            prefix = Path(interp.prefix)
            removed: list[tuple[str, str]] = []
            records: list[InstallRecord] = []
            reporter.start("Installing", len(ready))
            for item in ready:
                old = installed.get(item.pin.name)
                if old is not None:
                    uninstall(item.pin.name, interp.scheme, prefix)
                    removed.append((item.pin.name, old[0]))
            for name in extraneous:
                uninstall(name, interp.scheme, prefix)
                removed.append((name, installed[name][0]))

            # Read before linking starts, so the archives are split between the two linking
            # processes by their number of files.
            archives = [read_archive(item.path.absolute()) for item in ready]

            major, minor = interp.markers["python_version"].split(".")[:2]
            target_version = (int(major), int(minor))

            def link(job: tuple[Ready, Archive]) -> InstallRecord:
                item, archive = job
                install_archive(
                    archive,
                    scheme=interp.scheme,
                    python_executable=interp.executable,
                    python_version=target_version,
                    link_mode=mode,
                    requested=item.pin.requested,
                    direct_url=item.direct_url,
                )
                reporter.advance(item.pin.name)
                return InstallRecord(item.archive_id, item.pin.name, str(item.pin.version), mode)

            jobs = list(zip(ready, archives, strict=True))
            records.extend(on_two_processes(link, jobs, [len(a.files) for a in archives], "link"))
            reporter.stop()
            cache.record_install(str(prefix), interp.executable, records, [n for n, _ in removed])
            if opts.report is not None:
                _write_report(opts.report, todo, finder, interp, cache, ready)
            kept = []
            finder.commit()
        finally:
            if kept:
                note_kept(cache, interp.prefix, kept)
            reporter.stop()
            if fetcher is not None:
                fetcher.close()
            finder.close()
            cache.release(held)
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)

        elapsed = time.perf_counter() - prepared_at
        if extraneous:
            reporter.info(f"Uninstalled {_count(len(extraneous))}")
        reporter.info(f"Installed {_count(len(records))} in {_secs(elapsed)}")
        old_versions = dict(removed)
        for name in extraneous:
            reporter.change("-", f"{name}=={old_versions[name]}")
        for rec in sorted(records, key=lambda r: r.name):
            if rec.name in old_versions:
                reporter.change("-", f"{rec.name}=={old_versions[rec.name]}")
            reporter.change("+", f"{rec.name}=={rec.version}")
        if opts.compile_bytecode:
            _compile(interp, reporter)
        return 0


def _compile(interp: Interpreter, reporter: Reporter) -> None:
    from .bytecode import compile_bytecode

    started = time.perf_counter()
    if compile_bytecode(interp.executable, interp.scheme):
        reporter.info(f"Bytecode compiled in {_secs(time.perf_counter() - started)}")
    else:
        reporter.warn("some files could not be compiled to bytecode")


def _tell_dry_run(
    reporter: Reporter,
    todo: list[Pin],
    installed: Mapping[str, tuple[str, Path]],
    extraneous: list[str],
) -> None:
    if not todo and not extraneous:
        reporter.info("Would make no changes")
    if extraneous:
        reporter.info(f"Would uninstall {_count(len(extraneous))}")
    if todo:
        reporter.info(f"Would install {_count(len(todo))}")
    lines = [(name, f" - {name}=={installed[name][0]}") for name in extraneous]
    for pin in todo:
        if pin.name in installed:
            lines.append((pin.name, f" - {pin.name}=={installed[pin.name][0]}"))
        lines.append((pin.name + "\0", f" + {pin.name}=={pin.version}"))
    for _, line in sorted(lines):
        reporter.info(line)
    reporter.info("Dry run: nothing was changed")


def _write_report(
    destination: str,
    pins: list[Pin],
    finder: CandidateFinder,
    interp: Interpreter,
    cache: Cache,
    ready: list[Ready] | None,
) -> None:
    from .._redact import redact_url
    from . import install_report
    from .sources import Cached, Indexed, Sdist

    direct_urls = {item.pin.name: item.direct_url for item in ready or []}
    entries = []
    for pin in pins:
        source = pin.candidate.source
        info: dict[str, object]
        link = source.link if isinstance(source, Indexed | Sdist | Cached) else None
        if link is not None:
            info = {"url": redact_url(link.url)}
            hashes = dict(link.hashes)
            if isinstance(source, Cached):
                hashes.setdefault("sha256", source.wheel.archive_id)  # the wheel's digest
            archive: dict[str, object] = {"hashes": hashes} if hashes else {}
            if "sha256" in hashes:
                archive["hash"] = f"sha256={hashes['sha256']}"
            info["archive_info"] = archive
        elif isinstance(source, Cached):
            # Offline, no source offered it: the cache's unpacked wheel is all there is.
            info = {
                "url": cache.archive_path(source.wheel.archive_id).as_uri(),
                "archive_info": {"hashes": {"sha256": source.wheel.archive_id}},
            }
        elif direct_urls.get(pin.name) is not None:
            info = dict(direct_urls[pin.name] or {})
        else:
            url = source.url if isinstance(source, Direct) else ""
            info = {"url": redact_url(url)}
        entries.append(
            install_report.entry(
                download_info=info,
                is_direct=isinstance(source, Direct | Built),
                is_yanked=pin.candidate.yanked,
                requested=pin.requested,
                extras=pin.extras,
                metadata=finder.metadata(pin.candidate),
            )
        )
    install_report.write(destination, entries, interp.markers)


def _other_builds(
    installed: Mapping[str, tuple[str, Path]],
    hashes: Mapping[str, frozenset[str]],
    recorded: Mapping[str, str],
    archive_dir: Callable[[str], Path],
) -> set[str]:
    """Installed distributions that are not the build their ``--hash`` values allow.

    cachedb records which archive (the wheel's sha256) it installed: where a lock's
    hashes do not include it, the version may be right but the files are another
    build's, and the lock's build must replace it. A wheel cachedb built from an
    sdist the lock hashes is that lock's build: its archive says which sdist.
    """
    from ..build.provenance import read_revision
    from ..build.sources import SDIST

    out: set[str] = set()
    for name in installed:
        allowed, archive = hashes.get(name), recorded.get(name)
        if not allowed or archive is None or f"sha256:{archive}" in allowed:
            continue
        source = read_revision(archive_dir(archive))
        if source is None or source[0] != SDIST or f"sha256:{source[1]}" not in allowed:
            out.add(name)
    return out


# Installers a lock file need not list: an exact install leaves them, as pip-sync does.
_KEPT_BY_EXACT = frozenset({"pip", "setuptools", "wheel"})


def _extraneous(installed: Mapping[str, tuple[str, Path]], resolution: Resolution) -> list[str]:
    """What an exact install removes: every distribution the resolution does not pin."""
    return sorted(n for n in installed if n not in resolution.pins and n not in _KEPT_BY_EXACT)


__all__ = ["InstallOptions", "run_install"]
