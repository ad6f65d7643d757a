"""The resolver's vocabulary: what a finder offers and what a resolution pins."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    # Not typing's NamedTuple: that one compiles each field's annotation (~0.2M instructions).
    from .._record import NamedTuple


@dataclass(frozen=True)
class CandidateInfo:
    """One installable version of a project, as a finder knows it."""

    name: str  # canonical
    version: Version
    requires_python: SpecifierSet | None
    yanked: bool
    # Opaque here (a Link, a cached wheel, an installed dist...): handed back in the Pin.
    source: object = field(compare=False)
    installed: bool = False
    # Lower is tried first, before any newer version of a higher one: the position of
    # the index it comes from under ``--index-strategy unsafe-first-match``, else 0.
    preference: int = field(default=0, compare=False)


class Finder(Protocol):
    """Where candidates and their dependencies come from (index, cache, environment)."""

    def candidates(self, name: str, specifier: SpecifierSet) -> Iterable[CandidateInfo]:
        """Every version available for ``name``.

        ``specifier`` is only a hint: an exact ``==V`` pin lets a finder answer from
        its cache without the network. Versions outside it may be returned too.
        """
        ...

    def dependencies(self, candidate: CandidateInfo) -> list[Requirement]:
        """Requires-Dist of ``candidate``, markers included (the resolver evaluates them)."""
        ...


# NamedTuples, not dataclasses: created in ~0.05 ms instead of ~0.4 ms on every warm install.
# (CandidateInfo stays a dataclass: its equality leaves ``source`` out.)
class Pin(NamedTuple):
    """The version chosen for one project."""

    name: str
    version: Version
    candidate: CandidateInfo
    extras: frozenset[str]
    requested: bool  # named directly by the user


class Resolution(NamedTuple):
    """The chosen set: canonical name -> Pin, dependencies before their dependents."""

    pins: dict[str, Pin]


def exact_pin(specifier: SpecifierSet) -> Version | None:
    """The single version ``specifier`` pins with ``==V`` / ``===V``, else None.

    Other clauses may accompany the pin (``==1.2,<2``) as long as they admit it;
    a wildcard (``==1.*``) pins nothing.
    """
    pinned: Version | None = None
    for spec in specifier:
        if spec.operator not in ("==", "===") or spec.version.endswith(".*"):
            continue
        try:
            version = Version(spec.version)
        except InvalidVersion:
            return None
        # "==1.0" and "==1.0.0" are the same pin; two different ones are contradictory.
        if pinned is not None and version != pinned:
            return None
        pinned = version
    if pinned is None:
        return None
    try:
        admitted = specifier.contains(pinned, prereleases=True)
    except InvalidSpecifier:  # pragma: no cover - defensive; SpecifierSet validated on creation
        return None
    return pinned if admitted else None
