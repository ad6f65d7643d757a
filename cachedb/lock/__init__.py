"""Lock files: ``compile`` resolves inputs into a requirements.txt or pylock.toml.

Importing this package loads nothing heavy; each command imports what it uses.
"""

from __future__ import annotations

from cachedb.lock._compile import run_compile
from cachedb.lock._options import CompileOptions

__all__ = ["CompileOptions", "run_compile"]
