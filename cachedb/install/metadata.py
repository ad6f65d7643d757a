"""Reading dependencies out of core metadata (METADATA files)."""

from __future__ import annotations

from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from .._headers import header_values
from ..errors import InvalidWheel


def requires_dist(metadata: bytes, what: str) -> list[Requirement]:
    out = []
    for value in header_values(metadata, "Requires-Dist"):
        try:
            out.append(Requirement(str(value)))
        except InvalidRequirement as exc:
            raise InvalidWheel(f"{what} has an invalid Requires-Dist {value!r}: {exc}") from exc
    return out


def dist_info_metadata(directory: Path) -> bytes:
    """METADATA of the single ``*.dist-info`` inside ``directory`` (an archive or a dist-info)."""
    if directory.name.endswith(".dist-info"):
        return (directory / "METADATA").read_bytes()
    for entry in directory.iterdir():
        if entry.name.endswith(".dist-info"):
            return (entry / "METADATA").read_bytes()
    raise InvalidWheel(f"no .dist-info directory in {directory}")
