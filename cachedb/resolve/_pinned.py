"""The warm-path resolver: a fully pinned closure, settled without resolvelib.

It only ever asks the finder about exact ``==V`` pins, so a finder backed by the
cache can answer without touching the network. Anything that would need a
choice (a range no pin satisfies, two versions matching one pin, a conflict)
returns None and the caller runs the full ``resolve()``, which also explains errors.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence

from packaging.specifiers import SpecifierSet

from cachedb._pep508 import Requirement
from cachedb.resolve._model import CandidateInfo, Finder, Pin, Resolution, exact_pin
from cachedb.resolve._order import ordered
from cachedb.resolve._select import Wanted, dependencies_for, merge, python_version, selectable

_BASE = ""  # stands for "the base dependencies" among a project's extras


def resolve_pinned(
    requirements: Sequence[Requirement],
    finder: Finder,
    *,
    markers: Mapping[str, str],
    constraints: Sequence[Requirement] = (),
    no_deps: bool = False,
) -> Resolution | None:
    """Resolve a closure in which every version is fixed by an ``==`` pin, else None."""
    wanted = merge(requirements, markers)
    limits = merge(constraints, markers)
    python = python_version(markers)
    chosen: dict[str, CandidateInfo] = {}
    expanded: dict[str, set[str]] = {}  # extras (and _BASE) whose dependencies are queued
    edges: dict[str, set[str]] = {}
    queue: deque[tuple[Wanted, str | None]] = deque((w, None) for w in wanted.values())
    deferred: list[tuple[Wanted, str | None]] = []
    # Each name's Requires-Dist, read for the extras asked of it so far (lines only other
    # extras need are left unparsed: read again if one of those is asked later).
    metadata: dict[str, tuple[frozenset[str], list[Requirement]]] = {}

    while queue or deferred:
        if not queue:
            # Every pin is placed: each remaining range must be met by one of them.
            if any(w.name not in chosen for w, _ in deferred):
                return None
            queue.extend(deferred)
            deferred = []
        want, parent = queue.popleft()
        if parent is not None and parent != want.name:
            edges.setdefault(parent, set()).add(want.name)
        info = chosen.get(want.name)
        if info is None:
            specs = [want.specifier]
            if want.name in limits:
                specs.append(limits[want.name].specifier)
            combined = SpecifierSet()
            for spec in specs:
                combined &= spec
            pin = exact_pin(combined)
            if pin is None:
                deferred.append((want, parent))
                continue
            found = finder.candidates(want.name, SpecifierSet(f"=={pin}"))
            options = selectable(found, specs, python, pre=False, upgrade=False)
            if len({o.version for o in options}) != 1:
                return None
            info = chosen[want.name] = options[0]
        elif not want.specifier.contains(info.version, prereleases=True):
            return None
        seen = expanded.setdefault(want.name, set())
        fresh = ({_BASE} | want.extras) - seen
        seen.update(fresh)
        if no_deps or not fresh:
            continue
        asked = frozenset(seen - {_BASE})
        read = metadata.get(want.name)
        if read is None or not asked <= read[0]:
            read = metadata[want.name] = (asked, finder.dependencies(info, asked))
        deps = read[1]
        for extra in sorted(fresh):
            extras = frozenset() if extra == _BASE else frozenset({extra})
            queue.extend((dep, want.name) for dep in dependencies_for(deps, extras, markers))

    pins = {
        name: Pin(
            name=name,
            version=info.version,
            candidate=info,
            extras=frozenset(expanded[name] - {_BASE}),
            requested=name in wanted,
        )
        for name, info in chosen.items()
    }
    return ordered(pins, edges)
