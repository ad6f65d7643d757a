"""What the target environment holds, and which of it may stay as it is."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from .._names import canonical_name
from .options import InstallOptions

if TYPE_CHECKING:
    from typing import NamedTuple

    from ..resolve import Resolution
    from ..store import Cache
    from ..target import Interpreter
else:
    # Not typing's NamedTuple: that one compiles each field's annotation (~0.2M instructions).
    from .._record import NamedTuple


class Environment(NamedTuple):
    """``installed``: every distribution (name → version, dist-info directory);
    ``usable``: those that may answer a requirement without being linked again."""

    installed: dict[str, tuple[str, Path]]
    usable: dict[str, tuple[str, Path]]


def read_environment(
    interp: Interpreter,
    opts: InstallOptions,
    hashes: Mapping[str, frozenset[str]],
    cache: Cache,
    *,
    fresh: bool,
) -> Environment:
    """What ``interp``'s scheme holds (nothing, for a dry run's imagined venv), less what
    ``--reinstall``, ``--reinstall-package`` or the lock's hashes ask to link again."""
    from ..link import installed_distributions

    installed = {} if fresh and opts.dry_run else installed_distributions(interp.scheme)
    reinstall: set[str] = {canonical_name(n) for n in opts.reinstall_packages}
    if hashes and installed:
        # Another build of a version a lock pins is not what the lock asks for.
        recorded = cache.installed_archives(interp.prefix)
        reinstall |= _other_builds(installed, hashes, recorded, cache.layout.archive_dir)
    # What is to be reinstalled must not be offered as already there (--reinstall: nothing).
    usable = {} if opts.reinstall else {k: v for k, v in installed.items() if k not in reinstall}
    return Environment(installed, usable)


def _other_builds(
    installed: Mapping[str, tuple[str, Path]],
    hashes: Mapping[str, frozenset[str]],
    recorded: Mapping[str, str],
    archive_dir: Callable[[str], Path],
) -> set[str]:
    """Installed distributions that are not the build their ``--hash`` values allow.

    cachedb records which archive (the wheel's sha256) it installed: where a lock's
    hashes do not include it, the version may be right but the files are another
    build's, and the lock's build must replace it. A wheel cachedb built from an
    sdist the lock hashes is that lock's build: its archive says which sdist.
    """
    from ..build.provenance import read_revision
    from ..build.sources import SDIST

    out: set[str] = set()
    for name in installed:
        allowed, archive = hashes.get(name), recorded.get(name)
        if not allowed or archive is None or f"sha256:{archive}" in allowed:
            continue
        source = read_revision(archive_dir(archive))
        if source is None or source[0] != SDIST or f"sha256:{source[1]}" not in allowed:
            out.add(name)
    return out


# Installers a lock file need not list: an exact install leaves them, as pip-sync does.
_KEPT_BY_EXACT = frozenset({"pip", "setuptools", "wheel"})


def extraneous(installed: Mapping[str, tuple[str, Path]], resolution: Resolution) -> list[str]:
    """What an exact install removes: every distribution the resolution does not pin."""
    return sorted(n for n in installed if n not in resolution.pins and n not in _KEPT_BY_EXACT)
