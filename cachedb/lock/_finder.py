"""The resolver's finder for a lock: the install finder, with a lock's own rules on top.

- pins an existing lock file already holds are preferred (pip-tools keeps them
  unless they no longer fit or an upgrade is asked for);
- ``--override`` requirements replace every requirement on their names;
- ``--exclude-newer`` hides files uploaded after a moment (PEP 700 ``upload-time``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from .._names import canonical_name
from ..index import Link
from ..install.finder import CandidateFinder
from ..resolve import CandidateInfo
from ._files import upload_moment

if TYPE_CHECKING:
    from .._pep508 import Requirement


class LockFinder:
    """Implements ``cachedb.resolve.Finder`` over a ``CandidateFinder``."""

    def __init__(
        self,
        inner: CandidateFinder,
        *,
        preferred: Mapping[str, Version],
        overrides: Mapping[str, Requirement],
    ) -> None:
        self.inner = inner
        self._preferred = preferred
        self._overrides = overrides

    def candidates(self, name: str, specifier: SpecifierSet) -> Iterable[CandidateInfo]:
        # "Installed" is how the resolver's ordering spells "keep this unless it must change".
        return [
            info.replace(installed=True) if self._preferred.get(name) == info.version else info
            for info in self.inner.candidates(name, specifier)
        ]

    def dependencies(
        self, candidate: CandidateInfo, extras: frozenset[str] | None = None
    ) -> list[Requirement]:
        deps = self.inner.dependencies(candidate, extras)
        if not self._overrides:
            return deps
        return [self._overrides.get(canonical_name(d.name), d) for d in deps]


def uploaded_before(link: Link, cutoff: datetime | None) -> bool:
    """Whether ``link`` may be used under ``--exclude-newer cutoff``.

    A file whose upload time the index does not give is left out, as uv leaves it
    out: nothing says it is older, and the option promises a reproducible answer.
    """
    if cutoff is None:
        return True
    uploaded = upload_moment(link)
    return uploaded is not None and uploaded < cutoff
