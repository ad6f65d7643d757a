"""Discovering the target of an install: the interpreter (creating the ``--venv`` asked
for), and once it has answered, the scheme it installs into."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .options import InstallOptions

if TYPE_CHECKING:
    from typing import NamedTuple

    from ..target import Interpreter, Query
else:
    # Not typing's NamedTuple: that one compiles each field's annotation (~0.2M instructions).
    from .._record import NamedTuple


class Target(NamedTuple):
    """The interpreter to install for; ``fresh``: its environment does not exist yet
    (created by this run, or only imagined by a dry run)."""

    python: Path
    fresh: bool


def discover_target(opts: InstallOptions) -> Target:
    """The interpreter of ``--target``/``--prefix``, ``--python``, ``--venv`` (created if
    missing, but not by a dry run) or the active environment."""
    from ..target import find_target

    fresh = opts.venv is not None and not Path(opts.venv).exists()
    if opts.target is not None or opts.prefix is not None:
        from . import destinations

        destinations.check(opts)
        return Target(destinations.interpreter(opts), fresh)
    if opts.dry_run and fresh:
        # Nothing is created: resolve for the interpreter the venv would be made from.
        python = find_target(python=opts.python) if opts.python else Path(sys.executable)
        return Target(python, fresh)
    templates = _templates(opts)
    return Target(
        find_target(python=opts.python, venv=opts.venv, seed=opts.seed, templates=templates), fresh
    )


def forget_target(opts: InstallOptions, target: Target) -> None:
    """After a failure: remove the venv this run created."""
    if target.fresh and opts.venv is not None and not opts.dry_run:
        import shutil

        shutil.rmtree(opts.venv, ignore_errors=True)


def target_interpreter(query: Query, opts: InstallOptions) -> Interpreter:
    """The interpreter's answer, with the ``--target``/``--prefix`` scheme put in."""
    interp = query.result()
    if opts.target is not None or opts.prefix is not None:
        from .destinations import rebase

        interp = rebase(interp, opts)
    return interp


def _templates(opts: InstallOptions) -> Path | None:
    """Where venv templates are kept, if this install may create a venv."""
    if opts.venv is None:
        return None
    from ..store.layout import Layout

    layout = Layout.of(opts.cache_dir)
    # Not the first thing to write into a cache directory: open_cache makes it properly.
    return layout.interpreters if layout.root.is_dir() else None
