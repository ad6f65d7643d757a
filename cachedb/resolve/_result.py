"""A finished resolution's result, built without resolvelib's recursion.

resolvelib's ``Resolver.resolve`` ends with ``_build_result``, which keeps the
projects that have a route to the requirements by asking each one's parents
recursively, with no record of where it has been: when backtracking leaves a
cycle of projects that no longer hangs from the requirements (a needs c, c
needs e, e needs c, none needed any more), that recursion never ends and the
resolution dies with RecursionError instead of its answer. Here the same
projects are kept by one walk down from the requirements, which ends on any
graph; where resolvelib's recursion ends, both keep the same projects and edges
(tests/test_resolve_cycles.py).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from resolvelib.resolvers import Result
    from resolvelib.structs import State

    from cachedb.resolve._provider import Cand, Req


def build_result(state: State[Req, Cand, str]) -> Result[Req, Cand, str]:
    """The projects of ``state`` reachable from the requirements, and the graph of who
    needs whom among them (``None`` is the requirements themselves)."""
    from resolvelib.resolvers import Result
    from resolvelib.structs import DirectedGraph

    mapping = state.mapping
    keys: dict[int, str | None] = {id(v): k for k, v in mapping.items()}
    keys[id(None)] = None
    parents: dict[str, list[str | None]] = {}
    children: dict[str | None, list[str]] = {}
    for key, criterion in state.criteria.items():
        found = [keys[id(p)] for p in criterion.iter_parent() if id(p) in keys]
        parents[key] = found
        for parent in found:
            children.setdefault(parent, []).append(key)
    connected: set[str | None] = {None}
    todo: list[str | None] = [None]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in connected:
                connected.add(child)
                todo.append(child)
    graph: DirectedGraph[str | None] = DirectedGraph()
    graph.add(None)
    for key in state.criteria:
        if key not in connected:
            continue
        if key not in graph:
            graph.add(key)
        for parent in parents[key]:
            if parent not in graph:
                graph.add(parent)
            graph.connect(parent, key)
    return Result(
        mapping={k: v for k, v in mapping.items() if k in connected},
        graph=graph,
        criteria=state.criteria,
    )
