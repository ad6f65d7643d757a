"""The resolver's vocabulary: what a finder offers and what a resolution pins."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from cachedb._pep508 import Requirement

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    # Not typing's NamedTuple: that one compiles each field's annotation (~0.2M instructions).
    from .._record import NamedTuple


class CandidateInfo:
    """One installable version of a project, as a finder knows it.

    A plain class, not a frozen dataclass: defining one costs every install ~4.6M
    instructions (it compiles its methods). It behaves as that dataclass did: equality
    and hash leave ``source`` and ``preference`` out, ``replace`` is
    ``dataclasses.replace``, and nothing changes it once made.
    """

    __slots__ = ("name", "version", "requires_python", "yanked", "source", "installed",
                 "preference")  # fmt: skip

    name: str  # canonical
    version: Version
    requires_python: SpecifierSet | None
    yanked: bool
    # Opaque here (a Link, a cached wheel, an installed dist...): handed back in the Pin.
    source: object
    installed: bool
    # Lower is tried first, before any newer version of a higher one: the position of
    # the index it comes from under ``--index-strategy unsafe-first-match``, else 0.
    preference: int

    def __init__(
        self,
        name: str,
        version: Version,
        requires_python: SpecifierSet | None,
        yanked: bool,
        source: object,
        installed: bool = False,
        preference: int = 0,
    ) -> None:
        setter = object.__setattr__
        setter(self, "name", name)
        setter(self, "version", version)
        setter(self, "requires_python", requires_python)
        setter(self, "yanked", yanked)
        setter(self, "source", source)
        setter(self, "installed", installed)
        setter(self, "preference", preference)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    __delattr__ = __setattr__  # type: ignore[assignment]

    def _key(self) -> tuple[object, ...]:
        return (self.name, self.version, self.requires_python, self.yanked, self.installed)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, CandidateInfo)
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"CandidateInfo({fields})"

    def replace(self, **changes: Any) -> CandidateInfo:
        """A copy with ``changes`` (field names as keywords), as ``dataclasses.replace``."""
        fields = {name: getattr(self, name) for name in self.__slots__}
        unknown = set(changes) - set(fields)
        if unknown:
            raise TypeError(f"CandidateInfo has no field {sorted(unknown)[0]!r}")
        return CandidateInfo(**{**fields, **changes})


class Finder(Protocol):
    """Where candidates and their dependencies come from (index, cache, environment)."""

    def candidates(self, name: str, specifier: SpecifierSet) -> Iterable[CandidateInfo]:
        """Every version available for ``name``.

        ``specifier`` is only a hint: an exact ``==V`` pin lets a finder answer from
        its cache without the network. Versions outside it may be returned too.
        """
        ...

    def dependencies(
        self, candidate: CandidateInfo, extras: frozenset[str] | None = None
    ) -> list[Requirement]:
        """Requires-Dist of ``candidate``, markers included (the resolver evaluates them).

        With ``extras`` (canonical names), lines that can hold only for other extras
        may be left out: those the base dependencies and ``extras`` need are all there.
        """
        ...


# NamedTuples, not dataclasses: created in ~0.05 ms instead of ~0.4 ms on every warm install.
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
