"""Where a candidate's wheel comes from: the cache, an index, a direct reference, or the env."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..index import Link
    from ..store import CachedWheel


@dataclass(frozen=True)
class Installed:
    """Already in the target environment."""

    version: str
    dist_info: Path


@dataclass(frozen=True)
class Cached:
    """A wheel already unpacked in the cache."""

    wheel: CachedWheel


@dataclass(frozen=True)
class Indexed:
    """A wheel file an index or find-links location offers."""

    link: Link


@dataclass(frozen=True)
class Direct:
    """A wheel named by the user: a local path or a URL (``name @ url``)."""

    url: str  # https://... or file:///...
    filename: str
    hashes: frozenset[str]  # "sha256:<hex>"


Source = Installed | Cached | Indexed | Direct
