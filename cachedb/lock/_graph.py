"""Who needs whom in a resolution: the ``# via`` annotations of a lock file."""

from __future__ import annotations

from collections.abc import Mapping

from ..resolve import Finder, Resolution
from ..resolve._select import dependencies_for


def required_by(
    resolution: Resolution, finder: Finder, markers: Mapping[str, str]
) -> dict[str, set[str]]:
    """Canonical name -> the pinned names whose dependencies (on the target) name it."""
    parents: dict[str, set[str]] = {name: set() for name in resolution.pins}
    for pin in resolution.pins.values():
        deps = finder.dependencies(pin.candidate)
        wanted = dependencies_for(deps, frozenset(), markers)
        for extra in pin.extras:
            wanted += dependencies_for(deps, frozenset({extra}), markers)
        for dep in wanted:
            if dep.name in parents and dep.name != pin.name:
                parents[dep.name].add(pin.name)
    return parents
