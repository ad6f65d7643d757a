"""Readable, pip-like explanations of why no resolution exists.

The first line is always a complete summary; the lines after it (indented) say
which requirement came from where and which versions were passed over.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from packaging.version import Version

from cachedb._pep508 import Requirement
from cachedb.resolve._model import CandidateInfo
from cachedb.resolve._select import Wanted, dependencies_for, python_ok, selectable


@dataclass(frozen=True)
class Cause:
    """One requirement that took part in a failure, and who asked for it (None: the user)."""

    wanted: Wanted
    parent: CandidateInfo | None
    parent_extras: frozenset[str] = frozenset()


def _who(cause: Cause) -> str:
    parent = cause.parent
    if parent is None:
        return f"the user requested {cause.wanted.text}"
    extras = f"[{','.join(sorted(cause.parent_extras))}]" if cause.parent_extras else ""
    return f"{parent.name}{extras} {parent.version} depends on {cause.wanted.text}"


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _versions(versions: set[Version]) -> str:
    return ", ".join(str(v) for v in sorted(versions))


def no_match(
    wanted: Wanted,
    infos: Sequence[CandidateInfo],
    python: Version | None,
    via: Sequence[str] = (),
) -> str:
    """The message for a requirement that no available version satisfies."""
    usable = {i.version for i in infos if python_ok(i, python) and not i.yanked}
    found = f"available versions: {_versions(usable)}" if usable else "no versions found"
    lines = [f"No matching distribution found for {wanted.text} ({found})"]
    lines.extend(f"  {line}" for line in via)
    # Only versions the requirement would otherwise accept are worth mentioning.
    fits = [i for i in infos if wanted.specifier.contains(i.version, prereleases=True)]
    too_new = sorted(
        {(i.version, str(i.requires_python)) for i in fits if not python_ok(i, python)}
    )
    if too_new:
        skipped = ", ".join(f"{v} (Requires-Python {rp})" for v, rp in too_new)
        lines.append(f"  skipped versions that need a different Python than {python}: {skipped}")
    yanked = {i.version for i in fits if i.yanked and python_ok(i, python)}
    if yanked:
        lines.append(f"  skipped yanked versions (pin one with == to use it): {_versions(yanked)}")
    return "\n".join(lines)


def chains(
    wanted: Mapping[str, Wanted],
    known: Mapping[CandidateInfo, list[Requirement]],
    markers: Mapping[str, str],
) -> Callable[[CandidateInfo], list[str]]:
    """How the user's requests led to a candidate, through the dependencies read so far.

    The answer is the shortest chain, as lines ``a 1.0 depends on b>=1``, from a
    version the user's request admits down to the candidate's parent.
    """

    def chain(target: CandidateInfo) -> list[str]:
        infos = list(known)
        roots = [
            i
            for i in infos
            if i.name in wanted and wanted[i.name].specifier.contains(i.version, prereleases=True)
        ]
        came_from: dict[CandidateInfo, tuple[CandidateInfo, Wanted] | None] = dict.fromkeys(roots)
        queue = deque(roots)
        while queue and target not in came_from:
            current = queue.popleft()
            for dep in dependencies_for(known[current], frozenset(), markers):
                for nxt in infos:
                    if (
                        nxt not in came_from
                        and nxt.name == dep.name
                        and dep.specifier.contains(nxt.version, prereleases=True)
                    ):
                        came_from[nxt] = (current, dep)
                        queue.append(nxt)
        lines: list[str] = []
        step = came_from.get(target)
        while step is not None:
            parent, dep = step
            lines.append(f"{parent.name} {parent.version} depends on {dep.text}")
            step = came_from.get(parent)
        return lines[::-1]

    return chain


def explain(
    causes: Sequence[Cause],
    listing: Callable[[str], Sequence[CandidateInfo]],
    python: Version | None,
    constraints: Mapping[str, Wanted],
    *,
    pre: bool,
    prerelease: str | None = None,
    chain: Callable[[CandidateInfo], list[str]] = lambda _: [],
) -> str:
    """Why ``causes`` cannot all hold; ``listing`` gives every version of a project,
    ``chain`` how the user's requests led to a candidate (see ``chains``)."""
    # A requirement nothing satisfies on its own is the whole story, whoever conflicts with it.
    for cause in causes:
        infos = listing(cause.wanted.name)
        allowed = selectable(
            infos, [cause.wanted.specifier], python, pre=pre, upgrade=True, prerelease=prerelease
        )
        if not allowed:
            via = [*chain(cause.parent), _who(cause)] if cause.parent is not None else []
            return no_match(cause.wanted, infos, python, via)

    triggers: list[str] = []
    lines: list[str] = []
    # Dependencies first, then the user's own requests: the order does not depend on
    # which branch resolvelib happened to explore last.
    ordered = sorted(
        causes,
        key=lambda c: (c.parent is None, c.parent.name if c.parent else "", c.wanted.text),
    )
    for cause in ordered:
        parent = cause.parent
        trigger = cause.wanted.text if parent is None else f"{parent.name}=={parent.version}"
        if trigger not in triggers:
            triggers.append(trigger)
        line = _who(cause)
        if line not in lines:
            lines.append(line)
    for name in dict.fromkeys(c.wanted.name for c in causes):
        if name in constraints:
            lines.append(f"the user requested (constraint) {constraints[name].text}")
    summary = (
        f"Cannot install {_and(triggers)} because these package versions have "
        "conflicting dependencies."
    )
    return "\n".join([summary, *(f"  {line}" for line in lines)])
