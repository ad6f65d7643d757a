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
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import Version

from ..build.policy import BuildPolicy
from ..errors import InstallError, NetworkError
from ..resolve import CandidateInfo, exact_pin
from ..store import BUILT_WHEELS_BUCKET
from . import metadata
from .building import Building
from .sources import Built, Cached, Direct, Indexed, Installed, Sdist, Source

if TYPE_CHECKING:
    from ..build.builder import Builder
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
        builder: Callable[[], Builder] | None = None,
        policy: BuildPolicy | None = None,
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
        self._pinned: dict[tuple[str, str], dict[Version, CandidateInfo]] = {}
        self.remote_direct: dict[str, Path] = {}  # direct URL -> downloaded file
        # Metadata the index served for a file before it was downloaded (PEP 658), by
        # (URL, filename): the wheel's own must agree once it is (materialize checks).
        self.served_metadata: dict[tuple[str, str], bytes] = {}
        # Where an indexed wheel is being downloaded anyway (waits for it); its own
        # METADATA then spares the index a request (PEP 658 makes them identical).
        self.downloaded: Callable[[str, Link], Path | None] | None = None
        self._policy = policy or BuildPolicy()
        self.building = Building(builder, lambda: self.index)

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
        self.building.close()
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

    def _stored(self, name: str) -> dict[str, list[CachedWheel]]:
        """Every live cache entry of ``name``, by version string: one query per candidates()."""
        out: dict[str, list[CachedWheel]] = {}
        for wheel in self._cache.cached_wheels(name):
            out.setdefault(wheel.version, []).append(wheel)
        return out

    def has_cached(self, name: str, version: Version) -> bool:
        """Whether a usable cached wheel answers the exact pin ``name==version``."""
        return version in self._cached_pin(canonicalize_name(name), version)

    def _cached_pin(self, name: str, pin: Version) -> dict[Version, CandidateInfo]:
        key = (name, str(pin))
        if key not in self._pinned:
            self._pinned[key] = self._cached(name, self._cache.cached_wheels(name, str(pin)))
        return self._pinned[key]

    def _cached(self, name: str, wheels: Iterable[CachedWheel]) -> dict[Version, CandidateInfo]:
        best: dict[Version, tuple[int, CachedWheel]] = {}
        for wheel in wheels:
            if not self._reusable(name, wheel):
                continue
            rank = self.rank(wheel.filename)
            if rank is None:
                continue
            v = Version(wheel.version)
            if v not in best or rank < best[v][0]:
                best[v] = (rank, wheel)
        return {v: CandidateInfo(name, v, None, False, Cached(w)) for v, (_, w) in best.items()}

    def _reusable(self, name: str, wheel: CachedWheel) -> bool:
        """Whether a cached wheel may serve a requirement by name (not by path or URL)."""
        if wheel.bucket == BUILT_WHEELS_BUCKET:
            from ..build.sources import shareable

            return shareable(wheel.key) and not self._policy.refreshes(name)
        return self._policy.wheels_allowed(name)

    def _indexed(
        self, name: str, stored: Mapping[str, list[CachedWheel]]
    ) -> dict[Version, CandidateInfo]:
        index = self.index
        if index is None:
            return {}
        from ..index._strategy import UNSAFE_FIRST_MATCH

        links = index.project_links(name)
        # unsafe-first-match: a version comes from the first index offering it, and every
        # version of an index is tried before those of the next (the index's position).
        ranked = index.strategy == UNSAFE_FIRST_MATCH
        positions = {source: i for i, source in enumerate(index.index_sources)}
        best: dict[Version, tuple[tuple[int, bool, int], Link]] = {}
        sdists: dict[Version, tuple[tuple[int, bool, bool], Link]] = {}
        incompatible: list[str] = []
        wheels_allowed = self._policy.wheels_allowed(name)
        for link in links:
            position = positions.get(link.source, 0) if ranked else 0
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
            try:
                wheel_name, version = parse_wheel_filename(link.filename)[:2]
            except InvalidWheelFilename:
                continue
            if wheel_name != name:
                continue  # a file of another project on this page: never a candidate (as pip)
            if not wheels_allowed:
                incompatible.append(link.filename)
                continue
            rank = self.rank(link.filename)
            if rank is None:
                incompatible.append(link.filename)
                continue
            # An earlier index's file, then an unyanked one, then the best-tagged one.
            key = (position, link.yanked is not None, rank)
            if version not in best or key < best[version][0]:
                best[version] = (key, link)
        found: dict[Version, CandidateInfo] = {
            v: CandidateInfo(
                name,
                v,
                _requires_python(link.requires_python),
                link.yanked is not None,
                Indexed(link),
                preference=key[0],
            )
            for v, (key, link) in best.items()
        }
        may_build = self._policy.may_build(name)
        for v, (skey, link) in sdists.items():
            if v in found:
                continue
            cand: CandidateInfo | None = CandidateInfo(
                name,
                v,
                _requires_python(link.requires_python),
                link.yanked is not None,
                Sdist(link),
                preference=skey[0],
            )
            if not may_build:
                # Building is forbidden, but an earlier build of this very sdist is fine.
                sha = link.hashes.get("sha256")
                wheels = stored.get(str(v), [])
                cand = self._built_from(cand, sha, wheels) if cand is not None and sha else None
            if cand is not None:
                found[v] = cand
        if not found and (incompatible or sdists):
            self._no_compatible_wheel(name, incompatible, [link for _, link in sdists.values()])
        return found

    def _no_compatible_wheel(
        self, name: str, filenames: list[str], sdists: Iterable[Link] = ()
    ) -> None:
        if name in self._installed:
            return
        sdist_names = sorted(link.filename for link in sdists)
        names = sorted(filenames) + sdist_names
        shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        if self._policy.wheels_allowed(name):
            what = (
                f"no wheel of {name} is compatible with the target (Python {self._python_version})"
            )
        else:
            what = f"no wheel of {name} may be used (--no-binary)"
        if sdist_names:
            why = f"; {self._policy.why_not()} forbids building its source distribution"
        else:
            why = "" if self._policy.wheels_allowed(name) else "; it has no source distribution"
        raise InstallError(f"{what}{why}; available: {shown}")

    # -- the Finder protocol ---------------------------------------------------------

    def candidates(self, name: str, specifier: SpecifierSet) -> Iterable[CandidateInfo]:
        out: list[CandidateInfo] = []
        installed = self._installed_candidate(name)
        direct = self._direct.get(name)
        if direct is not None and not direct.is_wheel:
            # Built from the user's source: always reinstalled, like a path install in pip.
            built = self.building.direct(name, direct, self._direct_sdist(direct))
            return [CandidateInfo(name, Version(built.version), None, False, Built(built))]
        if direct is not None:
            version = parse_wheel_filename(direct.filename)[1]
            if installed is not None and installed.version == version:
                out.append(installed)
            out.append(CandidateInfo(name, version, None, False, direct))
            return out
        if installed is not None:
            out.append(installed)
        pin = exact_pin(specifier)
        if pin is not None:
            cached = self._cached_pin(name, pin)
            if pin in cached:
                return [*out, cached[pin]]
        stored = self._stored(name)
        if pin is None:
            cached = self._cached(name, (w for ws in stored.values() for w in ws))
        try:
            indexed = self._indexed(name, stored)
        except NetworkError:
            if not self._offline or not (cached or installed):
                raise
            indexed = {}
        if pin is None and not self._offline:
            # Index answers are fresher; cached ones only win for identical files.
            cached = {v: c for v, c in cached.items() if v not in indexed}
            for version, cand in list(indexed.items()):
                same = self._same_cached_file(cand, stored.get(str(cand.version), []))
                if same is not None:
                    indexed[version] = same
        merged = {**indexed, **cached} if self._offline else {**cached, **indexed}
        return [*out, *merged.values()]

    def _same_cached_file(
        self, cand: CandidateInfo, wheels: list[CachedWheel]
    ) -> CandidateInfo | None:
        if not isinstance(cand.source, Indexed | Sdist):
            return None  # already a cached build
        link = cand.source.link
        sha = link.hashes.get("sha256")
        if isinstance(cand.source, Sdist):
            return self._built_from(cand, sha, wheels) if sha is not None else None
        for wheel in wheels:
            if wheel.bucket == BUILT_WHEELS_BUCKET or not self._reusable(cand.name, wheel):
                continue
            if wheel.filename == link.filename and (sha is None or sha == wheel.archive_id):
                return CandidateInfo(
                    cand.name, cand.version, cand.requires_python, cand.yanked, Cached(wheel)
                )
        return None

    def _built_from(
        self, cand: CandidateInfo, sdist_sha256: str, wheels: list[CachedWheel]
    ) -> CandidateInfo | None:
        """A cached wheel built earlier from exactly this sdist, as a cached candidate."""
        from ..build.sources import built_from_sdist

        best: tuple[int, CachedWheel] | None = None
        for wheel in wheels:
            if wheel.bucket != BUILT_WHEELS_BUCKET or built_from_sdist(wheel.key) != sdist_sha256:
                continue
            rank = self.rank(wheel.filename)
            usable = rank is not None and self._reusable(cand.name, wheel)
            if usable and rank is not None and (best is None or rank < best[0]):
                best = (rank, wheel)
        if best is None:
            return None
        return CandidateInfo(
            cand.name, cand.version, cand.requires_python, cand.yanked, Cached(best[1])
        )

    def _direct_sdist(self, source: Direct) -> Path | None:
        """The local file of a direct sdist reference; None for directories and git URLs."""
        from ..fetch import local_path

        if source.url.lower().startswith("git+"):
            return None
        path = local_path(source.url)
        if path is not None:
            return None if Path(path).is_dir() else Path(path)
        return self.remote_direct.get(source.url)

    def dependencies(self, candidate: CandidateInfo) -> list[Requirement]:
        source: Source = candidate.source  # type: ignore[assignment]
        key = (candidate.name, str(candidate.version), type(source).__name__)
        if key in self._metadata:
            return self._metadata[key]
        what = f"{candidate.name} {candidate.version}"
        if isinstance(source, Installed):
            data = metadata.dist_info_metadata(source.dist_info)
        elif isinstance(source, Cached):
            try:
                data = metadata.dist_info_metadata(source.wheel.path)
            except OSError:
                # Collected by a concurrent gc since the lookup: the index has the same file.
                data = self._metadata_from_index(candidate.name, source.wheel.filename)
        elif isinstance(source, Indexed):
            index = self.index
            assert index is not None
            wheel = self.downloaded(candidate.name, source.link) if self.downloaded else None
            data = index.fetch_metadata(source.link, wheel)
            if wheel is None:
                self.served_metadata[(source.link.url, source.link.filename)] = data
        elif isinstance(source, Built):
            data = metadata.dist_info_metadata(source.wheel.path)
        elif isinstance(source, Sdist):
            data = self.building.metadata(source.link)
        else:
            from ..index._metadata import wheel_metadata

            data = wheel_metadata(self.direct_file(source))
        deps = metadata.requires_dist(data, what)
        self._metadata[key] = deps
        return deps

    def _metadata_from_index(self, name: str, filename: str) -> bytes:
        index = self.index
        if index is not None:
            for link in index.project_links(name):
                if link.filename == filename:
                    return index.fetch_metadata(link)
        raise InstallError(
            f"{filename} was removed from the cache while resolving and no index offers it; "
            "run the command again"
        )

    def direct_file(self, source: Direct) -> Path:
        """The local wheel file of a direct reference, downloading a remote one once."""
        from ..fetch import local_path

        path = local_path(source.url)
        if path is not None:
            return Path(path)
        if source.url in self.remote_direct:
            return self.remote_direct[source.url]
        raise KeyError(source.url)


def _sdist_version(filename: str, name: str) -> Version | None:
    """The version of an sdist of ``name`` called ``filename``, or None if it is not one."""
    from packaging.utils import InvalidSdistFilename, parse_sdist_filename

    try:
        sdist_name, version = parse_sdist_filename(filename)
    except InvalidSdistFilename:
        return None
    return version if sdist_name == name else None
