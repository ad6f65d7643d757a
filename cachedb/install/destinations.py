"""Where an install goes besides a virtual environment: ``--target`` and ``--prefix``, as pip.

``--target DIR`` puts packages flat into DIR (scripts in DIR/bin); ``--prefix DIR``
lays them out as an installation prefix would (DIR/lib/pythonX.Y/site-packages,
DIR/bin). Either is filled for an interpreter: ``--python``, else the environment
an install would find, else the Python running cachedb.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError
from .options import InstallOptions

if TYPE_CHECKING:
    from ..target import Interpreter


def check(opts: InstallOptions) -> None:
    """Refuse combinations that cannot mean anything."""
    if opts.target is not None and opts.prefix is not None:
        raise UsageError("--target and --prefix cannot be used together")
    if opts.target is None and opts.prefix is None:
        return
    option = "--target" if opts.target is not None else "--prefix"
    if opts.venv is not None:
        raise UsageError(f"{option} and --venv cannot be used together")
    if opts.seed:
        raise UsageError(f"{option} and --seed cannot be used together")
    if opts.target is not None and opts.link_mode == "symlink":
        # gc finds the distributions an environment holds under lib/python*/site-packages;
        # a flat directory of links into the cache would be invisible to it.
        raise UsageError("--link-mode symlink cannot be used with --target")


def interpreter(opts: InstallOptions) -> Path:
    """The interpreter a --target or --prefix install is made for."""
    from ..target import find_target
    from ..target.discover import NO_ENVIRONMENT

    try:
        return find_target(python=opts.python)
    except UsageError as exc:
        if opts.python is not None or str(exc) != NO_ENVIRONMENT:
            raise
    return Path(sys.executable)


def rebase(interp: Interpreter, opts: InstallOptions) -> Interpreter:
    """``interp`` with the scheme and prefix of the --target or --prefix directory."""
    raw = opts.target if opts.target is not None else opts.prefix
    assert raw is not None
    root = os.path.abspath(os.path.expanduser(raw))
    if os.path.lexists(root) and not os.path.isdir(root):
        raise UsageError(f"{raw} exists and is not a directory")
    python = "python" + interp.markers["python_version"]
    if opts.target is not None:
        scheme = {
            "purelib": root,
            "platlib": root,
            "scripts": os.path.join(root, "bin"),
            "headers": os.path.join(root, "include", "python"),
            "data": root,
        }
    else:
        lib = os.path.join(root, "lib", python, "site-packages")
        scheme = {
            "purelib": lib,
            "platlib": lib,
            "scripts": os.path.join(root, "bin"),
            "headers": os.path.join(root, "include", python),
            "data": root,
        }
    return interp._replace(scheme=scheme, prefix=root)
