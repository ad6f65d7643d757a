"""Which cached wheel answers for a file the sources offer: ``cachedb._cachekey``
applied to the finder's candidates (indexed wheels, sdists built before, wheels in a
find-links directory, and offline every usable cached wheel)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.version import Version

from .._cachekey import LocalFile, LocalHashes, is_hit, scan_directory
from .._filenames import read_wheel_filename
from ..build.policy import BuildPolicy
from ..resolve import CandidateInfo
from ..store import BUILT_WHEELS_BUCKET, source_key
from .sources import Cached, Indexed, Sdist

if TYPE_CHECKING:
    from ..index import Link
    from ..store import Cache, CachedWheel


class CacheHits:
    """The cache's side of one run's finder: what it holds of a project (one query per
    project, one per pin), and which entry answers for an offer."""

    def __init__(
        self,
        cache: Cache,
        *,
        rank: Callable[[str], int | None],
        policy: BuildPolicy,
        refreshes: Callable[[str], bool],
        local_hashes: LocalHashes | None,
    ) -> None:
        """``rank``: a wheel filename's position in the target's tags (None: unusable);
        ``refreshes``: whether a project's local files are read again."""
        self._cache = cache
        self._rank = rank
        self._policy = policy
        self._refreshes = refreshes
        self._local_hashes = local_hashes
        self._stored_pins: dict[tuple[str, str], list[CachedWheel]] = {}
        # What ``stored_pins`` read of each name (all versions): the next ``stored(name)``.
        self._read_ahead: dict[str, list[CachedWheel]] = {}
        self._listings: dict[str, list[tuple[Version, LocalFile, Path]]] | None = None

    def stored(self, name: str) -> dict[str, list[CachedWheel]]:
        """Every live cache entry of ``name``, by version string: one query per candidates().

        The first call after ``stored_pins`` asked about ``name`` takes what that query read
        instead (a pinned set's names, all at once): the same rows, read a little earlier in
        the run. A later call asks the cache again.
        """
        out: dict[str, list[CachedWheel]] = {}
        wheels = self._read_ahead.pop(name, None)
        for wheel in self._cache.cached_wheels(name) if wheels is None else wheels:
            out.setdefault(wheel.version, []).append(wheel)
        return out

    def stored_pins(self, pins: Iterable[tuple[str, Version]]) -> set[tuple[str, Version]]:
        """The pins the cache holds any wheel of: ``stored_pin`` of each, in one query."""
        wanted = {(name, str(pin)): (name, pin) for name, pin in pins}
        missing = [key for key in wanted if key not in self._stored_pins]
        if missing:
            by_name = self._cache.cached_wheels_of({name for name, _ in missing})
            for name, version in missing:
                found = [w for w in by_name[name] if w.version == version]
                self._stored_pins[(name, version)] = found
            self._read_ahead.update(by_name)
        return {pin for key, pin in wanted.items() if self._stored_pins[key]}

    def stored_pin(self, name: str, pin: Version) -> list[CachedWheel]:
        key = (name, str(pin))
        if key not in self._stored_pins:
            self._stored_pins[key] = self._cache.cached_wheels(name, str(pin))
        return self._stored_pins[key]

    def cached(self, name: str, wheels: Iterable[CachedWheel]) -> dict[Version, CandidateInfo]:
        best: dict[Version, tuple[int, CachedWheel]] = {}
        for wheel in wheels:
            if not self.reusable(name, wheel):
                continue
            rank = self._rank(wheel.filename)
            if rank is None:
                continue
            v = Version(wheel.version)
            if v not in best or rank < best[v][0]:
                best[v] = (rank, wheel)
        return {v: CandidateInfo(name, v, None, False, Cached(w)) for v, (_, w) in best.items()}

    def reusable(self, name: str, wheel: CachedWheel) -> bool:
        """Whether a cached wheel may serve a requirement by name (not by path or URL)."""
        if wheel.bucket == BUILT_WHEELS_BUCKET:
            from ..build.sources import shareable

            return shareable(wheel.key) and not self._policy.refreshes(name)
        return self._policy.wheels_allowed(name)

    def same_file(self, cand: CandidateInfo, wheels: list[CachedWheel]) -> CandidateInfo | None:
        if not isinstance(cand.source, Indexed | Sdist):
            return None  # already a cached build
        link = cand.source.link
        sha = link.hashes.get("sha256")
        if isinstance(cand.source, Sdist):
            if sha is None and any(w.bucket == BUILT_WHEELS_BUCKET for w in wheels):
                sha = self.local_sha256(cand.name, link)
            return self.built_from(cand, sha, wheels) if sha is not None else None
        wheels = [
            w
            for w in wheels
            if w.filename == link.filename
            and w.bucket != BUILT_WHEELS_BUCKET
            and self.reusable(cand.name, w)
        ]
        if not wheels:
            return None
        if sha is None:
            sha = self.local_sha256(cand.name, link)
        source = source_key(link.source)
        for wheel in wheels:
            if is_hit(wheel.filename, wheel.archive_id, wheel.key,
                      filename=link.filename, sha256=sha, source=source):  # fmt: skip
                return CandidateInfo(
                    cand.name, cand.version, cand.requires_python, cand.yanked, Cached(wheel, link)
                )
        return None

    def built_from(
        self, cand: CandidateInfo, sdist_sha256: str, wheels: list[CachedWheel]
    ) -> CandidateInfo | None:
        """A cached wheel built earlier from exactly this sdist, as a cached candidate."""
        from ..build.sources import built_from_sdist

        best: tuple[int, CachedWheel] | None = None
        for wheel in wheels:
            if wheel.bucket != BUILT_WHEELS_BUCKET or built_from_sdist(wheel.key) != sdist_sha256:
                continue
            rank = self._rank(wheel.filename)
            usable = rank is not None and self.reusable(cand.name, wheel)
            if usable and rank is not None and (best is None or rank < best[0]):
                best = (rank, wheel)
        if best is None:
            return None
        link = cand.source.link if isinstance(cand.source, Sdist) else None
        return CandidateInfo(
            cand.name, cand.version, cand.requires_python, cand.yanked, Cached(best[1], link)
        )

    def local_sha256(self, name: str, link: Link) -> str | None:
        """The sha256 of a local file offered without one (remembered by its status)."""
        from ..fetch import local_path

        path = local_path(link.url)
        if path is None or self._local_hashes is None:
            return None
        try:
            return self._local_hashes.sha256(path, refresh=self._refreshes(name))
        except OSError:
            return None

    def local_pin(
        self, name: str, pin: Version, directories: Sequence[Path]
    ) -> CandidateInfo | None:
        """The cached wheel answering ``name==pin`` that the find-links ``directories`` offer
        (listed without the index client), if one does."""
        if not self._policy.wheels_allowed(name):
            return None
        local = self._local_wheels(directories)
        if local is None:
            return None  # a directory cannot be listed: the index client reports it
        best: tuple[int, LocalFile, Path] | None = None
        for version, file, directory in local.get(name, ()):
            rank = self._rank(file.filename) if version == pin else None
            # The first of equal rank, as the index client's listing would choose.
            if rank is not None and (best is None or rank < best[0]):
                best = (rank, file, directory)
        if best is None or self._local_hashes is None:
            return None
        _, file, directory = best
        same_name = [
            w
            for w in self.stored_pin(name, pin)
            if w.filename == file.filename
            and w.bucket != BUILT_WHEELS_BUCKET
            and self.reusable(name, w)
        ]
        if not same_name:
            return None
        sha = self._local_hashes.sha256(file.path, refresh=self._refreshes(name))
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
                    wheel = read_wheel_filename(file.filename)
                    if wheel is not None:
                        listings.setdefault(wheel.name, []).append((wheel.version, file, directory))
            self._listings = listings
        return self._listings
