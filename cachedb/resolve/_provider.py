"""The resolvelib provider: cachedb's rules expressed as resolvelib callbacks.

An extras request ``pkg[x]`` is its own identifier whose candidate depends on the
base ``pkg`` at the same version, so extras never fork a project into two versions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from packaging.specifiers import SpecifierSet
from packaging.version import Version
from resolvelib import AbstractProvider

from cachedb._pep508 import Requirement
from cachedb.resolve._model import CandidateInfo, Finder, exact_pin
from cachedb.resolve._select import Wanted, dependencies_for, python_version, selectable

if TYPE_CHECKING:
    from resolvelib.structs import RequirementInformation


def identifier(name: str, extras: frozenset[str]) -> str:
    return f"{name}[{','.join(sorted(extras))}]" if extras else name


# NamedTuples, not dataclasses: a frozen dataclass costs ~1 ms to define on every run.
class Req(NamedTuple):
    """A requirement as the resolver sees it."""

    wanted: Wanted
    # Set on the link from an extras candidate to its base: that exact version, yanked or not.
    base_of: CandidateInfo | None = None

    @property
    def identifier(self) -> str:
        return identifier(self.wanted.name, self.wanted.extras)


class Cand(NamedTuple):
    """A candidate for one identifier: a version of a project, with the extras it provides."""

    info: CandidateInfo
    extras: frozenset[str]

    @property
    def identifier(self) -> str:
        return identifier(self.info.name, self.extras)


class Provider(AbstractProvider[Req, Cand, str]):
    def __init__(
        self,
        finder: Finder,
        markers: Mapping[str, str],
        constraints: Mapping[str, Wanted],
        *,
        upgrade: bool,
        no_deps: bool,
        pre: bool,
        lowest: frozenset[str] | None = frozenset(),
        prerelease: str | None = None,
    ) -> None:
        self.finder = finder
        # Names whose lowest allowed version is tried first; None: every name.
        self.lowest = lowest
        self.markers = markers
        self.constraints = constraints
        self.upgrade = upgrade
        self.no_deps = no_deps
        self.pre = pre
        self.prerelease = prerelease
        self.python = python_version(markers)
        self._complete: dict[str, list[CandidateInfo]] = {}
        self._by_pin: dict[tuple[str, Version], list[CandidateInfo]] = {}
        self._deps: dict[CandidateInfo, list[Requirement]] = {}
        # resolvelib asks the same questions of the same objects every round (each pin
        # against each requirement on it; each name's preference): answered once. Keyed
        # by identity, the objects kept alive beside their answer so no id is reused.
        self._satisfied: dict[tuple[int, int], tuple[Req, Cand, bool]] = {}
        self._pins: dict[int, tuple[Req, bool]] = {}

    def listing(self, name: str, specifier: SpecifierSet | None = None) -> list[CandidateInfo]:
        """What the finder offers for ``name``, asking it as narrowly as ``specifier`` allows."""
        if name in self._complete:
            return self._complete[name]
        pin = exact_pin(specifier) if specifier is not None else None
        if pin is not None:
            key = (name, pin)
            if key not in self._by_pin:
                self._by_pin[key] = list(self.finder.candidates(name, SpecifierSet(f"=={pin}")))
            return self._by_pin[key]
        infos = list(self.finder.candidates(name, specifier or SpecifierSet()))
        self._complete[name] = infos
        return infos

    def known_dependencies(self) -> dict[CandidateInfo, list[Requirement]]:
        """Every candidate whose dependencies were read, with them (for explanations)."""
        return dict(self._deps)

    def identify(self, requirement_or_candidate: Req | Cand) -> str:
        return requirement_or_candidate.identifier

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, Cand],
        candidates: Mapping[str, Iterator[Cand]],
        information: Mapping[str, Iterator[RequirementInformation[Req, Cand]]],
        backtrack_causes: Sequence[RequirementInformation[Req, Cand]],
    ) -> Any:
        infos = list(information[identifier])
        pinned = any(self._pinned(i.requirement) for i in infos)
        direct = any(i.parent is None for i in infos)
        # Settling the names behind the last conflict first makes backjumping converge.
        conflicted = any(
            c.requirement.identifier == identifier
            or (c.parent is not None and c.parent.identifier == identifier)
            for c in backtrack_causes
        )
        return (not conflicted, not pinned, not direct, identifier)

    def _pinned(self, req: Req) -> bool:
        """Whether ``req`` allows one version only (an exact pin, or an extra's base)."""
        known = self._pins.get(id(req))
        if known is None:
            pinned = req.base_of is not None or exact_pin(req.wanted.specifier) is not None
            known = self._pins[id(req)] = (req, pinned)
        return known[1]

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Req]],
        incompatibilities: Mapping[str, Iterator[Cand]],
    ) -> Iterable[Cand]:
        reqs = list(requirements[identifier])
        if not reqs:  # pragma: no cover - resolvelib asks only about required names
            return []
        name, extras = reqs[0].wanted.name, reqs[0].wanted.extras
        specs = [r.wanted.specifier for r in reqs]
        if extras:
            # What is asked of the base binds its extras too (as in pip): a base pinned
            # with == admits its yanked release for ``name[extra]`` as well.
            specs.extend(r.wanted.specifier for r in requirements.get(name, ()) if not r.base_of)
        if name in self.constraints:
            specs.append(self.constraints[name].specifier)
        exact = {r.base_of.version for r in reqs if r.base_of is not None}
        # An exact pin makes the yanked rule admit the base version an extras candidate chose.
        specs.extend(SpecifierSet(f"=={v}") for v in exact)
        combined = SpecifierSet()
        for spec in specs:
            combined &= spec
        bad = {c.info.version for c in incompatibilities[identifier]}
        # Eager on purpose: finder errors surface here, unwrapped, not inside resolvelib.
        infos = selectable(
            self.listing(name, combined),
            specs,
            self.python,
            pre=self.pre,
            upgrade=self.upgrade,
            prerelease=self.prerelease,
        )
        if self.lowest is None or name in self.lowest:
            # Preferred (installed) versions still come first.
            infos.sort(key=lambda i: (not i.installed, i.version))
        return [
            Cand(info, extras)
            for info in infos
            if info.version not in bad and all(info.version == v for v in exact)
        ]

    def is_satisfied_by(self, requirement: Req, candidate: Cand) -> bool:
        key = (id(requirement), id(candidate))
        known = self._satisfied.get(key)
        if known is None:
            if requirement.base_of is not None:
                ok = candidate.info.version == requirement.base_of.version
            else:
                ok = requirement.wanted.specifier.contains(candidate.info.version, prereleases=True)
            known = self._satisfied[key] = (requirement, candidate, ok)
        return known[2]

    def get_dependencies(self, candidate: Cand) -> Iterable[Req]:
        info = candidate.info
        out: list[Req] = []
        if candidate.extras:
            base = Wanted(
                info.name,
                frozenset(),
                SpecifierSet(f"=={info.version}"),
                f"{info.name}=={info.version}",
            )
            out.append(Req(base, base_of=info))
        if self.no_deps:
            return out
        if info not in self._deps:
            self._deps[info] = self.finder.dependencies(info)
        wanted = dependencies_for(self._deps[info], candidate.extras, self.markers)
        out.extend(Req(w) for w in wanted)
        return out
