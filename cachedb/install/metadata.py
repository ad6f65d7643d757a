"""Reading dependencies out of core metadata (METADATA files)."""

from __future__ import annotations

from pathlib import Path

from packaging.version import InvalidVersion, Version

from .._headers import header_values
from .._names import canonical_name
from .._pep508 import InvalidRequirement, Requirement, parse_pep508
from ..errors import InvalidWheel
from ..wheel import dist_info as wheel_dist_info


def requires_dist(
    metadata: bytes, what: str, extras: frozenset[str] | None = None
) -> list[Requirement]:
    """The Requires-Dist lines of ``metadata``; with ``extras`` (canonical names), without
    those that can hold only for other extras (``for_other_extras``)."""
    out = []
    for value in header_values(metadata, "Requires-Dist"):
        try:
            req = parse_pep508(str(value))
        except InvalidRequirement as exc:
            raise InvalidWheel(f"{what} has an invalid Requires-Dist {value!r}: {exc}") from exc
        if extras is None or not for_other_extras(req, extras):
            out.append(req)
    return out


def for_other_extras(req: Requirement, extras: frozenset[str]) -> bool:
    """Whether the Requires-Dist ``req`` holds only for extras outside ``extras`` (never
    for the base dependencies), by its plain marker (``Marker.only_for_extras``).

    Most lines of a project's METADATA are of extras nobody asked for (``pytest ;
    extra == "test"``): left out here, they are never merged or evaluated again.
    tests/test_plain_requirements.py compares the answer with packaging's markers.
    """
    only = None if req.marker is None else req.marker.only_for_extras()
    return only is not None and only.isdisjoint(extras)


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
        "Name": canonical_name(names[0]) if names else None,
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
