"""What a build hands on: the stored wheel of a source."""

from __future__ import annotations

from pathlib import Path

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from ..errors import BuildError
from ..wheel.dist_info import dist_info_metadata
from .sources import BuildSource

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from .._record import NamedTuple


class BuiltWheel(NamedTuple):
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


def checked_version(source: BuildSource, filename: str, rank: int | None) -> str:
    """The version of the wheel ``filename`` a backend built from ``source``: one of that
    project, which the target can use (``rank``: its best tag's position, None if none)."""
    try:
        name, version, _, _ = parse_wheel_filename(filename)
    except InvalidWheelFilename as exc:
        raise BuildError(f"the backend of {source.shown} built {filename}: {exc}") from None
    if name != source.name:
        raise BuildError(f"{source.shown} built a wheel of {name}, not of {source.name}")
    if rank is None:
        raise BuildError(f"{source.shown} built {filename}, which this target cannot use")
    return str(version)
