"""The resolver's view of the world: candidates from the environment, the cache and the indexes.

The sources (indexes, find-links locations) say which files exist; the cache
only answers for a file they still offer, when it holds that very file
(``cachedb._cachekey`` says when). Fresh index pages answer from the page cache
without a request; a find-links directory is listed and its files' stat
compared, without the index client (so a warm install from one never imports
it). Only ``--offline`` answers from the cache alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from cachedb._pep508 import Requirement

from .._cachekey import LocalHashes
from .._filenames import parse_wheel_filename, read_wheel_filename
from .._headers import header_values
from .._names import canonical_name
from ..build.policy import BuildPolicy
from ..errors import InstallError, NetworkError
from ..resolve import CandidateInfo, exact_pin
from . import metadata
from .building import Building
from .cache_hits import CacheHits
from .offers import offers, refuse, requires_python
from .sources import Built, Cached, Direct, Indexed, Installed, Sdist, Source

if TYPE_CHECKING:
    from ..build.builder import Builder
    from ..fetch import Downloaded
    from ..index import IndexClient, Link
    from ..remote.tier import RemoteTier
    from ..store import Cache, CachedWheel


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
        local_dirs: Sequence[Path] | None = None,
        local_hashes: LocalHashes | None = None,
        refresh: bool = False,
    ) -> None:
        """``local_dirs``: the find-links directories when they are the only sources (their
        pins are then answered without the index client); ``local_hashes``: what the
        cache remembers of local files; ``refresh``: read every local file and revalidate
        every page (``--refresh``; ``policy`` names the ``--refresh-package`` ones)."""
        self._priority = {tag: i for i, tag in enumerate(tags)}
        self._installed = installed
        self._direct = direct
        self._index_factory = index
        self._index: IndexClient | None = None
        self._offline = offline
        self._python_version = python_version
        self._metadata: dict[tuple[str, str, str], list[Requirement]] = {}
        self._read_for_extras: set[tuple[str, str, str]] = set()  # metadata read, not kept
        self._pinned: dict[tuple[str, str], list[CandidateInfo]] = {}
        self._local_dirs = local_dirs
        self._local_hashes = local_hashes
        self._refresh = refresh
        self._python: Version | None = None
        self.remote_direct: dict[str, Downloaded] = {}  # direct URL -> its download
        # Metadata the index served for a file before it was downloaded (PEP 658), by
        # (URL, filename): the wheel's own must agree once it is (materialize checks).
        self.served_metadata: dict[tuple[str, str], bytes] = {}
        # Where an indexed wheel is being downloaded anyway (waits for it); its own
        # METADATA then spares the index a request (PEP 658 makes them identical).
        self.downloaded: Callable[[str, Link], Path | None] | None = None
        self._policy = policy or BuildPolicy()
        self._hits = CacheHits(
            cache,
            rank=self.rank,
            policy=self._policy,
            refreshes=self.refreshes,
            local_hashes=local_hashes,
        )
        self.building = Building(builder, lambda: self.index)
        # The remote tier, where one is configured: it answers alone only for --hash
        # pins when the index cannot be reached (RemoteTier.links).
        self.remote: RemoteTier | None = None

    # -- helpers ---------------------------------------------------------------------

    @property
    def index(self) -> IndexClient | None:
        if self._index is None:
            self._index = self._index_factory()
        return self._index

    def commit(self) -> None:
        """Keep the index pages fetched and local files read by this run (deferred until
        success)."""
        if self._index is not None:
            self._index.commit()
        if self._local_hashes is not None:
            self._local_hashes.flush()

    @property
    def metadata_kinds(self) -> set[str]:
        """The kinds of source (``Indexed``, ``Cached``, ``Sdist``...) metadata was read from."""
        return {kind for _, _, kind in [*self._metadata, *self._read_for_extras]}

    def refreshes(self, name: str) -> bool:
        """Whether ``name``'s pages and local files are checked again (``--refresh``,
        ``--refresh-package``)."""
        return self._refresh or self._policy.refreshes(name)

    def remember(self, link: Link, sha256: str) -> None:
        """The sha256 of a local file of ``link`` just read whole (so it is not read again)."""
        if self._local_hashes is None or link.size is None or link.mtime_ns is None:
            return
        from ..fetch import local_path

        path = local_path(link.url)
        if path is not None:
            self._local_hashes.remember(path, sha256)

    def close(self) -> None:
        self.building.close()
        if self._index is not None:
            self._index.close()
        if self.remote is not None:
            self.remote.close()

    def rank(self, filename: str) -> int | None:
        """Position of the wheel's best tag in the target's tag list (lower wins), or None."""
        wheel = read_wheel_filename(filename)
        if wheel is None:
            return None
        ranks = [self._priority[t] for t in wheel.tags if t in self._priority]
        return min(ranks) if ranks else None

    def _installed_candidate(self, name: str) -> CandidateInfo | None:
        found = self._installed.get(name)
        if found is None:
            return None
        version, dist_info = found
        return CandidateInfo(
            name, Version(version), None, False, Installed(version, dist_info), installed=True
        )

    def has_cached(self, name: str, version: Version) -> bool:
        """Whether the pin ``name==version`` needs no download: the current sources offer a
        file the cache holds (or the environment has it)."""
        for cand in self.candidates(canonical_name(name), SpecifierSet(f"=={version}")):
            if cand.version == version:
                return isinstance(cand.source, Cached | Installed)
        return False

    def may_have(self, name: str, version: Version) -> bool:
        """Whether the cache holds any wheel of ``name==version`` (from any source)."""
        return bool(self._hits.stored_pin(canonical_name(name), version))

    def may_have_pins(self, pins: Iterable[tuple[str, Version]]) -> set[tuple[str, Version]]:
        """The (canonical name, version) pins ``may_have`` answers yes for: one query."""
        return self._hits.stored_pins(pins)

    def read_pages(self, names: Iterable[str]) -> None:
        """Read the index pages of ``names`` at once, where pins need them."""
        if self._offline or self._local_dirs is not None:
            return
        index = self.index
        if index is not None:
            index.read_pages(names)

    def _indexed(
        self, name: str, stored: Mapping[str, list[CachedWheel]]
    ) -> dict[Version, CandidateInfo]:
        index = self.index
        if index is None:
            return {}
        from ..index._strategy import UNSAFE_FIRST_MATCH

        try:
            links = index.project_links(name)
        except NetworkError as exc:
            if self.remote is None:
                raise
            links = self.remote.links(name, exc)
        # unsafe-first-match: a version comes from the first index offering it, and every
        # version of an index is tried before those of the next (the index's position).
        ranked = index.strategy == UNSAFE_FIRST_MATCH
        positions = {source: i for i, source in enumerate(index.index_sources)}
        offered = offers(
            name,
            links,
            rank=self.rank,
            positions=positions if ranked else None,
            wheels_allowed=self._policy.wheels_allowed(name),
        )
        found = dict(offered.wheels)
        may_build = self._policy.may_build(name)
        for v, sdist in offered.sdists.items():
            if v in found:
                continue
            cand: CandidateInfo | None = sdist
            if not may_build:
                # Building is forbidden, but an earlier build of this very sdist is fine.
                assert isinstance(sdist.source, Sdist)
                link = sdist.source.link
                sha = link.hashes.get("sha256")
                wheels = stored.get(str(v), [])
                if sha is None and wheels:
                    sha = self._hits.local_sha256(name, link)
                cand = self._hits.built_from(sdist, sha, wheels) if sha else None
            if cand is not None:
                found[v] = cand
        if not found and (offered.incompatible or offered.sdists) and name not in self._installed:
            raise refuse(
                name, offered.incompatible, offered.sdist_links, self._policy, self._python_version
            )
        return found

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
        if pin is None:
            return [*out, *self._offered(name, installed is not None)]
        key = (name, str(pin))
        found = self._pinned.get(key)
        if found is None:
            hit = self._cached_pin(name, pin)
            found = [hit] if hit is not None else self._offered(name, installed is not None)
            self._pinned[key] = found
        return [*out, *found]

    def _cached_pin(self, name: str, pin: Version) -> CandidateInfo | None:
        """The cached wheel answering ``name==pin`` without the index client, if one does:
        any usable one offline, else the one a find-links directory offers."""
        if self._offline:
            return self._hits.cached(name, self._hits.stored_pin(name, pin)).get(pin)
        if self._local_dirs is None:
            return None
        return self._hits.local_pin(name, pin, self._local_dirs)

    def _offered(self, name: str, installed: bool) -> list[CandidateInfo]:
        """What the sources offer for ``name``, each file the cache holds as a cached candidate.

        Offline, the cache is the only source: every usable cached wheel counts too.
        """
        stored = self._hits.stored(name)
        if self._offline:
            cached = self._hits.cached(name, (w for ws in stored.values() for w in ws))
            try:
                indexed = self._indexed(name, stored)
            except NetworkError:
                if not (cached or installed):
                    raise
                indexed = {}
            return list({**indexed, **cached}.values())
        indexed = self._indexed(name, stored)
        for version, cand in list(indexed.items()):
            same = self._hits.same_file(cand, stored.get(str(cand.version), []))
            if same is not None:
                indexed[version] = same
        return list(indexed.values())

    def _direct_sdist(self, source: Direct) -> Path | None:
        """The local file of a direct sdist reference; None for directories and git URLs."""
        from ..fetch import local_path

        if source.url.lower().startswith("git+"):
            return None
        path = local_path(source.url)
        if path is not None:
            return None if Path(path).is_dir() else Path(path)
        got = self.remote_direct.get(source.url)
        return None if got is None else got.path

    def dependencies(
        self, candidate: CandidateInfo, extras: frozenset[str] | None = None
    ) -> list[Requirement]:
        source: Source = candidate.source  # type: ignore[assignment]
        key = (candidate.name, str(candidate.version), type(source).__name__)
        if key in self._metadata:
            return self._metadata[key]
        if key in self._read_for_extras:
            extras = None  # asked again, for another extra: parse every line, once
        data = self._core_metadata(candidate)
        if not isinstance(source, Installed):
            self._check_python(candidate, data)
        deps = metadata.requires_dist(data, f"{candidate.name} {candidate.version}", extras)
        if extras is None:
            self._metadata[key] = deps
        else:
            self._read_for_extras.add(key)
        return deps

    def metadata(self, candidate: CandidateInfo) -> bytes:
        """The candidate's core metadata (METADATA), from wherever its source keeps it."""
        return self._core_metadata(candidate)

    def check_python(self, candidate: CandidateInfo) -> None:
        """Refuse ``candidate`` if its METADATA's Requires-Python excludes the target."""
        if not isinstance(candidate.source, Installed):
            self.dependencies(candidate)

    def _check_python(self, candidate: CandidateInfo, data: bytes) -> None:
        # As pip and uv: the index's data-requires-python chose the candidate, but the
        # wheel's own METADATA has the last word, whether the wheel is cached or not.
        for text in header_values(data, "Requires-Python"):
            spec = requires_python(text)
            if spec is None:
                continue
            if self._python is None:
                self._python = Version(self._python_version.rstrip("+"))
            if not spec.contains(self._python, prereleases=True):
                raise InstallError(
                    f"package {candidate.name!r} ({candidate.version}) requires a different "
                    f"Python: {self._python_version} not in {str(spec)!r}"
                )

    def _core_metadata(self, candidate: CandidateInfo) -> bytes:
        source: Source = candidate.source  # type: ignore[assignment]
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
            if wheel is None and self.remote is not None:
                wheel = self.remote.wheel_for_metadata(source.link)
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
        return data

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
            return self.remote_direct[source.url].path
        raise KeyError(source.url)
