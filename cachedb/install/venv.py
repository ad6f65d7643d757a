"""``cachedb venv``: a virtual environment, copied from a template, seeded from the cache.

Like ``uv venv``: an existing environment is replaced only with ``--clear``, and a
directory that is not a virtual environment is never written over or cleared.
``--seed`` installs pip (and setuptools and wheel below Python 3.12) as any other
install does: from the cache, else the configured index.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from ..errors import UsageError

if TYPE_CHECKING:
    from .options import InstallOptions
    from .report import Reporter

CLEAR_ENV = "CACHEDB_CLEAR"


# A named tuple, not a dataclass: dataclasses (and the inspect module it loads) would
# cost a venv made without --seed more than the copying does.
class VenvOptions(NamedTuple):
    path: str = ".venv"
    python: str | None = None
    prompt: str | None = None
    clear: bool = False
    cache_dir: Path | None = None
    # --seed: what to install from (as for ``install``); None installs nothing.
    seed: InstallOptions | None = None


def seed_packages(version: str) -> list[str]:
    """What ``--seed`` installs into a venv of Python ``version`` (as uv's --seed)."""
    parts = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    return ["pip"] if parts >= (3, 12) else ["pip", "setuptools", "wheel"]


def venv_version(path: Path) -> str:
    """The Python version a venv's pyvenv.cfg states (``version``, or uv's ``version_info``)."""
    found: dict[str, str] = {}
    for line in (path / "pyvenv.cfg").read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            found[key.strip().lower()] = value.strip()
    version = found.get("version") or found.get("version_info")
    if not version:
        raise UsageError(f"{path / 'pyvenv.cfg'} does not say which Python version it is")
    return version


def _make_room(path: Path, clear: bool) -> None:
    """Refuse what must not be written over; empty an old venv when asked to."""
    from ..target.venv import is_venv

    if not os.path.lexists(path):
        return
    if not path.is_dir():
        raise UsageError(f"{path} exists and is not a directory")
    if not any(path.iterdir()):
        return
    if not is_venv(path):
        raise UsageError(
            f"{path} exists and is not a virtual environment; cachedb will not write over "
            "or clear it"
        )
    if not clear:
        raise UsageError(
            f"a virtual environment already exists at {path}; use --clear (or "
            f"{CLEAR_ENV}=1) to replace it"
        )
    _empty(path)


def _empty(path: Path) -> None:
    import shutil

    for entry in path.iterdir():
        # Never follow a link out of the environment: a link is removed, not its target.
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def run_venv(opts: VenvOptions, reporter: Reporter) -> int:
    from ..store.layout import Layout
    from ..target.discover import resolve_python
    from ..target.venv import create_venv

    # As the stdlib names the venv in its scripts: ``..`` taken out, links kept.
    path = Path(os.path.abspath(os.path.expanduser(opts.path)))
    base = None if opts.python is None else str(resolve_python(opts.python))
    prompt = os.path.basename(os.getcwd()) if opts.prompt == "." else opts.prompt
    layout = Layout.of(opts.cache_dir)
    layout.check()  # a planted link at interpreters-v0/ would have the template made through it
    try:
        layout.create()
        templates: Path | None = layout.interpreters
    except OSError:
        templates = None  # a cache that cannot be written only costs speed here
    _make_room(path, opts.clear)
    existed = path.exists()
    reporter.info(f"Creating virtual environment at: {opts.path}")
    try:
        python = create_venv(path, python=base, prompt=prompt, templates=templates)
        if opts.seed is not None:
            from .pipeline import run_install

            seeds = seed_packages(venv_version(path))
            run_install(
                opts.seed.replace(requirements=seeds, python=str(python), venv=None), reporter
            )
    except BaseException:
        # Whatever was made is taken away again; an emptied old venv stays empty.
        if existed:
            _empty(path)
        else:
            import shutil

            shutil.rmtree(path, ignore_errors=True)
        raise
    bin_dir = python.parent.name
    reporter.info(f"Activate with: source {os.path.join(opts.path, bin_dir, 'activate')}")
    return 0
