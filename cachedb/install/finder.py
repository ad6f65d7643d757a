"""The resolver's view of the world: candidates from the environment, the cache and the indexes.

An exact ``==`` pin that the cache already holds is answered from the database
alone; only other requirements reach the index client (created on first use, so
a fully cached run never imports httpx).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import Version

from ..errors import InstallError, NetworkError
from ..resolve import CandidateInfo, exact_pin
from . import metadata
from .sources import Cached, Direct, Indexed, Installed, Source

if TYPE_CHECKING:
    from ..index import IndexClient, Link
    from ..store import Cache, CachedWheel


def _requires_python(text: str | None) -> SpecifierSet | None:
    if not text:
        return None
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None  # an unparsable constraint is ignored, as pip does


class CandidateFinder:
    """Implements ``cachedb.resolve.Finder`` over the target env, the cache and the indexes."""

    def __init__(
        self,
        *,
        cache: Cache,
        tags: Iterable[str],
        installed: Mapping[str, tuple[str, Path]],
        direct: Mapping[str, Direct],
        index: Callable[[], IndexClient | None],
        offline: bool,
        python_version: str,
    ) -> None:
        self._cache = cache
        self._priority = {tag: i for i, tag in enumerate(tags)}
        self._installed = installed
        self._direct = direct
        self._index_factory = index
        self._index: IndexClient | None = None
        self._offline = offline
        self._python_version = python_version
        self._metadata: dict[tuple[str, str, str], list[Requirement]] = {}
        self.remote_direct: dict[str, Path] = {}  # direct URL -> downloaded file

    # -- helpers ---------------------------------------------------------------------

    @property
    def index(self) -> IndexClient | None:
        if self._index is None:
            self._index = self._index_factory()
        return self._index

    def commit(self) -> None:
        """Keep the index pages fetched by this run (they are deferred until success)."""
        if self._index is not None:
            self._index.commit()

    def close(self) -> None:
        if self._index is not None:
            self._index.close()

    def rank(self, filename: str) -> int | None:
        """Position of the wheel's best tag in the target's tag list (lower wins), or None."""
        try:
            _, _, _, tags = parse_wheel_filename(filename)
        except InvalidWheelFilename:
            return None
        ranks = [self._priority[str(t)] for t in tags if str(t) in self._priority]
        return min(ranks) if ranks else None

    def _installed_candidate(self, name: str) -> CandidateInfo | None:
        found = self._installed.get(name)
        if found is None:
            return None
        version, dist_info = found
        return CandidateInfo(
            name, Version(version), None, False, Installed(version, dist_info), installed=True
        )

    def _cached(self, name: str, version: Version | None) -> dict[Version, CandidateInfo]:
        best: dict[Version, tuple[int, CachedWheel]] = {}
        for wheel in self._cache.cached_wheels(name, None if version is None else str(version)):
            rank = self.rank(wheel.filename)
            if rank is None:
                continue
            v = Version(wheel.version)
            if v not in best or rank < best[v][0]:
                best[v] = (rank, wheel)
        return {v: CandidateInfo(name, v, None, False, Cached(w)) for v, (_, w) in best.items()}

    def _indexed(self, name: str) -> dict[Version, CandidateInfo]:
        index = self.index
        if index is None:
            return {}
        links = index.project_links(name)
        best: dict[Version, tuple[tuple[bool, int], Link]] = {}
        incompatible: list[str] = []
        for link in links:
            if not link.is_wheel:
                continue
            rank = self.rank(link.filename)
            if rank is None:
                incompatible.append(link.filename)
                continue
            version = parse_wheel_filename(link.filename)[1]
            key = (link.yanked is not None, rank)  # an unyanked file beats a yanked one
            if version not in best or key < best[version][0]:
                best[version] = (key, link)
        if not best and incompatible:
            self._no_compatible_wheel(name, incompatible)
        return {
            v: CandidateInfo(
                name,
                v,
                _requires_python(link.requires_python),
                link.yanked is not None,
                Indexed(link),
            )
            for v, (_, link) in best.items()
        }

    def _no_compatible_wheel(self, name: str, filenames: list[str]) -> None:
        if name in self._installed:
            return
        shown = ", ".join(sorted(filenames)[:3]) + (", ..." if len(filenames) > 3 else "")
        raise InstallError(
            f"no wheel of {name} is compatible with the target (Python {self._python_version}); "
            f"available: {shown}"
        )

    # -- the Finder protocol ---------------------------------------------------------

    def candidates(self, name: str, specifier: SpecifierSet) -> Iterable[CandidateInfo]:
        out: list[CandidateInfo] = []
        installed = self._installed_candidate(name)
        direct = self._direct.get(name)
        if direct is not None:
            version = parse_wheel_filename(direct.filename)[1]
            if installed is not None and installed.version == version:
                out.append(installed)
            out.append(CandidateInfo(name, version, None, False, direct))
            return out
        if installed is not None:
            out.append(installed)
        pin = exact_pin(specifier)
        cached = self._cached(name, pin)
        if pin is not None and pin in cached:
            return [*out, cached[pin]]
        try:
            indexed = self._indexed(name)
        except NetworkError:
            if not self._offline or not (cached or installed):
                raise
            indexed = {}
        if pin is None and not self._offline:
            # Index answers are fresher; cached ones only win for identical files.
            cached = {v: c for v, c in self._cached(name, None).items() if v not in indexed}
            for version, cand in list(indexed.items()):
                same = self._same_cached_file(cand)
                if same is not None:
                    indexed[version] = same
        elif pin is None:
            cached = self._cached(name, None)
        merged = {**indexed, **cached} if self._offline else {**cached, **indexed}
        return [*out, *merged.values()]

    def _same_cached_file(self, cand: CandidateInfo) -> CandidateInfo | None:
        assert isinstance(cand.source, Indexed)
        link = cand.source.link
        sha = link.hashes.get("sha256")
        for wheel in self._cache.cached_wheels(cand.name, str(cand.version)):
            if wheel.filename == link.filename and (sha is None or sha == wheel.archive_id):
                return CandidateInfo(
                    cand.name, cand.version, cand.requires_python, cand.yanked, Cached(wheel)
                )
        return None

    def dependencies(self, candidate: CandidateInfo) -> list[Requirement]:
        source: Source = candidate.source  # type: ignore[assignment]
        key = (candidate.name, str(candidate.version), type(source).__name__)
        if key in self._metadata:
            return self._metadata[key]
        what = f"{candidate.name} {candidate.version}"
        if isinstance(source, Installed):
            data = metadata.dist_info_metadata(source.dist_info)
        elif isinstance(source, Cached):
            data = metadata.dist_info_metadata(source.wheel.path)
        elif isinstance(source, Indexed):
            index = self.index
            assert index is not None
            data = index.fetch_metadata(source.link)
        else:
            data = metadata.wheel_file_metadata(self.direct_file(source))
        deps = metadata.requires_dist(data, what)
        self._metadata[key] = deps
        return deps

    def direct_file(self, source: Direct) -> Path:
        """The local wheel file of a direct reference, downloading a remote one once."""
        from ..fetch import local_path

        path = local_path(source.url)
        if path is not None:
            return Path(path)
        if source.url in self.remote_direct:
            return self.remote_direct[source.url]
        raise KeyError(source.url)
