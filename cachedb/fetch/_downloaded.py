"""The result of a download: a verified file in the destination directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Downloaded:
    path: Path
    """The file in the destination directory, named after the link's filename."""
    sha256: str
    """Hex digest computed while the bytes were written."""
    size: int
