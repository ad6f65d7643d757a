"""Nothing to do: the install whose every requirement the environment already meets.

uv answers ``pip install X`` with X installed without a resolver, the network or
its cache, and so does this module: it walks the request through the target's
installed distributions (markers evaluated for the target, each one's
Requires-Dist with the extras asked, recursively), and where every name it
reaches is installed at a version every specifier on it allows, the full
pipeline would resolve to exactly those distributions (installed candidates come
first when nothing asks to upgrade, an installed pre-release is selectable) and
link nothing. It answers only what it can prove: anything else (an upgrade or
reinstall, a dry run, hashes, a direct reference or editable, a target it cannot
read from the cache, a missing or mismatched distribution, unreadable metadata,
an environment another process is changing) returns None and the full pipeline
runs. ``tests/test_noop_equals_full.py`` compares both on random environments.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from .options import InstallOptions

if TYPE_CHECKING:
    from ..store.layout import Layout
    from ..target import Interpreter
    from .request import Request

_BASE = ""  # stands for "the base dependencies" among a project's extras


def nothing_to_do(opts: InstallOptions, request: Request) -> int | None:
    """The number of distributions the request resolves to, when the environment already
    holds them all as the full pipeline would keep them; None when not proven."""
    if not _may_answer(opts, request):
        return None
    interp = _cached_interpreter(opts)
    if interp is None:
        return None
    from ..target.lock import environment_lock

    try:
        # The full pipeline reads the environment under the writers' lock; so does this,
        # but never waits: a busy environment is left to the pipeline (it waits or says why).
        with environment_lock(Path(interp.prefix), _layout(opts).locks, wait=False, waiting=_never):
            return _closure_size(opts, request, interp)
    except Exception:  # noqa: BLE001 - whatever fails here, the pipeline says in its words
        return None


def _never(message: str) -> None:  # pragma: no cover - wait=False never waits
    raise AssertionError(message)


def _may_answer(opts: InstallOptions, request: Request) -> bool:
    """Whether nothing in the options or request asks for more than keeping what is there."""
    reqs = request.reqs
    return not (
        opts.upgrade
        or opts.reinstall
        or opts.reinstall_packages
        or opts.dry_run  # says what it would do, in its own words
        or opts.report is not None
        or opts.compile_bytecode
        or opts.exact  # may remove distributions
        or opts.target is not None
        or opts.prefix is not None
        or opts.offline  # says so in a line of its own
        or opts.refresh
        or opts.refresh_packages
        or opts.remote
        or opts.require_hashes
        or reqs.require_hashes
        or request.hashes
        or request.direct
        or any(r.url is not None or r.editable for r in (*reqs.requirements, *reqs.constraints))
        or (opts.venv is not None and not Path(opts.venv).exists())  # would be created
    )


def _layout(opts: InstallOptions) -> Layout:
    from .._config import resolve_cache_dir
    from ..store.layout import Layout

    return Layout(resolve_cache_dir(opts.cache_dir))


def _cached_interpreter(opts: InstallOptions) -> Interpreter | None:
    """The target's answer as the cache holds it (still valid), else None: asking the
    interpreter is the pipeline's job."""
    from ..errors import CachedbError
    from ..target import cache
    from ..target.discover import find_target

    try:
        layout = _layout(opts)
        if not layout.root.is_dir() or not os.access(layout.root, os.W_OK):
            return None  # the pipeline makes the cache, or says it cannot write it
        layout.check()
        exe = str(find_target(python=opts.python, venv=opts.venv).expanduser().absolute())
    except (CachedbError, OSError):
        return None
    stamp = cache.stamp_executable(exe)
    if stamp is None:
        return None
    return cache.load(layout.interpreters, exe, stamp)


def _closure_size(opts: InstallOptions, request: Request, interp: Interpreter) -> int | None:
    from packaging.version import Version

    from ..link.uninstall import installed_distributions
    from ..resolve._select import dependencies_for, merge
    from .metadata import dist_info_metadata, requires_dist

    markers = interp.markers
    installed = installed_distributions(interp.scheme)
    limits = merge([r.requirement for r in request.reqs.constraints], markers)
    queue = list(merge([r.requirement for r in request.reqs.requirements], markers).values())
    versions: dict[str, Version] = {}
    expanded: dict[str, set[str]] = {}
    while queue:
        want = queue.pop()
        have = installed.get(want.name)
        if have is None:
            return None
        version = versions.get(want.name)
        if version is None:
            version = versions[want.name] = Version(have[0])
            limit = limits.get(want.name)
            if limit is not None and not limit.specifier.contains(version, prereleases=True):
                return None
        if not want.specifier.contains(version, prereleases=True):
            return None
        seen = expanded.setdefault(want.name, set())
        fresh = ({_BASE} | want.extras) - seen
        seen.update(fresh)
        if opts.no_deps or not fresh:
            continue
        deps = requires_dist(dist_info_metadata(have[1]), want.name)
        for extra in sorted(fresh):
            extras = frozenset() if extra == _BASE else frozenset({extra})
            queue.extend(dependencies_for(deps, extras, markers))
    return len(versions)


__all__ = ["nothing_to_do"]
