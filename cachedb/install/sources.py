"""Where a candidate's wheel comes from: the cache, an index, a direct reference, a build,
or the env.

NamedTuples, not dataclasses: a warm install defines these on every run, and a
NamedTuple is created in ~0.05 ms where a frozen dataclass takes ~0.4 ms (it compiles its methods).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import NamedTuple

    from ..build.built import BuiltWheel
    from ..index import Link
    from ..store import CachedWheel
else:
    # Not typing's NamedTuple: that one compiles each field's annotation (~0.2M instructions).
    from .._record import NamedTuple


class Installed(NamedTuple):
    """Already in the target environment."""

    version: str
    dist_info: Path


class Cached(NamedTuple):
    """A wheel already unpacked in the cache; ``link``: the offer it was found to be
    (``cachedb._cachekey``), None when the cache alone answered (``--offline``)."""

    wheel: CachedWheel
    link: Link | None = None


class Indexed(NamedTuple):
    """A wheel file an index or find-links location offers."""

    link: Link


class Direct(NamedTuple):
    """What the user named by path or URL: a wheel, an sdist, a project directory, a git URL."""

    url: str  # https://..., file:///... or git+...
    filename: str
    hashes: frozenset[str]  # "sha256:<hex>"
    editable: bool = False

    @property
    def is_wheel(self) -> bool:
        return self.filename.lower().endswith(".whl") and not self.url.lower().startswith("git+")


class Sdist(NamedTuple):
    """A source distribution an index or find-links location offers; built if chosen."""

    link: Link


class Built(NamedTuple):
    """A wheel built (now or by an earlier run) from a source the user named directly."""

    wheel: BuiltWheel


Source = Installed | Cached | Indexed | Direct | Sdist | Built


def allowed_sha256(hashes: frozenset[str]) -> set[str]:
    """The sha256 digests among a requirement's ``--hash`` values."""
    return {h.split(":", 1)[1] for h in hashes if h.startswith("sha256:")}
