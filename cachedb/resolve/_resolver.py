"""Full resolution with backtracking, through resolvelib (imported only when used)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from cachedb._pep508 import Requirement
from cachedb.errors import ResolutionImpossible
from cachedb.resolve._model import Finder, Pin, Resolution
from cachedb.resolve._order import ordered
from cachedb.resolve._select import merge

if TYPE_CHECKING:
    from resolvelib.resolvers import Result

    from cachedb.resolve._provider import Cand, Req


def resolve(
    requirements: Sequence[Requirement],
    finder: Finder,
    *,
    markers: Mapping[str, str],
    constraints: Sequence[Requirement] = (),
    upgrade: bool = False,
    no_deps: bool = False,
    pre: bool = False,
    resolution: str = "highest",
    prerelease: str | None = None,
    max_rounds: int = 200_000,
) -> Resolution:
    """Choose one version of every project ``requirements`` need on the target ``markers``.

    ``resolution`` is ``highest`` (newest versions first), ``lowest`` (oldest first), or
    ``lowest-direct`` (oldest first for ``requirements`` only), as uv's option of that name;
    ``prerelease`` one of ``_prereleases.MODES`` (None: the one rule, or ``allow`` if ``pre``).
    Raises ``cachedb.errors.ResolutionImpossible`` with an explanation when no
    choice satisfies everything; errors raised by ``finder`` propagate unchanged.
    """
    # Deferred: the warm path never gets here, and resolvelib costs import time.
    from resolvelib import BaseReporter
    from resolvelib.resolvers import Resolution as Resolving
    from resolvelib.resolvers import ResolutionImpossible as Impossible
    from resolvelib.resolvers import ResolutionTooDeep

    from cachedb.resolve._provider import Provider, Req
    from cachedb.resolve._result import build_result

    wanted = merge(requirements, markers)
    limits = merge(constraints, markers)
    lowest = {"highest": frozenset(), "lowest": None, "lowest-direct": frozenset(wanted)}
    provider = Provider(
        finder,
        markers,
        limits,
        upgrade=upgrade,
        no_deps=no_deps,
        pre=pre,
        lowest=lowest[resolution],
        prerelease=prerelease,
    )
    # Resolver.resolve is these two steps, its last one built with a recursion that
    # never ends on some graphs (_result.py).
    resolving: Resolving[Req, Cand, str] = Resolving(provider, BaseReporter())
    try:
        state = resolving.resolve([Req(w) for w in wanted.values()], max_rounds=max_rounds)
    except Impossible as exc:
        from cachedb.resolve._explain import Cause, chains, explain

        causes = [
            Cause(
                info.requirement.wanted,
                info.parent.info if info.parent else None,
                info.parent.extras if info.parent else frozenset(),
            )
            for info in exc.causes
        ]
        message = explain(
            causes,
            provider.listing,
            provider.python,
            limits,
            pre=pre,
            prerelease=prerelease,
            chain=chains(wanted, provider.known_dependencies(), markers),
        )
        raise ResolutionImpossible(message) from None
    except ResolutionTooDeep:
        raise ResolutionImpossible(
            f"Resolution gave up after {max_rounds} rounds without settling on a set of versions."
            "\n  loosen or pin some requirements to narrow the search"
        ) from None
    return _pins(build_result(state), set(wanted))


def _pins(result: Result[Req, Cand, str], requested: set[str]) -> Resolution:
    extras: dict[str, set[str]] = {}
    edges: dict[str, set[str]] = {}
    for key, cand in result.mapping.items():
        name = cand.info.name
        extras.setdefault(name, set()).update(cand.extras)
        for child in result.graph.iter_children(key):
            if child is None:  # pragma: no cover - the root is never anyone's child
                continue
            child_name = result.mapping[child].info.name
            if child_name != name:
                edges.setdefault(name, set()).add(child_name)
    pins = {
        name: Pin(
            name=name,
            version=result.mapping[name].info.version,
            candidate=result.mapping[name].info,
            extras=frozenset(names),
            requested=name in requested,
        )
        for name, names in extras.items()
    }
    return ordered(pins, edges)
