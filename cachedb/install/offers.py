"""What the sources offer for a project: of each version, the one wheel file to use (an
earlier index's, an unyanked one, the best-tagged one) and the one sdist, as candidates."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from .._filenames import read_sdist_filename, read_wheel_filename
from ..build.policy import BuildPolicy
from ..errors import InstallError
from ..resolve import CandidateInfo
from .sources import Indexed, Sdist

if TYPE_CHECKING:
    from typing import NamedTuple

    from ..index import Link
else:
    # Not typing's NamedTuple: that one compiles each field's annotation (~0.2M instructions).
    from .._record import NamedTuple


class Offers(NamedTuple):
    """The best wheel and the best sdist of each version, and the wheel files no version
    may use (tags the target lacks, or ``--no-binary``)."""

    wheels: dict[Version, CandidateInfo]
    sdists: dict[Version, CandidateInfo]
    sdist_links: list[Link]
    incompatible: list[str]


# Each Requires-Python text parsed once per run: most projects share a few (">=3.9"), and
# packaging works out a SpecifierSet's version ranges on its first ``contains`` (~17 us),
# then answers from them (~0.4 us). Nothing changes a SpecifierSet once made.
_REQUIRES_PYTHON: dict[str, SpecifierSet | None] = {}


def requires_python(text: str | None) -> SpecifierSet | None:
    if not text:
        return None
    spec = _REQUIRES_PYTHON.get(text)
    if spec is None and text not in _REQUIRES_PYTHON:
        try:
            spec = SpecifierSet(text)
        except InvalidSpecifier:
            spec = None  # an unparsable constraint is ignored, as pip does
        _REQUIRES_PYTHON[text] = spec
    return spec


def offers(
    name: str,
    links: Iterable[Link],
    *,
    rank: Callable[[str], int | None],
    positions: Mapping[str, int] | None,
    wheels_allowed: bool,
) -> Offers:
    """``name``'s files among ``links``; ``positions``: each index's position where the
    first index offering a version wins (unsafe-first-match), else None."""
    best: dict[Version, tuple[tuple[int, bool, int], Link]] = {}
    sdists: dict[Version, tuple[tuple[int, bool, bool], Link]] = {}
    incompatible: list[str] = []
    for link in links:
        position = positions.get(link.source, 0) if positions is not None else 0
        if not link.is_wheel:
            sdist_version = _sdist_version(link.filename, name)
            if sdist_version is not None:
                # An earlier index's, unyanked, then .tar.gz (the standard format) over .zip.
                skey = (
                    position,
                    link.yanked is not None,
                    not link.filename.endswith(".tar.gz"),
                )
                if sdist_version not in sdists or skey < sdists[sdist_version][0]:
                    sdists[sdist_version] = (skey, link)
            continue
        wheel = read_wheel_filename(link.filename)
        if wheel is None:
            continue
        version = wheel.version
        if wheel.name != name:
            continue  # a file of another project on this page: never a candidate (as pip)
        if not wheels_allowed:
            incompatible.append(link.filename)
            continue
        tag_rank = rank(link.filename)
        if tag_rank is None:
            incompatible.append(link.filename)
            continue
        # An earlier index's file, then an unyanked one, then the best-tagged one.
        key = (position, link.yanked is not None, tag_rank)
        if version not in best or key < best[version][0]:
            best[version] = (key, link)
    return Offers(
        {v: _candidate(name, v, link, Indexed(link), key[0]) for v, (key, link) in best.items()},
        {v: _candidate(name, v, link, Sdist(link), key[0]) for v, (key, link) in sdists.items()},
        [link for _, link in sdists.values()],
        incompatible,
    )


def _candidate(
    name: str, version: Version, link: Link, source: Indexed | Sdist, preference: int
) -> CandidateInfo:
    return CandidateInfo(
        name,
        version,
        requires_python(link.requires_python),
        link.yanked is not None,
        source,
        preference=preference,
    )


def refuse(
    name: str,
    filenames: list[str],
    sdists: Iterable[Link],
    policy: BuildPolicy,
    python_version: str,
) -> InstallError:
    """Why no file the sources offer for ``name`` may be installed."""
    sdist_names = sorted(link.filename for link in sdists)
    names = sorted(filenames) + sdist_names
    shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
    if policy.wheels_allowed(name):
        what = f"no wheel of {name} is compatible with the target (Python {python_version})"
    else:
        what = f"no wheel of {name} may be used (--no-binary)"
    if sdist_names:
        why = f"; {policy.why_not()} forbids building its source distribution"
    else:
        why = "" if policy.wheels_allowed(name) else "; it has no source distribution"
    return InstallError(f"{what}{why}; available: {shown}")


def _sdist_version(filename: str, name: str) -> Version | None:
    """The version of an sdist of ``name`` called ``filename``, or None if it is not one."""
    sdist = read_sdist_filename(filename)
    return sdist[1] if sdist is not None and sdist[0] == name else None
