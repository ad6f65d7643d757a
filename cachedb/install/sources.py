"""Where a candidate's wheel comes from: the cache, an index, a direct reference, a build,
or the env."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..build.builder import BuiltWheel
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
    """What the user named by path or URL: a wheel, an sdist, a project directory, a git URL."""

    url: str  # https://..., file:///... or git+...
    filename: str
    hashes: frozenset[str]  # "sha256:<hex>"
    editable: bool = False

    @property
    def is_wheel(self) -> bool:
        return self.filename.lower().endswith(".whl") and not self.url.lower().startswith("git+")


@dataclass(frozen=True)
class Sdist:
    """A source distribution an index or find-links location offers; built if chosen."""

    link: Link


@dataclass(frozen=True)
class Built:
    """A wheel built (now or by an earlier run) from a source the user named directly."""

    wheel: BuiltWheel


Source = Installed | Cached | Indexed | Direct | Sdist | Built
