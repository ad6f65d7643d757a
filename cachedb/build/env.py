"""Isolated build environments, whose requirements cachedb installs itself.

A build environment is a fresh venv under the cache's ``tmp/``, made from the
target's interpreter. Its requirements are installed by a nested install run in
this process (the ``Installer`` the install pipeline hands the builder), with the
same cache, database and indexes: from the cache, so a second build needs no
network. It first tries offline (cached index pages and archives only) and goes
to the network only when that fails. Only the hooks run in the environment's
interpreter; installing into it needs no interpreter start of its own.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from ..errors import BuildError, CachedbError

# The sources being built by this process and its ancestors: a build that
# needs itself (directly or not) would otherwise wait on its own lock forever.
BUILDING_ENV = "CACHEDB_BUILDING"
MAX_DEPTH = 8


class Installer(Protocol):
    """Installs ``requirements`` into the venv at ``env_dir`` (only from the cache with
    ``offline``); raises CachedbError saying why not. Its ``offline`` says whether the
    installing command itself was offline (then the network is never tried)."""

    offline: bool

    def __call__(self, env_dir: Path, requirements: Sequence[str], *, offline: bool) -> None: ...


def building() -> list[str]:
    """Source keys being built by this process and its ancestors, outermost first."""
    value = os.environ.get(BUILDING_ENV, "")
    return [key for key in value.split(os.pathsep) if key]


@contextmanager
def _building(chain: Sequence[str]) -> Iterator[None]:
    """``chain`` as the sources being built, for the nested install (and its hooks)."""
    before = os.environ.get(BUILDING_ENV)
    os.environ[BUILDING_ENV] = os.pathsep.join(chain)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(BUILDING_ENV, None)
        else:
            os.environ[BUILDING_ENV] = before


def create_env(path: Path, python: str) -> Path:
    """A new venv at ``path`` made from ``python``; returns its interpreter."""
    from ..errors import UsageError
    from ..target import create_venv

    made = _like_venv(path, python)
    if made is not None:
        return made
    try:
        return create_venv(path, python=python)
    except UsageError as exc:
        raise BuildError(f"cannot create a build environment: {exc.message}") from None


def _like_venv(path: Path, python: str) -> Path | None:
    """A venv at ``path`` laid out as the venv ``python`` runs in, written here; None (and
    nothing written) where ``python`` is not a plain POSIX venv's (the stdlib makes it then).

    ``python -m venv`` costs an interpreter start for what is a few directories, links to
    the base interpreter and a ``pyvenv.cfg`` naming its ``home``. The target venv's own
    tree says what they are: its ``home``, the interpreter its links resolve to, where its
    site-packages lies. Never its system site-packages: the environment is isolated.
    """
    if os.name != "posix":
        return None
    prefix = os.path.dirname(os.path.dirname(python))
    if os.path.relpath(python, prefix).split(os.sep)[0] != "bin":
        return None
    try:
        with open(os.path.join(prefix, "pyvenv.cfg"), encoding="utf-8") as fh:
            cfg = dict(_cfg_line(line) for line in fh if "=" in line)
        real = os.path.realpath(python)
        names = [n for n in os.listdir(os.path.join(prefix, "bin")) if _PYTHON.fullmatch(n)]
        lib = os.path.join(prefix, "lib")
        sites = [
            os.path.join("lib", n, "site-packages")
            for n in os.listdir(lib)
            if _PYTHON.fullmatch(n) and os.path.isdir(os.path.join(lib, n, "site-packages"))
        ]
        lib64 = os.path.islink(os.path.join(prefix, "lib64"))
    except (OSError, UnicodeDecodeError):
        return None
    home = cfg.get("home")
    if not home or not os.path.isfile(real) or len(sites) != 1 or not names:
        return None
    if real.startswith(os.path.realpath(prefix) + os.sep):
        return None  # a copy of the base interpreter (venv --copies): the stdlib copies it
    lines = [f"home = {home}", "include-system-site-packages = false"]
    lines += [f"{key} = {cfg[key]}" for key in ("version", "version_info") if key in cfg]
    lines.append(f"executable = {real}")
    path.mkdir(parents=True)
    (path / "bin").mkdir()
    (path / sites[0]).mkdir(parents=True)
    if lib64:
        os.symlink("lib", path / "lib64")
    for name in names:
        os.symlink(real, path / "bin" / name)
    (path / "pyvenv.cfg").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path / "bin" / os.path.basename(python)


# The interpreter's names in bin/ and its directory in lib/ (python3.13t when free-threaded).
_PYTHON = re.compile(r"python(3(\.[0-9]+t?)?)?")


def _cfg_line(line: str) -> tuple[str, str]:
    key, _, value = line.partition("=")
    return key.strip().lower(), value.strip()


def install_requirements(
    env_dir: Path,
    requirements: Sequence[str],
    installer: Installer,
    *,
    chain: Sequence[str],
    what: str,
) -> None:
    """Install ``requirements`` into the build environment at ``env_dir`` with cachedb."""
    if not requirements:
        return
    attempts = [True] if installer.offline else [True, False]
    failure: CachedbError | None = None
    with _building(chain):
        for offline in attempts:
            try:
                installer(env_dir, requirements, offline=offline)
                return
            except CachedbError as exc:
                failure = exc
    assert failure is not None
    lines = [ln for ln in str(failure).splitlines() if ln.strip()] or [type(failure).__name__]
    details = "".join(f"\n  | {ln}" for ln in lines[1:])
    raise BuildError(
        f"cannot install the build requirements of {what} ({', '.join(requirements)}): "
        f"{lines[0]}{details}"
    )
