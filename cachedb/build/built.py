"""What a build hands on: the stored wheel of a source."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from packaging.utils import parse_wheel_filename

from ..errors import BuildError
from ..wheel.dist_info import dist_info_metadata
from .sources import BuildSource


@dataclass(frozen=True)
class BuiltWheel:
    """A wheel built from a source, unpacked in the cache and leased for this run."""

    source: BuildSource
    archive_id: str
    path: Path  # canonical archive directory
    filename: str
    fresh: bool = False  # built by this run (not found in the cache)

    @property
    def version(self) -> str:
        return str(parse_wheel_filename(self.filename)[1])


def metadata_of(archive: Path) -> bytes:
    """The METADATA of a built wheel's archive directory."""
    found = dist_info_metadata(archive)
    if found is None:
        raise BuildError(f"no .dist-info in {archive}")
    return found
