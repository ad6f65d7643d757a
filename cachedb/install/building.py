"""The install pipeline's side of building: which sources need a build, and getting their wheels.

``Building`` is what the finder and ``materialize`` use: it creates the
``cachedb.build.Builder`` on first use (a run without sources to build never
imports it), downloads an index's sdists into the builder's workspace, and
turns sources into wheels stored in ``built-wheels-v0/``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..build.policy import BuildPolicy
from ..errors import BuildError, CachedbError, HashMismatch
from .options import InstallOptions

if TYPE_CHECKING:
    from ..build.builder import Builder
    from ..build.built import BuiltWheel
    from ..build.sources import BuildSource
    from ..index import IndexClient, Link
    from ..remote.tier import RemoteTier
    from ..store import Cache
    from ..target import Interpreter
    from .request import Request
    from .sources import Direct


def likely_builds(request: Request, local_dirs: Sequence[Path] | None) -> bool:
    """Whether this run will probably build from source: it names a source (not a wheel)
    directly, or a find-links directory it reads alone offers a requested project as an
    sdist. A guess that decides only when the build's modules load, never what is built."""
    if any(not direct.is_wheel for direct in request.direct.values()):
        return True
    if not local_dirs:
        return False
    import os

    from .._names import canonical_name
    from ..build.sources import SDIST_SUFFIXES
    from ..index._findlinks import project_of

    wanted = {r.name for r in request.reqs.requirements}
    # A file of a wanted project starts with its name, spelt some way: a cheap first sieve
    # for a directory of thousands.
    starts = tuple(f"{name}-" for name in wanted)
    for directory in local_dirs:
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        if any(
            n.endswith(SDIST_SUFFIXES)
            and canonical_name(n).startswith(starts)
            and project_of(n) in wanted
            for n in names
        ):
            return True
    return False


def load_builder() -> None:
    """Load the modules a build runs (the same ones building would load later): called
    while the process has nothing else to do, waiting for the target interpreter. They
    include what installing the build requirements (a resolver run) and storing the
    built wheel need."""
    import build  # noqa: F401
    import pyproject_hooks._in_process  # noqa: F401

    from ..build import builder, pep517, provenance, sdist  # noqa: F401
    from ..fetch import _download  # noqa: F401
    from ..resolve import _provider  # noqa: F401
    from ..wheel import inflate  # noqa: F401
    from . import linking, materialize  # noqa: F401


def build_policy(opts: InstallOptions) -> BuildPolicy:
    return BuildPolicy.from_options(
        no_build=opts.no_build,
        no_binary=opts.no_binary,
        only_binary=opts.only_binary,
        refresh=opts.refresh_packages,
    )


def builder_factory(
    cache: Cache,
    interp: Interpreter,
    opts: InstallOptions,
    index_urls: list[str],
    find_links: list[str],
    log: Callable[[str], None],
    *,
    remote: RemoteTier | None = None,
    metadata_only: bool = False,
) -> Callable[[], Builder]:
    """How to make this run's Builder: same cache, database and indexes, the target's python
    (``metadata_only`` for a run that installs nothing: see ``Builder.metadata``)."""

    def make() -> Builder:
        from ..build.builder import Builder

        return Builder(
            cache,
            python=interp.executable,
            tags=interp.tags,
            installer=NestedInstall(cache.root, opts, index_urls, find_links),
            policy=build_policy(opts),
            log=log,
            remote=remote,
            metadata_only=metadata_only,
        )

    return make


class NestedInstall:
    """Installs a build environment's requirements by an install run in this process.

    It is the run ``cachedb install --quiet --venv ENV --cache-dir C [--db-url U]
    (--index-url I --extra-index-url E... --index-strategy S | --no-index)
    [--find-links F...] [--offline] --cert/--native-tls/--keyring-provider -- REQS``
    would make: this run's cache, database, sources and network settings, and the
    rest from the environment and configuration files. In this process, it reuses
    every module this run has loaded (a child ``cachedb`` would load them again).
    """

    def __init__(
        self, cache_dir: Path, opts: InstallOptions, index_urls: list[str], find_links: list[str]
    ) -> None:
        self._cache_dir = cache_dir
        self._opts = opts
        self._index_urls = list(index_urls)
        self._find_links = list(find_links)
        self.offline = opts.offline

    def options(
        self, env_dir: Path, requirements: Sequence[str], *, offline: bool
    ) -> InstallOptions:
        from .._settings import value
        from .options import flag, index_strategy

        opts = self._opts
        return InstallOptions(
            requirements=list(requirements),
            venv=str(env_dir),
            cache_dir=self._cache_dir,
            db_url=opts.db_url,
            index_url=self._index_urls[0] if self._index_urls else None,
            extra_index_urls=self._index_urls[1:],
            no_index=not self._index_urls,
            # Named only with indexes; without, the variable or a file's says.
            index_strategy=opts.index_strategy if self._index_urls else index_strategy(),
            find_links=list(self._find_links),
            offline=offline,
            cert=opts.cert,
            native_tls=opts.native_tls,
            keyring_provider=opts.keyring_provider,
            link_mode=value("link-mode"),
            wait=not flag("no-wait"),
        )

    def __call__(self, env_dir: Path, requirements: Sequence[str], *, offline: bool) -> None:
        import io

        from .pipeline import run_install
        from .report import Reporter

        said = io.StringIO()  # warnings: shown only if the install fails, as build output
        try:
            run_install(self.options(env_dir, requirements, offline=offline), Reporter(-1, said))
        except CachedbError as exc:
            shown = [line for line in said.getvalue().splitlines() if line.strip()]
            raise BuildError("\n".join([str(exc), *shown])) from None


