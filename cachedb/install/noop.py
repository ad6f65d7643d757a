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
from collections.abc import Callable
from pathlib import Path

from .options import LINK_MODES, InstallOptions

TYPE_CHECKING = False  # typing's, without importing typing (about 12M instructions)
if TYPE_CHECKING:
    from typing import Any

    from .._pep508 import Requirement
    from .._plain_values import Release
    from ..store.layout import Layout
    from ..target import Interpreter
    from .request import Request

    # The target's executable, its stamp and answer as the interpreter cache holds them.
    Found = tuple[str, dict[str, Any], Interpreter, Layout]

_BASE = ""  # stands for "the base dependencies" among a project's extras
# What installed_distributions finds: canonical name -> (version, dist-info directory).
Installed = dict[str, tuple[str, Path]]


class Known:
    """The target as the interpreter cache knows it (``_cached_interpreter``), looked up
    at most once for the shortcuts of one run."""

    def __init__(self, opts: InstallOptions) -> None:
        self.opts = opts
        self._asked = False
        self._found: Found | None = None

    def found(self) -> Found | None:
        if not self._asked:
            self._found = _cached_interpreter(self.opts)
            self._asked = True
        return self._found


def remembered(opts: InstallOptions, known: Known | None = None) -> int | None:
    """``nothing_to_do``'s earlier answer to the same request, if nothing it read has
    changed since (``noop_memo``); None otherwise."""
    if not _may_answer(opts):
        return None
    found = (known or Known(opts)).found()
    if found is None:
        return None
    from .noop_memo import recall

    exe, stamp, interp, layout = found
    return _locked(interp, layout, lambda: recall(opts, layout.interpreters, exe, stamp))


def plainly_nothing_to_do(opts: InstallOptions, known: Known | None = None) -> int | None:
    """``nothing_to_do``'s answer, read without packaging where every requirement and
    every Requires-Dist it reaches is plain (``_pep508.read_plain``, releases only); None where not
    (then ``nothing_to_do`` reads the request with packaging and answers)."""
    if not _may_answer(opts) or opts.constraint_files:
        return None
    if opts.link_mode is not None and opts.link_mode not in LINK_MODES:
        return None  # collect_request says why
    wanted = _plain_request(opts)
    if not wanted:
        return None
    return _answer(
        opts,
        known,
        lambda installed, interp: _plain_closure(opts, wanted, installed, interp.markers),
    )


def _plain_request(opts: InstallOptions) -> list[Requirement] | None:
    """The requirements (arguments, then files), if each one is plain (releases only),
    without extras or a marker, and names no file; None otherwise."""
    from .._pep508 import read_plain
    from ..requirements._project import names_a_file

    texts = [text.strip() for text in opts.requirements]
    for name in opts.requirement_files:
        lines = _plain_file_lines(name)
        if lines is None:
            return None
        texts += lines
    out = []
    for text in texts:
        req = read_plain(text, releases_only=True)
        if req is None or req.extras or req.marker is not None or names_a_file(req.name):
            return None
        out.append(req)
    return out


def _plain_file_lines(name: str) -> list[str] | None:
    """The requirement lines of a regular requirements file holding no option, no
    variable, no include; None for anything else (a pipe is never read here)."""
    from .._memo import read_regular
    from ..requirements._lines import COMMENT, FIRST_OPTION, MAX_FILE, logical_lines

    if name == "-" or name.endswith(".toml"):
        return None  # standard input; a pylock.toml
    # Never opened unless regular: a named pipe would block, or lose what it holds.
    data = read_regular(os.path.abspath(name), strict=False)[0]
    if data is None or len(data) > MAX_FILE:
        return None
    try:
        text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except ValueError:
        return None
    lines = []
    for _, raw in logical_lines(text):
        line = COMMENT.sub("", raw).strip()
        if "$" in line or FIRST_OPTION.search(line):
            return None
        if line:
            lines.append(line)
    return lines


def _plain_closure(
    opts: InstallOptions,
    wanted: list[Requirement],
    installed: Installed,
    markers: dict[str, str],
) -> list[Path] | None:
    """``_closure`` for plain requirements: None where anything is not plain too."""
    from .._headers import header_values
    from .._names import canonical_name
    from .._pep508 import read_plain
    from .._plain_values import contains, plain_release
    from ..wheel.dist_info import dist_info_metadata

    queue = list(wanted)
    versions: dict[str, Release] = {}
    while queue:
        want = queue.pop()
        name = canonical_name(want.name)
        have = installed.get(name)
        if have is None:
            return None
        version = versions.get(name)
        first = version is None
        if version is None:
            version = plain_release(have[0])
            if version is None:
                return None
            versions[name] = version
        if want.releases is None or not contains(want.releases, version):
            return None
        if not first or opts.no_deps:
            continue
        metadata = dist_info_metadata(have[1])
        if metadata is None:
            return None
        for value in header_values(metadata, "Requires-Dist"):
            dep = read_plain(value, releases_only=True)
            if dep is None or dep.extras:
                return None
            applies = True if dep.marker is None else dep.marker.holds(markers)
            if applies is None:
                return None
            if applies:
                queue.append(dep)
    return [installed[name][1] for name in versions]


