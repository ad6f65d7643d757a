"""``--compile-bytecode``: the environment's modules compiled once linked, as uv does.

The target interpreter compiles (its own magic number and optimisation level),
with the stdlib's ``compileall`` over several processes: the .pyc files are what
``python -m compileall`` would write, so it finds nothing to redo.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .report import Reporter
from .report import duration as _secs

if TYPE_CHECKING:
    from ..target import Interpreter


def compile_environment(interp: Interpreter, reporter: Reporter) -> None:
    """``--compile-bytecode``: compile ``interp``'s environment, saying how long it took."""
    started = time.perf_counter()
    if compile_bytecode(interp.executable, interp.scheme):
        reporter.info(f"Bytecode compiled in {_secs(time.perf_counter() - started)}")
    else:
        reporter.warn("some files could not be compiled to bytecode")


def compile_bytecode(executable: str, scheme: Mapping[str, str]) -> bool:
    """Compile every module under purelib and platlib; False if some could not be compiled."""
    dirs = list(dict.fromkeys(os.path.normpath(scheme[k]) for k in ("purelib", "platlib")))
    dirs = [d for d in dirs if os.path.isdir(d)]
    if not dirs:
        return True
    # -j 0: one process per CPU. -q: only failures are printed (to our stderr).
    command = [executable, "-I", "-m", "compileall", "-q", "-j", "0", *dirs]
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    except OSError:
        return False
    return done.returncode == 0
