"""Reading dependencies out of core metadata (METADATA files)."""

from __future__ import annotations

from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .._headers import header_values
from ..errors import InvalidWheel
from ..wheel import dist_info as wheel_dist_info


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
    data = wheel_dist_info.dist_info_metadata(directory)
    if data is None:
        raise InvalidWheel(f"no .dist-info directory in {directory}")
    return data


def _fields(metadata: bytes, what: str) -> dict[str, object]:
    """What resolving relies on, normalised: the name, the version, the dependencies."""
    names = header_values(metadata, "Name")
    versions = header_values(metadata, "Version")
    try:
        version: object = Version(versions[0]) if versions else None
    except InvalidVersion:
        version = versions[0]
    return {
        "Name": canonicalize_name(names[0]) if names else None,
        "Version": version,
        "Requires-Dist": sorted(str(r) for r in requires_dist(metadata, what)),
    }


def check_agrees(served: bytes, own: bytes, filename: str) -> None:
    """Refuse a wheel whose own METADATA disagrees with the metadata its index served for
    it (PEP 658), which the resolution was made with (pip refuses it too)."""
    told = _fields(served, f"the index's metadata of {filename}")
    has = _fields(own, filename)
    for field, value in told.items():
        if has[field] != value:
            raise InvalidWheel(
                f"the index's metadata of {filename} disagrees with the wheel's own METADATA "
                f"on {field} ({_show(value)} against {_show(has[field])}); refusing it"
            )


def _show(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(value) or "none"
    return str(value)
