"""Rules shared by the full resolver and the pinned fast path.

Which requirements apply to the target (markers, extras), how duplicates merge,
and which candidates a set of specifiers may select (Requires-Python, yanked,
pre-releases, installed-first ordering).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from cachedb._names import canonical_name
from cachedb._pep508 import Requirement
from cachedb.resolve._model import CandidateInfo, exact_pin
from cachedb.resolve._prereleases import selectable_versions

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    # Not typing's NamedTuple: that one compiles each field's annotation (~0.2M instructions).
    from .._record import NamedTuple


# A NamedTuple, not a dataclass: created in ~0.05 ms instead of ~0.4 ms on every warm install.
class Wanted(NamedTuple):
    """A requirement after marker evaluation, with a canonical name."""

    name: str
    extras: frozenset[str]
    specifier: SpecifierSet
    text: str  # how the user or the metadata wrote it, minus the marker

    @classmethod
    def of(cls, req: Requirement) -> Wanted:
        extras = frozenset(canonical_name(e) for e in req.extras)
        return cls(canonical_name(req.name), extras, req.specifier, display(req))


def display(req: Requirement) -> str:
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    url = f" @ {req.url}" if req.url else ""
    return f"{req.name}{extras}{req.specifier}{url}"


def applies(req: Requirement, markers: Mapping[str, str], extras: Iterable[str] = ("",)) -> bool:
    """Whether ``req``'s marker holds on the target for any of ``extras``."""
    if req.marker is None:
        return True
    return any(req.marker.evaluate({**markers, "extra": extra}) for extra in extras)


def merge(reqs: Sequence[Requirement], markers: Mapping[str, str]) -> dict[str, Wanted]:
    """Top-level requirements that apply, one per name: specifiers intersected, extras unioned."""
    merged: dict[str, Wanted] = {}
    for req in reqs:
        if not applies(req, markers):
            continue
        wanted = Wanted.of(req)
        prior = merged.get(wanted.name)
        if prior is not None:
            extras = prior.extras | wanted.extras
            specifier = prior.specifier & wanted.specifier
            shown = f"[{','.join(sorted(extras))}]" if extras else ""
            wanted = Wanted(wanted.name, extras, specifier, f"{req.name}{shown}{specifier}")
        merged[wanted.name] = wanted
    return merged


def dependencies_for(
    deps: Iterable[Requirement], extras: frozenset[str], markers: Mapping[str, str]
) -> list[Wanted]:
    """The dependencies a candidate brings in for ``extras`` (empty: the base dependencies).

    For an extras set only the requirements the extras add are returned; the base
    ones come through the base candidate.
    """
    out: list[Wanted] = []
    for dep in deps:
        if extras:
            if applies(dep, markers, extras) and not applies(dep, markers):
                out.append(Wanted.of(dep))
        elif applies(dep, markers):
            out.append(Wanted.of(dep))
    return out


def python_version(markers: Mapping[str, str]) -> Version | None:
    raw = markers.get("python_full_version") or markers.get("python_version")
    if not raw:
        return None
    # CPython builds from a checkout report "3.13.0+"; the "+" is not a version.
    return Version(raw.rstrip("+"))


def python_ok(info: CandidateInfo, python: Version | None) -> bool:
    if info.requires_python is None or python is None:
        return True
    return info.requires_python.contains(python, prereleases=True)


def selectable(
    infos: Iterable[CandidateInfo],
    specifiers: Sequence[SpecifierSet],
    python: Version | None,
    *,
    pre: bool,
    upgrade: bool,
    prerelease: str | None = None,
) -> list[CandidateInfo]:
    """The candidates all ``specifiers`` allow, best first.

    Yanked versions count only when a specifier pins them exactly (PEP 592).
    Pre-releases follow cachedb's one rule (``_prereleases``). Installed
    candidates come first unless ``upgrade``; otherwise the newest comes first.
    """
    pinned = {v for v in (exact_pin(s) for s in specifiers) if v is not None}
    usable = [
        info
        for info in infos
        if python_ok(info, python) and (not info.yanked or info.version in pinned)
    ]
    chosen = selectable_versions(usable, specifiers, pre=pre, mode=prerelease)
    if upgrade:
        # An installed copy of the newest version still beats re-installing it.
        chosen.sort(key=lambda i: (-i.preference, i.version, i.installed), reverse=True)
    else:
        chosen.sort(key=lambda i: (i.installed, -i.preference, i.version), reverse=True)
    return chosen
