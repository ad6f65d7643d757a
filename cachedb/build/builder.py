"""From a source to a stored wheel: locate it, find an earlier build, or build and store it.

One ``Builder`` serves one install run. It keeps, per source, the unpacked tree,
the build environment and the backend, so resolving (metadata) and
materializing (the wheel) share them; ``close`` removes all of it from ``tmp/``
and releases the leases of every archive it handed out.

Building and storing hold a per-source file lock (``locks/build-<key>.lock``):
a second process building the same source waits, then finds the first one's
wheel in the cache and builds nothing.
"""

from __future__ import annotations

import secrets
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from .._threads import Background
from ..errors import BuildError, UsageError
from ..store import BUILT_WHEELS_BUCKET, pointer_key
from . import env as build_env
from .built import BuiltWheel, checked_version, metadata_of
from .policy import BuildPolicy
from .sources import (
    EDITABLE,
    GIT,
    PATH,
    SDIST,
    BuildSource,
    classify,
    fingerprint,
    location_key,
    metadata_fingerprint,
    sdist_key,
)

if TYPE_CHECKING:
    import subprocess

    from ..remote.tier import RemoteTier
    from ..store import Cache, CachedWheel
    from .pep517 import Backend, Distribution


class _Work:
    """What one source's builds in this run share."""

    def __init__(self, directory: Path, tree: Path) -> None:
        self.directory = directory  # under tmp/, removed by close()
        self.tree = tree  # the project directory the hooks run in
        self.env: Path | None = None
        self.backend: Backend | None = None
        self.ready = False  # its backend's build requirements are installed


