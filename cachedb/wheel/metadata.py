"""A wheel's own description of itself: its ``.dist-info`` directory, the
Wheel-Version of WHEEL, and the Name and Version of METADATA, which must agree
with its filename.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from email.parser import HeaderParser

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .._headers import simple_header_values
from ..errors import InvalidWheel


def find_dist_info(directories: Iterable[str], name: str, version: Version) -> str:
    """The one ``.dist-info`` among the top-level ``directories`` the files are in."""
    dist_infos = sorted(d for d in directories if "/" not in d and d.endswith(".dist-info"))
    if len(dist_infos) != 1:
        raise InvalidWheel(
            f"wheel must contain exactly one .dist-info directory, found {len(dist_infos)}"
        )
    dist_info = dist_infos[0]
    stem = dist_info[: -len(".dist-info")]
    dname, _, dversion = stem.rpartition("-")
    try:
        same_version = Version(dversion) == version
    except InvalidVersion:
        same_version = False
    if canonicalize_name(dname) != name or not same_version:
        raise InvalidWheel(
            f"dist-info directory {dist_info!r} disagrees with the wheel filename "
            f"({name} {version})"
        )
    return dist_info


def first_headers(data: bytes, keys: tuple[str, ...]) -> list[str]:
    """The first value of each header in ``keys`` ("" if absent), as ``email``'s
    compat32 parser reads the UTF-8 text; split by hand where that gives the same."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidWheel("wheel metadata is not valid UTF-8") from exc
    found = []
    parsed = None
    for key in keys:
        values = simple_header_values(data, key)
        if values is None:
            if parsed is None:
                parsed = HeaderParser().parsestr(text)
            found.append(parsed.get(key) or "")
        else:
            found.append(values[0] if values else "")
    return found


def check_metadata(
    read: Callable[[str], bytes], dist_info: str, name: str, version: Version
) -> None:
    try:
        (wheel_version,) = first_headers(read(f"{dist_info}/WHEEL"), ("Wheel-Version",))
        meta_name, meta_version = first_headers(read(f"{dist_info}/METADATA"), ("Name", "Version"))
    except KeyError as exc:
        raise InvalidWheel(f"wheel is missing {exc.args[0]}") from exc
    wheel_version = wheel_version.strip()
    if wheel_version.split(".", 1)[0] != "1":
        raise InvalidWheel(f"unsupported Wheel-Version {wheel_version!r} (only 1.x is supported)")
    try:
        same_version = Version(meta_version) == version
    except InvalidVersion:
        same_version = False
    if canonicalize_name(meta_name) != name or not same_version:
        raise InvalidWheel(
            f"METADATA names {meta_name} {meta_version}, but the filename says {name} {version}"
        )
