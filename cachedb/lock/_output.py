"""Where a lock goes: the output file, replaced at once, or standard output."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._options import CompileOptions


def write_output(opts: CompileOptions, text: str) -> None:
    if opts.output is None or opts.output == "-":
        sys.stdout.write(text)
    else:
        from .._fdio import replace_file

        replace_file(opts.output, text.encode("utf-8"))


__all__ = ["write_output"]