class Builder:
    def __init__(
        self,
        cache: Cache,
        *,
        python: str,
        tags: Sequence[str],
        installer: build_env.Installer,
        policy: BuildPolicy | None = None,
        log: Callable[[str], None] | None = None,
        remote: RemoteTier | None = None,
        metadata_only: bool = False,
    ) -> None:
        self._cache = cache
        self._metadata_only = metadata_only
        self._remote = remote
        self._asked: set[str] = set()  # source keys the remote was asked for in this run
        self._python = python
        self._priority = {tag: i for i, tag in enumerate(tags)}
        self._installer = installer
        self.policy = policy or BuildPolicy()
        self._log = log or (lambda _message: None)
        self._root: Path | None = None
        self._works: dict[str, _Work] = {}
        self._refreshed: set[str] = set()  # keys rebuilt in this run for --refresh-package
        self.leases: list[int] = []

    # -- housekeeping ------------------------------------------------------------------

    def close(self) -> None:
        for work in self._works.values():
            if work.backend is not None:
                work.backend.close()
        self._works.clear()
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None
        leases, self.leases = self.leases, []
        self._cache.release(leases)

    def workspace(self, label: str) -> Path:
        if self._root is None:
            self._root = self._cache.layout.tmp / f"build-{secrets.token_hex(6)}"
            self._root.mkdir(parents=True)
        path = self._root / f"{label}-{secrets.token_hex(3)}"
        path.mkdir()
        return path

    def rank(self, filename: str) -> int | None:
        """Position of the wheel's best tag in the target's list (lower wins); None: unusable."""
        try:
            tags = parse_wheel_filename(filename)[3]
        except InvalidWheelFilename:
            return None
        ranks = [self._priority[str(t)] for t in tags if str(t) in self._priority]
        return min(ranks) if ranks else None

    # -- locating ----------------------------------------------------------------------

    def locate(
        self,
        name: str,
        url: str,
        *,
        editable: bool = False,
        local_file: Path | None = None,
        sha256: str | None = None,
    ) -> BuildSource:
        """Identify the source at ``url``: its key and current revision (nothing is built)."""
        from ..fetch._urls import local_path, strip_credentials

        name = canonicalize_name(name)
        local = local_path(url)
        is_dir = local is not None and Path(local).is_dir()
        kind = classify(url, is_dir=is_dir)
        if editable and kind != PATH:
            raise UsageError(
                f"editable installs need a local project directory, not {strip_credentials(url)}"
            )
        if kind == SDIST:
            path = local_file or (Path(local) if local is not None else None)
            if path is None:
                raise BuildError(f"{strip_credentials(url)} was not downloaded")
            if sha256 is None:
                from ..store.unpack import sha256_file

                sha256 = sha256_file(path)
            return BuildSource(name, SDIST, sdist_key(sha256), sha256, url, path)
        if kind == PATH:
            assert local is not None
            directory = Path(local)
            if not any((directory / f).is_file() for f in ("pyproject.toml", "setup.py")):
                raise UsageError(f"{directory} has neither a pyproject.toml nor a setup.py")
            if editable:
                revision = metadata_fingerprint(directory)
                return BuildSource(
                    name, EDITABLE, location_key(EDITABLE, str(directory)), revision, url, directory
                )
            key = location_key(PATH, str(directory))
            return BuildSource(name, PATH, key, fingerprint(directory), url, directory)
        if kind == GIT:
            return self._locate_git(name, url)
        raise UsageError(f"{strip_credentials(url)} is a wheel, not something to build")

    def _locate_git(self, name: str, url: str) -> BuildSource:
        from ..fetch._urls import strip_credentials
        from .git import checkout, parse_git_url, project_directory, resolve_commit

        parsed = parse_git_url(url)
        location = f"{strip_credentials(parsed.repository)}@{parsed.revision or ''}"
        key = location_key(GIT, f"{location}#{parsed.subdirectory or ''}")
        commit = resolve_commit(parsed)
        if commit is None:
            # A short commit id: only the repository itself can expand it.
            work = self._new_work(name, key)
            commit = checkout(parsed, None, work.directory / "src")
            work.tree = project_directory(work.directory / "src", parsed.subdirectory, url)
        return BuildSource(name, GIT, key, commit, url, None, parsed.revision, parsed.subdirectory)

    # -- the cache ---------------------------------------------------------------------

    def cached(self, source: BuildSource) -> BuiltWheel | None:
        """The best compatible wheel built earlier from ``source`` at its revision, leased."""
        if self.policy.refreshes(source.name) and source.key not in self._refreshed:
            return None
        from .provenance import read_revision

        prefix = f"{source.key}/{source.name}/"
        found: list[tuple[int, CachedWheel]] = []
        for wheel in self._cache.cached_wheels(source.name):
            if wheel.bucket != BUILT_WHEELS_BUCKET or not wheel.key.startswith(prefix):
                continue
            rank = self.rank(wheel.filename)
            if rank is not None:
                found.append((rank, wheel))
        for _, wheel in sorted(found, key=lambda item: item[0]):
            hits, lease_ids = self._cache.lookup_leased([(wheel.bucket, wheel.key)])
            self.leases.extend(lease_ids)
            path = hits.get((wheel.bucket, wheel.key))
            if path is None:
                continue
            if source.kind != SDIST and read_revision(path) != (source.kind, source.revision):
                continue  # built from another revision: this one is stale
            return BuiltWheel(source, wheel.archive_id, path, wheel.filename)
        return None

    # -- building ----------------------------------------------------------------------

    def metadata(self, source: BuildSource) -> bytes:
        """Core metadata for resolution: the METADATA of the source's wheel.

        An install builds the wheel rather than preparing its metadata: it needs the
        wheel anyway, so this spares a hook subprocess (``prepare_metadata_for_build_wheel``
        costs one as long as ``build_wheel``'s for a pure-Python project), and what the
        resolver reads is exactly what gets installed. A run that needs no wheel
        (``compile``, ``--dry-run``) asks the backend for the metadata where it offers
        that hook: building a project with extension modules only to lock it can take
        minutes.
        """
        if self._metadata_only and not source.editable:
            hit = self.shared(source)
            if hit is not None:
                return metadata_of(hit.path)
            self._check_allowed(source)
            work = self._prepared(source)
            assert work.backend is not None
            prepared = work.backend.prepare_metadata(work.directory / "metadata")
            if prepared is not None:
                work.backend.close()  # its last hook in this run: a run may build many
                return (prepared / "METADATA").read_bytes()
        return metadata_of(self.build(source).path)

    def build(self, source: BuildSource) -> BuiltWheel:
        """The wheel of ``source``: an earlier build of this revision, else built and stored now."""
        hit = self.cached(source)
        if hit is not None:
            return hit
        self._check_allowed(source)
        ancestors = build_env.building()
        if source.key in ancestors or len(ancestors) >= build_env.MAX_DEPTH:
            # Its build environment's install would need this very build, and wait on the
            # lock below that this build holds: forever.
            raise BuildError(
                f"cannot build {source.name}: its build requirements need it built first"
            )
        from .._flock import file_lock

        with file_lock(self._cache.layout.locks / f"build-{source.key}.lock"):
            # Another process may have built it while we waited.
            hit = self.cached(source) or self._from_remote(source)
            if hit is not None:
                return hit
            return self._build_locked(source)

    def shared(self, source: BuildSource) -> BuiltWheel | None:
        """The wheel of ``source`` built earlier here, else by another host (the remote
        tier); None where neither has it. Nothing is built."""
        hit = self.cached(source)
        if hit is not None or self._remote is None or source.remote_identity is None:
            return hit
        from .._flock import file_lock

        with file_lock(self._cache.layout.locks / f"build-{source.key}.lock"):
            return self.cached(source) or self._from_remote(source)

    def _from_remote(self, source: BuildSource) -> BuiltWheel | None:
        """A build of exactly ``source`` for this target from the remote tier, stored
        here as a build of our own would be (held: the per-source lock)."""
        identity = source.remote_identity
        if self._remote is None or identity is None or self.policy.refreshes(source.name):
            return None
        if source.key in self._asked:
            return None  # it had none (or one refused) a moment ago
        self._asked.add(source.key)
        from ..errors import CachedbError
        from .provenance import wheel_revision

        wheel = self._remote.fetch_built(identity, source.name, self.workspace("remote"))
        if wheel is None:
            return None
        if wheel_revision(wheel) != (source.kind, source.revision):
            self._log(f"Refused {wheel.name} from the remote: not built from this source")
            return None
        stem = wheel.name[: -len(".whl")]
        try:
            entry = self._cache.put(
                BUILT_WHEELS_BUCKET, pointer_key(source.key, source.name, stem), wheel, lease=True
            )
        except CachedbError as exc:  # the zip checks or RECORD refused it: nothing is stored
            self._log(f"Refused {wheel.name} from the remote: {exc}")
            return None
        if entry.lease_id is not None:
            self.leases.append(entry.lease_id)
        self._log(f"Fetched {wheel.name} (built from {source.shown}) from the remote")
        return BuiltWheel(source, entry.archive_id, entry.path, wheel.name)

    def _check_allowed(self, source: BuildSource) -> None:
        if not self.policy.may_build(source.name):
            raise BuildError(
                f"{source.name} must be built from source ({source.shown}), "
                f"but {self.policy.why_not()} forbids building it"
            )

    def _build_locked(self, source: BuildSource) -> BuiltWheel:
        from .provenance import stamp

        started = time.perf_counter()
        work = self._prepared(source)
        assert work.backend is not None
        distribution: Distribution = "editable" if source.editable else "wheel"
        wheel = work.backend.build(distribution, work.directory / "dist")
        server = work.backend.close(wait=False)  # its last hook: no idle hook server
        # Its tree, environment and hook output are spent: removed (and the server's exit
        # awaited) while the wheel is stamped and stored. Built again, it starts over.
        del self._works[source.key]
        spent: Background[str, None] = Background(1, "build-spent")
        spent.submit("spent", _remove_spent, work.directory, server)
        try:
            version = checked_version(source, wheel.name, self.rank(wheel.name))
            out = work.directory / "stamped"
            stamped = stamp(wheel, out, kind=source.kind, revision=source.revision)
            key = pointer_key(source.key, source.name, stamped.name[: -len(".whl")])
            entry = self._cache.put(BUILT_WHEELS_BUCKET, key, stamped, lease=True)
        finally:
            spent.abandon()
        if entry.lease_id is not None:
            self.leases.append(entry.lease_id)
        identity = source.remote_identity
        if self._remote is not None and identity is not None:
            self._remote.push_build(identity, stamped)
        self._refreshed.add(source.key)
        elapsed = time.perf_counter() - started
        self._log(f"Built {source.name}=={version} from {source.shown} in {elapsed:.2f}s")
        return BuiltWheel(source, entry.archive_id, entry.path, stamped.name, fresh=True)

    def _new_work(self, name: str, key: str) -> _Work:
        directory = self.workspace(name)
        work = _Work(directory=directory, tree=directory)
        self._works[key] = work
        return work

    def _prepared(self, source: BuildSource) -> _Work:
        """The tree, build environment and backend of ``source``, made once per run."""
        work = self._works.get(source.key)
        if work is None:
            work = self._new_work(source.name, source.key)
            work.tree = self._tree(source, work.directory)
        if work.ready:
            return work
        if work.backend is not None:
            work.backend.close()  # an earlier attempt failed half-way: start over
        from .pep517 import Backend

        ancestors = build_env.building()
        what = source.shown
        env_dir = work.directory / "env"
        python = build_env.create_env(env_dir, self._python)
        tmp = work.directory / "tmp"  # removed with the workspace, at close
        tmp.mkdir(exist_ok=True)
        backend = Backend(work.tree, python, what, scratch=work.directory / "hooks", tmp=tmp)
        work.backend = backend  # closed by close() from here on
        if backend.requires:
            backend.prestart()  # its interpreter starts while they install
        chain = [*ancestors, source.key]
        build_env.install_requirements(
            env_dir, backend.requires, self._installer, chain=chain, what=what
        )
        wanted = backend.requires_for("editable" if source.editable else "wheel")
        extra = [r for r in wanted if r not in backend.requires]
        if extra:
            build_env.install_requirements(env_dir, extra, self._installer, chain=chain, what=what)
            backend.restart()  # its import saw the environment without them
        work.env, work.ready = env_dir, True
        return work

    def _tree(self, source: BuildSource, directory: Path) -> Path:
        if source.kind in (PATH, EDITABLE):
            assert source.path is not None
            return source.path  # built in place, as pip and uv do; editable installs must be
        if source.kind == SDIST:
            from .sdist import extract_sdist

            assert source.path is not None
            return extract_sdist(source.path, directory / "src")
        from .git import checkout, parse_git_url, project_directory

        parsed = parse_git_url(source.url)
        checkout(parsed, source.revision, directory / "src")
        return project_directory(directory / "src", parsed.subdirectory, source.url)


def _remove_spent(directory: Path, server: subprocess.Popen[bytes] | None) -> None:
    """What a source's build leaves in its workspace that storing the wheel does not read."""
    if server is not None:
        server.wait()
    for name in ("src", "env", "hooks", "metadata"):
        shutil.rmtree(directory / name, ignore_errors=True)
