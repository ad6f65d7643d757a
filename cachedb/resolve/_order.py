"""A stable installation order: every project after the projects it depends on."""

from __future__ import annotations

from collections.abc import Mapping

from cachedb.resolve._model import Pin, Resolution


def ordered(pins: Mapping[str, Pin], edges: Mapping[str, set[str]]) -> Resolution:
    """``pins`` in dependency order; ``edges`` maps a name to the names it depends on.

    Names are visited alphabetically so equal inputs always give the same order;
    a cycle is cut where the walk first re-enters it.
    """
    order: dict[str, Pin] = {}
    entered: set[str] = set()

    def visit(name: str) -> None:
        # Iterative walk: dependency chains can be deeper than the recursion limit.
        stack = [(name, iter(sorted(edges.get(name, ()))))]
        entered.add(name)
        while stack:
            current, children = stack[-1]
            for child in children:
                if child in pins and child not in entered:
                    entered.add(child)
                    stack.append((child, iter(sorted(edges.get(child, ())))))
                    break
            else:
                stack.pop()
                order[current] = pins[current]

    for name in sorted(pins):
        if name not in entered:
            visit(name)
    return Resolution(order)
