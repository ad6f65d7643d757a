"""``cachedb tree``: the dependency tree, as ``uv pip tree --show-version-specifiers`` draws it.

Roots are the distributions nothing else requires (with ``--reverse``, those that
require nothing). A distribution whose dependencies were drawn already is marked
``(*)`` instead of drawn again (a footer says what the mark means); a cycle ends
the same way.
"""

from __future__ import annotations

from collections.abc import Iterator

from packaging.utils import NormalizedName, canonicalize_name

from cachedb._pep508 import Requirement

from .installed import Environment

# (child, the requirement naming it) for every edge. Missing children, and installed ones
# the requirement does not accept, are left out, as uv does.
Edges = dict[NormalizedName, list[tuple[NormalizedName, Requirement]]]


def _edges(env: Environment) -> tuple[Edges, Edges]:
    forward: Edges = {name: [] for name in env.distributions}
    backward: Edges = {name: [] for name in env.distributions}
    for name, dist in sorted(env.distributions.items()):
        seen: set[NormalizedName] = set()
        for req in env.requirements(dist):
            child = canonicalize_name(req.name)
            if child not in env.distributions or child in seen:
                continue
            installed = env.distributions[child].parsed_version
            if installed is None or not req.specifier.contains(installed, prereleases=True):
                continue  # a conflict (``check`` reports it) pulled nothing in
            seen.add(child)
            forward[name].append((child, req))
            backward[child].append((name, req))
    for edges in (forward, backward):
        for children in edges.values():
            children.sort(key=lambda edge: edge[0])
    return forward, backward


def _reachable(starts: list[NormalizedName], edges: Edges) -> set[NormalizedName]:
    seen = set(starts)
    todo = list(starts)
    while todo:
        for child, _ in edges[todo.pop()]:
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen


def _specifier(req: Requirement) -> str:
    return str(req.specifier) or "*"


def tree_lines(
    env: Environment,
    *,
    reverse: bool = False,
    depth: int | None = None,
    packages: list[str] | None = None,
) -> Iterator[str]:
    forward, backward = _edges(env)
    edges = backward if reverse else forward
    if packages:
        roots = sorted({canonicalize_name(p) for p in packages} & set(env.distributions))
    else:
        others = forward if reverse else backward
        roots = sorted(name for name in env.distributions if not others[name])
        # Packages that only a cycle reaches have no root above them: each such cycle is
        # drawn from its first package by name.
        reached = _reachable(roots, edges)
        for name in sorted(env.distributions):
            if name not in reached:
                roots.append(name)
                reached |= _reachable([name], edges)
    drawn: set[NormalizedName] = set()
    marked = False

    def label(name: NormalizedName) -> str:
        return f"{name} v{env.distributions[name].version}"

    def walk(
        name: NormalizedName, prefix: str, level: int, path: tuple[NormalizedName, ...]
    ) -> Iterator[str]:
        nonlocal marked
        if depth is not None and level >= depth:
            return
        children = edges[name]
        for i, (child, req) in enumerate(children):
            last = i == len(children) - 1
            if reverse:
                note = f"[requires: {name} {_specifier(req)}]"
            else:
                note = f"[required: {_specifier(req)}]"
            repeated = child in path or (child in drawn and bool(edges[child]))
            mark = " (*)" if repeated else ""
            if repeated:
                marked = True
            yield f"{prefix}{'└── ' if last else '├── '}{label(child)} {note}{mark}"
            if not repeated:
                drawn.add(child)
                yield from walk(
                    child, prefix + ("    " if last else "│   "), level + 1, (*path, child)
                )

    for root in roots:
        yield label(root)
        drawn.add(root)
        yield from walk(root, "", 0, (root,))
    if marked:
        yield "(*) Package tree already displayed"
