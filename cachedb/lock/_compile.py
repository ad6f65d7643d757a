"""``cachedb compile``: inputs → target → resolve → files and hashes → a lock file.

It reads through the same cache as ``install`` (index pages within their HTTP
lifetime, metadata, wheels and builds) and changes no environment.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.version import Version

from .._names import canonical_name
from ..errors import UsageError
from ..install.report import Reporter, count, duration
from ..requirements._collect import is_pylock
from ..resolve._prereleases import MODES
from . import _memo
from ._options import FORMATS, RESOLUTIONS, CompileOptions
from ._output import write_output
from ._target import target_python

if TYPE_CHECKING:
    from ..build.builder import Builder
    from ..index import IndexClient, Link
    from ..install.finder import CandidateFinder
    from ..install.locations import Sources
    from ..install.sources import Direct
    from ..store import Cache
    from ..target import Interpreter
    from ._files import LockedFile
    from ._inputs import LockInputs
    from ._model import Lock, LockedPackage
    from ._target import LockTarget


def output_format(opts: CompileOptions) -> str:
    if opts.format is not None:
        if opts.format not in FORMATS:
            raise UsageError(f"unknown --format {opts.format!r}; use {' or '.join(FORMATS)}")
        return opts.format
    if opts.output is not None and is_pylock(Path(opts.output)):
        return "pylock.toml"
    return "requirements.txt"


def run_compile(opts: CompileOptions, reporter: Reporter) -> int:
    from ..store import open_cache, staging
    from ..target import start_query
    from ._inputs import read_inputs
    from ._target import lock_target

    started = time.perf_counter()
    if opts.resolution not in RESOLUTIONS:
        raise UsageError(f"unknown --resolution {opts.resolution!r}; use {', '.join(RESOLUTIONS)}")
    if opts.prerelease is not None and opts.prerelease not in MODES:
        raise UsageError(f"unknown --prerelease {opts.prerelease!r}; use {', '.join(MODES)}")
    fmt = output_format(opts)
    if not opts.sources:
        raise UsageError("no input given (pass requirements.in, pyproject.toml or requirements)")
    inputs = read_inputs(
        opts.sources,
        constraints=opts.install.constraint_files,
        overrides=opts.overrides,
        extras=opts.extras,
        all_extras=opts.all_extras,
        groups=opts.groups,
    )
    if not inputs.requirements.requirements:
        raise UsageError("the inputs name no requirement")
    remembered = _memo.key(opts) if _memo.may_remember(opts) else None
    if remembered is not None:
        existing = remembered.output
    elif opts.output is not None and opts.output != "-":
        existing = _memo.read_regular(opts.output, strict=False)[0]
    else:
        existing = None
    preferred = _existing_pins(opts, existing)
    python = target_python(opts)
    with (
        open_cache(opts.install.cache_dir, opts.install.db_url) as cache,
        staging.in_use(cache.layout),
        start_query(python, cache.layout.interpreters) as query,
    ):
        interp = query.result()
        target = lock_target(interp, opts.python_version, opts.python_platform)
        lock, pages = _lock(opts, inputs, interp, target, preferred, cache, reporter)
    text = _render(lock, fmt, opts)
    elapsed = time.perf_counter() - started
    reporter.info(f"Resolved {count(len(lock.packages))} in {duration(elapsed)}")
    write_output(opts, text)
    if remembered is not None:
        _memo.remember(opts, remembered, pages, text, len(lock.packages))
    return 0


def _existing_pins(opts: CompileOptions, existing: bytes | None) -> dict[str, Version]:
    """The pins of the output file (``existing``: its bytes, as the memo's key read them)
    that are kept unless an upgrade is asked for."""
    if opts.install.upgrade or existing is None or opts.output is None:
        return {}
    path = Path(opts.output)
    from ..requirements import collect, parse_requirements_file
    from ..resolve import exact_pin

    if is_pylock(path):
        found = collect([], [str(path)])
    else:
        found = parse_requirements_file(path, data=existing)
    upgrade = {canonical_name(n) for n in opts.upgrade_packages}
    pins: dict[str, Version] = {}
    for req in found.requirements:
        version = exact_pin(req.requirement.specifier)
        if version is not None and req.name not in upgrade:
            pins[req.name] = version
    return pins


def _lock(
    opts: CompileOptions,
    inputs: LockInputs,
    interp: Interpreter,
    target: LockTarget,
    preferred: dict[str, Version],
    cache: Cache,
    reporter: Reporter,
) -> tuple[Lock, list[list[Any]] | None]:
    """The lock, and the cached pages it rested on if ``_memo`` may remember it."""
    from ..install.building import build_policy
    from ..install.finder import CandidateFinder
    from ..install.locations import sources
    from ..install.request import references
    from ..resolve import resolve
    from ._finder import LockFinder
    from ._graph import required_by
    from ._model import Lock, LockedPackage

    reqs = inputs.requirements
    where = sources(opts.install, reqs)
    index_urls, find_links = where
    index = _index(opts, cache, where)
    direct = references(reqs.requirements).direct
    inner = CandidateFinder(
        cache=cache,
        tags=target.tags,
        installed={},
        direct=direct,
        index=lambda: index,
        offline=opts.install.offline,
        python_version=target.python_full_version,
        builder=_builder(opts, cache, interp, index_urls, find_links, reporter),
        policy=build_policy(opts.install),
    )
    overrides = {o.name: o.requirement for o in inputs.overrides}
    finder = LockFinder(inner, preferred=preferred, overrides=overrides)
    staging_dir = cache.layout.tmp / f"compile-{os.getpid()}-{time.monotonic_ns()}"
    prefetched: Path | None = None
    try:
        if direct:  # the download machinery is loaded only for wheels named by URL
            from ..install.prefetch import download_direct

            prefetched = download_direct(direct, inner, cache, opts.install)
        top = [overrides.get(r.name, r.requirement) for r in reqs.requirements]
        constraints = [r.requirement for r in reqs.constraints]
        pre = opts.install.pre or reqs.pre
        resolution = None
        if preferred and not direct and opts.resolution == "highest" and not opts.install.offline:
            from ._preferred import resolve_preferred

            resolution = resolve_preferred(
                top,
                finder,
                markers=target.markers,
                constraints=constraints,
                preferred=preferred,
                pre=pre,
                prerelease=opts.prerelease,
            )
        if resolution is None:
            resolution = resolve(
                top,
                finder,
                markers=target.markers,
                constraints=constraints,
                pre=pre,
                resolution=opts.resolution,
                prerelease=opts.prerelease,
            )
        parents = required_by(resolution, finder, target.markers)
        packages = []
        for name in sorted(resolution.pins):
            pin = resolution.pins[name]
            via = sorted(parents[name]) + sorted(inputs.labels.get(name, ()))
            ref = direct.get(name)
            if ref is not None:
                packages.append(_direct_package(name, pin.version, via, ref, inner, reporter))
                continue
            files = _files(index, inner.rank, name, pin.version, staging_dir)
            origin = files[0].link.source if files else None
            packages.append(
                LockedPackage(
                    name,
                    pin.version,
                    files,
                    via,
                    index_url=origin if origin in index_urls else None,
                )
            )
        inner.commit()
        pages = _memo.rested_on(index, inner) if not direct else None
    finally:
        inner.close()
        _remove(staging_dir, prefetched)
    lock = Lock(
        packages=packages,
        command=opts.command,
        python_version=target.python_version,
        index_urls=index_urls,
        find_links=find_links,
    )
    return lock, pages


def _remove(*directories: Path | None) -> None:
    """The run's scratch directories, where there are any (``shutil`` is loaded only then)."""
    made = [d for d in directories if d is not None and d.exists()]
    if made:
        import shutil

        for directory in made:
            shutil.rmtree(directory, ignore_errors=True)


def _files(
    index: IndexClient | None,
    rank: Callable[[str], int | None],
    name: str,
    version: Version,
    staging_dir: Path,
) -> list[LockedFile]:
    """Every file of ``name==version`` the sources offer that fits the target, hashed."""
    from ._files import hashed, version_files

    if index is None:
        return []
    links = version_files(index.project_links(name), name, version, lambda f: rank(f) is not None)
    return hashed(index, links, staging_dir)


def _direct_package(
    name: str,
    version: Version,
    via: list[str],
    ref: Direct,
    inner: CandidateFinder,
    reporter: Reporter,
) -> LockedPackage:
    """A pin the user named by path or URL, as the lock writes it (never with credentials)."""
    from .._redact import redact_url
    from ..build.sources import GIT
    from ..fetch._urls import shareable_url
    from ._model import LockedPackage

    url = shareable_url(ref.url)
    got = inner.remote_direct.get(ref.url)
    archive = [] if got is None else [_direct_file(url, ref, got.sha256, got.size)]
    located = inner.building.located.get(ref.url)
    commit = located.revision if located is not None and located.kind == GIT else None
    if url != ref.url:
        reporter.warn(
            f"{redact_url(ref.url)}: its credentials and query are not written to "
            "the lock, a file to share (an install from it gets credentials from "
            ".netrc or the keyring)"
        )
    return LockedPackage(name, version, archive, via, url, ref.editable, commit=commit)


def _direct_file(url: str, ref: Direct, sha256: str, size: int) -> LockedFile:
    """A ``name @ url`` archive (``url`` as the lock writes it) as its one locked file."""
    from ..index import Link
    from ._files import LockedFile

    link = Link(url, ref.filename, {"sha256": sha256}, None, None, None, url, size)
    return LockedFile(link, sha256)


def _builder(
    opts: CompileOptions,
    cache: Cache,
    interp: Interpreter,
    index_urls: list[str],
    find_links: list[str],
    reporter: Reporter,
) -> Callable[[], Builder]:
    from ..install.building import builder_factory

    return builder_factory(
        cache, interp, opts.install, index_urls, find_links, reporter.info, metadata_only=True
    )


def _index(opts: CompileOptions, cache: Cache, where: Sources) -> IndexClient | None:
    if not where.index_urls and not where.find_links:
        return None
    from ..index import IndexClient
    from ..install.locations import index_client

    cutoff = opts.exclude_newer

    class Client(IndexClient):
        def project_links(self, name: str) -> list[Link]:
            from ._finder import uploaded_before

            return [lk for lk in super().project_links(name) if uploaded_before(lk, cutoff)]

    return index_client(
        opts.install, where, cache.layout.simple, kind=Client, scratch=cache.layout.tmp
    )


def _render(lock: Lock, fmt: str, opts: CompileOptions) -> str:
    if fmt == "pylock.toml":
        from ._pylock import render_pylock

        return render_pylock(lock)
    from ._requirements_txt import render_requirements

    return render_requirements(
        lock,
        hashes=opts.generate_hashes,
        annotate=opts.annotate,
        header=opts.header,
        emit_index_url=opts.emit_index_url,
    )
