"""A compile whose existing pins still fit, settled without resolvelib.

The lock finder marks the pins of the output file as installed, and the resolver
tries installed candidates first. When every project the inputs reach has such a
pin, and each pin meets every requirement on its project, the resolver never
backtracks: whatever order it pins projects in, it takes the kept pin for each.
That answer is computed here directly; anything else returns None and the caller
runs ``resolve()``. tests/test_compile_preferred.py compares the two.

Why each condition keeps the answer equal to the resolver's, whichever subset of
a project's requirements it has seen when it pins it:

- the kept version meets them all, so it meets every subset;
- no copy of it is yanked and each fits Requires-Python, so no subset's exact
  pins or target drop it; an installed candidate passes the pre-release rule
  whatever the specifiers (``_prereleases``, clause 4);
- ``highest`` resolution sorts installed candidates first, so the first candidate
  is a copy of the kept version, the same copy for every subset (the same list,
  stably sorted);
- online, the finder answers an exact pin and an open range from the same listing
  (offline an exact pin may come from the cache alone: not taken here).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from ..resolve import CandidateInfo, Finder, Pin, Resolution
from ..resolve._order import ordered
from ..resolve._select import (
    Wanted,
    dependencies_for,
    merge,
    python_ok,
    python_version,
    selectable,
)

if TYPE_CHECKING:
    from .._pep508 import Requirement


def resolve_preferred(
    requirements: Sequence[Requirement],
    finder: Finder,
    *,
    markers: Mapping[str, str],
    constraints: Sequence[Requirement],
    preferred: Mapping[str, Version],
    pre: bool,
    prerelease: str | None,
) -> Resolution | None:
    """``resolve()``'s answer when every reached project keeps its ``preferred`` pin
    (``resolution="highest"``, online), else None."""
    wanted = merge(requirements, markers)
    limits = merge(constraints, markers)
    python = python_version(markers)
    chosen: dict[str, CandidateInfo] = {}
    extras: dict[str, set[str]] = {}
    edges: dict[str, set[str]] = {}
    expanded: set[tuple[str, frozenset[str]]] = set()
    queue: deque[tuple[Wanted, str | None]] = deque((w, None) for w in wanted.values())
    try:
        while queue:
            want, parent = queue.popleft()
            name = want.name
            if parent is not None and parent != name:
                edges.setdefault(parent, set()).add(name)
            kept = preferred.get(name)
            if kept is None or not want.specifier.contains(kept, prereleases=True):
                return None
            info = chosen.get(name)
            if info is None:
                limit = limits.get(name)
                if limit is not None and not limit.specifier.contains(kept, prereleases=True):
                    return None
                found = _kept_candidate(finder, name, kept, python, pre, prerelease)
                if found is None:
                    return None
                info = chosen[name] = found
                extras[name] = set()
            identity = (name, want.extras)
            if identity in expanded:
                continue
            expanded.add(identity)
            extras[name].update(want.extras)
            deps = finder.dependencies(info)
            # An extras request brings its extras' lines; its base comes through (name, ()).
            queue.extend((dep, name) for dep in dependencies_for(deps, want.extras, markers))
            if want.extras and (name, frozenset()) not in expanded:
                expanded.add((name, frozenset()))
                queue.extend((d, name) for d in dependencies_for(deps, frozenset(), markers))
    except Exception:
        # The resolver asks in another order: its own run raises what it raises.
        return None
    pins = {
        name: Pin(
            name=name,
            version=info.version,
            candidate=info,
            extras=frozenset(extras[name]),
            requested=name in wanted,
        )
        for name, info in chosen.items()
    }
    return ordered(pins, edges)


def _kept_candidate(
    finder: Finder,
    name: str,
    kept: Version,
    python: Version | None,
    pre: bool,
    prerelease: str | None,
) -> CandidateInfo | None:
    """The copy of ``name==kept`` the resolver would pin, if every copy of that version
    is one it takes whatever the requirements: offered as installed, not yanked, fitting
    the target's Python."""
    copies = [i for i in finder.candidates(name, SpecifierSet()) if i.version == kept]
    if not copies or not all(i.installed and not i.yanked and python_ok(i, python) for i in copies):
        return None
    # Filtering keeps the copies' relative order and the sort is stable: the first of
    # the copies alone is the first of any list the resolver builds around them.
    return selectable(copies, (), python, pre=pre, upgrade=False, prerelease=prerelease)[0]


__all__ = ["resolve_preferred"]