class Building:
    """Builds for one install run, created lazily."""

    def __init__(
        self,
        make_builder: Callable[[], Builder] | None,
        index: Callable[[], IndexClient | None],
    ) -> None:
        self._make = make_builder
        self._builder: Builder | None = None
        self._index = index
        self._sdists: dict[str, BuildSource] = {}  # link URL -> downloaded and located
        self.located: dict[str, BuildSource] = {}  # direct URL -> its source (git: the commit)

    @property
    def builder(self) -> Builder:
        if self._builder is None:
            if self._make is None:
                from ..errors import InstallError

                raise InstallError("building from source is not available here")
            self._builder = self._make()
        return self._builder

    def close(self) -> None:
        if self._builder is not None:
            self._builder.close()

    def direct(self, name: str, source: Direct, local_file: Path | None) -> BuiltWheel:
        """The wheel of a source named by path or URL: built earlier at this revision, or now.

        A direct reference has a single candidate, so it is built right away and
        its metadata read from the wheel (no separate metadata step).
        """
        builder = self.builder
        located = builder.locate(name, source.url, editable=source.editable, local_file=local_file)
        self.located[source.url] = located
        allowed = {h.split(":", 1)[1] for h in source.hashes if h.startswith("sha256:")}
        if allowed and located.kind == "sdist" and located.revision not in allowed:
            raise HashMismatch(
                f"hash mismatch for {located.path.name if located.path else name}: "
                f"expected sha256 {sorted(allowed)[0]}, got {located.revision}"
            )
        return builder.build(located)

    def sdist(self, link: Link) -> BuildSource:
        """An index's sdist, downloaded (once per run) and located."""
        found = self._sdists.get(link.url)
        if found is not None:
            return found
        from ..errors import InstallError

        index = self._index()
        if index is None:
            raise InstallError(f"no index to download {link.filename} from")
        builder = self.builder
        staging = builder.workspace("download")
        got = index.download_many([(link, None)], staging)[0]
        from packaging.utils import parse_sdist_filename

        name = parse_sdist_filename(link.filename)[0]
        located = builder.locate(name, link.url, local_file=got.path, sha256=got.sha256)
        self._sdists[link.url] = located
        return located

    def metadata(self, link: Link) -> bytes:
        shared = self._shared(link)
        if shared is not None:
            from ..build.built import metadata_of

            return metadata_of(shared.path)
        return self.builder.metadata(self.sdist(link))

    def _shared(self, link: Link) -> BuiltWheel | None:
        """A build of the sdist ``link`` names by its sha256, from the remote tier, before
        the sdist is even downloaded (None without a remote, a sha256 or such a build)."""
        sha = link.hashes.get("sha256")
        if sha is None or self._make is None:
            return None
        from packaging.utils import InvalidSdistFilename, parse_sdist_filename

        from ..build.sources import SDIST, BuildSource, sdist_key

        try:
            name = parse_sdist_filename(link.filename)[0]
        except InvalidSdistFilename:
            return None
        return self.builder.shared(BuildSource(name, SDIST, sdist_key(sha), sha, link.url))

    def wheel(self, link: Link, allowed: set[str]) -> BuiltWheel:
        """The built wheel of an index's sdist (whose sha256 must be in ``allowed``, if any)."""
        sha = link.hashes.get("sha256")
        shared = self._shared(link) if sha is not None and (not allowed or sha in allowed) else None
        if shared is not None:
            return shared
        located = self.sdist(link)
        if allowed and located.revision not in allowed:
            raise HashMismatch(
                f"hash mismatch for {link.filename}: "
                f"expected sha256 {sorted(allowed)[0]}, got {located.revision}"
            )
        return self.builder.build(located)