def nothing_to_do(opts: InstallOptions, request: Request, known: Known | None = None) -> int | None:
    """The number of distributions the request resolves to, when the environment already
    holds them all as the full pipeline would keep them; None when not proven."""
    if not _may_answer(opts) or not _plain(request):
        return None
    return _answer(
        opts, known, lambda installed, interp: _closure(opts, request, interp, installed)
    )


def _answer(
    opts: InstallOptions,
    known: Known | None,
    closure_of: Callable[[Installed, Interpreter], list[Path] | None],
) -> int | None:
    """How many distributions ``closure_of`` finds installed for the request (None: not
    proven), read under the environment's lock and remembered for the next run."""
    found = (known or Known(opts)).found()
    if found is None:
        return None
    from ..link.uninstall import installed_distributions
    from .noop_memo import remember

    exe, stamp, interp, layout = found

    def answer() -> int | None:
        installed = installed_distributions(interp.scheme)
        closure = closure_of(installed, interp)
        if closure is None:
            return None
        remember(opts, layout.interpreters, exe, stamp, interp, closure, len(installed))
        return len(closure)

    return _locked(interp, layout, answer)


def _locked(interp: Interpreter, layout: Layout, answer: Callable[[], int | None]) -> int | None:
    from ..target.lock import environment_lock

    try:
        # The full pipeline reads the environment under the writers' lock; so does this,
        # but never waits: a busy environment is left to the pipeline (it waits or says why).
        with environment_lock(Path(interp.prefix), layout.locks, wait=False, waiting=_never):
            return answer()
    except Exception:  # noqa: BLE001 - whatever fails here, the pipeline says in its words
        return None


def _never(message: str) -> None:  # pragma: no cover - wait=False never waits
    raise AssertionError(message)


def _may_answer(opts: InstallOptions) -> bool:
    """Whether nothing in the options asks for more than keeping what is there."""
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
        or opts.editables
        or (opts.venv is not None and not Path(opts.venv).exists())  # would be created
    )


def _plain(request: Request) -> bool:
    """Whether the request names every requirement by name alone, without hashes."""
    reqs = request.reqs
    return not (
        reqs.require_hashes
        or request.hashes
        or request.direct
        or any(r.url is not None or r.editable for r in (*reqs.requirements, *reqs.constraints))
    )


def _cached_interpreter(
    opts: InstallOptions,
) -> Found | None:
    """The target (its path, stamp and answer as the cache holds it, still valid), else
    None: asking the interpreter is the pipeline's job."""
    from ..errors import CachedbError
    from ..store.layout import Layout
    from ..target import cache
    from ..target.discover import find_target

    try:
        layout = Layout.of(opts.cache_dir)
        if not layout.root.is_dir() or not os.access(layout.root, os.W_OK):
            return None  # the pipeline makes the cache, or says it cannot write it
        layout.check()
        exe = str(find_target(python=opts.python, venv=opts.venv).expanduser().absolute())
    except (CachedbError, OSError):
        return None
    stamp = cache.stamp_executable(exe)
    if stamp is None:
        return None
    interp = cache.load(layout.interpreters, exe, stamp)
    return None if interp is None else (exe, stamp, interp, layout)


def _closure(
    opts: InstallOptions, request: Request, interp: Interpreter, installed: Installed
) -> list[Path] | None:
    """The dist-info directories of what the request resolves to, if all installed."""
    from packaging.version import Version

    from ..resolve._select import dependencies_for, merge
    from .metadata import dist_info_metadata, requires_dist

    markers = interp.markers
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
        # Only the lines the fresh extras (or the base) may need: the rest stay unparsed.
        asked = frozenset(fresh - {_BASE})
        deps = requires_dist(dist_info_metadata(have[1]), want.name, asked)
        for extra in sorted(fresh):
            extras = frozenset() if extra == _BASE else frozenset({extra})
            queue.extend(dependencies_for(deps, extras, markers))
    return [installed[name][1] for name in versions]


__all__ = ["Known", "nothing_to_do", "plainly_nothing_to_do", "remembered"]
