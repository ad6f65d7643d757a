"""Lock files: ``compile`` resolves inputs into a requirements.txt or pylock.toml.

Importing this package loads nothing heavy; each command imports what it uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cachedb.lock._options import CompileOptions

if TYPE_CHECKING:
    from cachedb.install.report import Reporter


def run_compile(opts: CompileOptions, reporter: Reporter) -> int:
    """``cachedb compile``: the remembered output if nothing it rested on changed
    (``_memo``), else the full compile (``_compile``)."""
    from cachedb.lock._memo import replay

    done = replay(opts, reporter)
    if done is not None:
        return done
    from cachedb.lock._compile import run_compile as full

    return full(opts, reporter)


__all__ = ["CompileOptions", "run_compile"]
