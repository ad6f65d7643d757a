"""The resolver's view of the world: candidates from the environment, the cache and the indexes.

The sources (indexes, find-links locations) say which files exist; the cache
only answers for a file they still offer, when it holds that very file
(``cachedb._cachekey`` says when). Fresh index pages answer from the page cache
without a request; a find-links directory is listed and its files' stat
compared, without the index client (so a warm install from one never imports
it). Only ``--offline`` answers from the cache alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import Version

from .._cachekey import LocalFile, LocalHashes, is_hit, scan_directory
from .._headers import header_values
from ..build.policy import BuildPolicy
from ..errors import InstallError, NetworkError
from ..resolve import CandidateInfo, exact_pin
from ..store import BUILT_WHEELS_BUCKET, source_key
from . import metadata
from .building import Building
from .sources import Built, Cached, Direct, Indexed, Installed, Sdist, Source

if TYPE_CHECKING:
    from ..build.builder import Builder
    from ..fetch import Downloaded
    from ..index import IndexClient, Link
    from ..remote.tier import RemoteTier
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
        local_dirs: Sequence[Path] | None = None,
        local_hashes: LocalHashes | None = None,
        refresh: bool = False,
    ) -> None:
        """``local_dirs``: the find-links directories when they are the only sources (their
        pins are then answered without the index client); ``local_hashes``: what the
        cache remembers of local files; ``refresh``: read every local file and revalidate
        every page (``--refresh``; ``policy`` names the ``--refresh-package`` ones)."""
        self._cache = cache
        self._priority = {tag: i for i, tag in enumerate(tags)}
        self._installed = installed
        self._direct = direct
        self._index_factory = index
        self._index: IndexClient | None = None
        self._offline = offline
        self._python_version = python_version
        self._metadata: dict[tuple[str, str, str], list[Requirement]] = {}
        self._pinned: dict[tuple[str, str], list[CandidateInfo]] = {}
        self._stored_pins: dict[tuple[str, str], list[CachedWheel]] = {}
        self._local_dirs = local_dirs
        self._local_hashes = local_hashes
        self._listings: dict[str, list[tuple[Version, LocalFile, Path]]] | None = None
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
            self._local_hashes.remember(path, link.size, link.mtime_ns, sha256)

    def close(self) -> None:
        self.building.close()
        if self._index is not None:
            self._index.close()
        if self.remote is not None:
            self.remote.close()

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
        """Whether the pin ``name==version`` needs no download: the current sources offer a
        file the cache holds (or the environment has it)."""
        for cand in self.candidates(canonicalize_name(name), SpecifierSet(f"=={version}")):
            if cand.version == version:
                return isinstance(cand.source, Cached | Installed)
        return False

    def may_have(self, name: str, version: Version) -> bool:
        """Whether the cache holds any wheel of ``name==version`` (from any source)."""
        return bool(self._stored_pin(canonicalize_name(name), version))

    def read_pages(self, names: Iterable[str]) -> None:
        """Read the index pages of ``names`` at once, where pins need them."""
        if self._offline or self._local_dirs is not None:
            return
        index = self.index
        if index is not None:
            index.read_pages(names)

    def _stored_pin(self, name: str, pin: Version) -> list[CachedWheel]:
        key = (name, str(pin))
        if key not in self._stored_pins:
            self._stored_pins[key] = self._cache.cached_wheels(name, str(pin))
        return self._stored_pins[key]

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
                if sha is None and wheels:
                    sha = self._local_sha256(name, link)
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
            return self._cached(name, self._stored_pin(name, pin)).get(pin)
        if self._local_dirs is None or not self._policy.wheels_allowed(name):
            return None
        local = self._local_wheels(self._local_dirs)
        if local is None:
            return None  # a directory cannot be listed: the index client reports it
        best: tuple[int, LocalFile, Path] | None = None
        for version, file, directory in local.get(name, ()):
            rank = self.rank(file.filename) if version == pin else None
            # The first of equal rank, as the index client's listing would choose.
            if rank is not None and (best is None or rank < best[0]):
                best = (rank, file, directory)
        if best is None or self._local_hashes is None:
            return None
        _, file, directory = best
        same_name = [
            w
            for w in self._stored_pin(name, pin)
            if w.filename == file.filename
            and w.bucket != BUILT_WHEELS_BUCKET
            and self._reusable(name, w)
        ]
        if not same_name:
            return None
        sha = self._local_hashes.sha256(
            file.path, file.size, file.mtime_ns, refresh=self.refreshes(name)
        )
        source = source_key(str(directory))
        for wheel in same_name:
            if is_hit(wheel.filename, wheel.archive_id, wheel.key,
                      filename=file.filename, sha256=sha, source=source):  # fmt: skip
                return CandidateInfo(name, pin, None, False, Cached(wheel))
        return None

    def _local_wheels(
        self, directories: Sequence[Path]
    ) -> dict[str, list[tuple[Version, LocalFile, Path]]] | None:
        """The wheels in ``directories`` by project, in the index client's order; each
        directory listed and each filename parsed once per run."""
        if self._listings is None:
            listings: dict[str, list[tuple[Version, LocalFile, Path]]] = {}
            for directory in directories:
                try:
                    files = scan_directory(directory)
                except OSError:
                    return None
                for file in files:
                    if not file.filename.endswith(".whl"):
                        continue
                    try:
                        wheel_name, version, _, _ = parse_wheel_filename(file.filename)
                    except InvalidWheelFilename:
                        continue
                    listings.setdefault(wheel_name, []).append((version, file, directory))
            self._listings = listings
        return self._listings

    def _offered(self, name: str, installed: bool) -> list[CandidateInfo]:
        """What the sources offer for ``name``, each file the cache holds as a cached candidate.

        Offline, the cache is the only source: every usable cached wheel counts too.
        """
        stored = self._stored(name)
        if self._offline:
            cached = self._cached(name, (w for ws in stored.values() for w in ws))
            try:
                indexed = self._indexed(name, stored)
            except NetworkError:
                if not (cached or installed):
                    raise
                indexed = {}
            return list({**indexed, **cached}.values())
        indexed = self._indexed(name, stored)
        for version, cand in list(indexed.items()):
            same = self._same_cached_file(cand, stored.get(str(cand.version), []))
            if same is not None:
                indexed[version] = same
        return list(indexed.values())

    def _same_cached_file(
        self, cand: CandidateInfo, wheels: list[CachedWheel]
    ) -> CandidateInfo | None:
        if not isinstance(cand.source, Indexed | Sdist):
            return None  # already a cached build
        link = cand.source.link
        sha = link.hashes.get("sha256")
        if isinstance(cand.source, Sdist):
            if sha is None and any(w.bucket == BUILT_WHEELS_BUCKET for w in wheels):
                sha = self._local_sha256(cand.name, link)
            return self._built_from(cand, sha, wheels) if sha is not None else None
        wheels = [
            w
            for w in wheels
            if w.filename == link.filename
            and w.bucket != BUILT_WHEELS_BUCKET
            and self._reusable(cand.name, w)
        ]
        if not wheels:
            return None
        if sha is None:
            sha = self._local_sha256(cand.name, link)
        source = source_key(link.source)
        for wheel in wheels:
            if is_hit(wheel.filename, wheel.archive_id, wheel.key,
                      filename=link.filename, sha256=sha, source=source):  # fmt: skip
                return CandidateInfo(
                    cand.name, cand.version, cand.requires_python, cand.yanked, Cached(wheel, link)
                )
        return None

    def _local_sha256(self, name: str, link: Link) -> str | None:
        """The sha256 of a local file offered without one (remembered by its stat)."""
        from ..fetch import local_path

        path = local_path(link.url)
        if path is None or self._local_hashes is None:
            return None
        size, mtime_ns = link.size, link.mtime_ns
        if size is None or mtime_ns is None:
            try:
                st = os.stat(path)
            except OSError:
                return None
            size, mtime_ns = st.st_size, st.st_mtime_ns
        try:
            return self._local_hashes.sha256(path, size, mtime_ns, refresh=self.refreshes(name))
        except OSError:
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
        link = cand.source.link if isinstance(cand.source, Sdist) else None
        return CandidateInfo(
            cand.name, cand.version, cand.requires_python, cand.yanked, Cached(best[1], link)
        )

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

    def dependencies(self, candidate: CandidateInfo) -> list[Requirement]:
        source: Source = candidate.source  # type: ignore[assignment]
        key = (candidate.name, str(candidate.version), type(source).__name__)
        if key in self._metadata:
            return self._metadata[key]
        data = self._core_metadata(candidate)
        if not isinstance(source, Installed):
            self._check_python(candidate, data)
        deps = metadata.requires_dist(data, f"{candidate.name} {candidate.version}")
        self._metadata[key] = deps
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
            spec = _requires_python(text)
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


def _sdist_version(filename: str, name: str) -> Version | None:
    """The version of an sdist of ``name`` called ``filename``, or None if it is not one."""
    from packaging.utils import InvalidSdistFilename, parse_sdist_filename

    try:
        sdist_name, version = parse_sdist_filename(filename)
    except InvalidSdistFilename:
        return None
    return version if sdist_name == name else None
