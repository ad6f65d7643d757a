"""Where a lock goes: the output file, replaced at once, or standard output."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._options import CompileOptions


def write_output(opts: CompileOptions, text: str) -> None:
    if opts.output is None or opts.output == "-":
        sys.stdout.write(text)
    else:
        _write_atomically(Path(opts.output), text)


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.cachedb-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


__all__ = ["write_output"]
