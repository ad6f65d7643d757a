"""Wheel and sdist filenames read without ``packaging.utils``.

``packaging.utils`` imports ``packaging.tags`` (logging, platform, subprocess,
sysconfig): ~20 ms of CPU a warm install would spend on nothing else. The plain
readers here take the common filenames (ASCII, names of ``[A-Za-z0-9._]``, build tags
of ``[A-Za-z0-9._]``) and answer what ``packaging.utils.parse_wheel_filename`` and
``parse_sdist_filename`` answer, with tags as the strings the target's tag list holds
(``str(Tag)``); every other filename goes to packaging, so its answers and its error
texts stay packaging's. tests/test_plain_filenames.py compares the two on random names.
"""

from __future__ import annotations

from packaging.version import InvalidVersion, Version

from ._names import canonical_name

TYPE_CHECKING = False  # typing's, without importing typing
if TYPE_CHECKING:
    from typing import NamedTuple

    from packaging.utils import BuildTag, NormalizedName
else:
    from ._record import NamedTuple

# PEP 427's escaped project name, restricted to ASCII (``\w`` is wider in packaging's).
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._")
_DIGITS = frozenset("0123456789")
_SDIST_SUFFIXES = (".tar.gz", ".zip")


class WheelName(NamedTuple):
    """What a wheel's filename says: ``parse_wheel_filename``'s four fields."""

    name: NormalizedName  # canonical (PEP 503)
    version: Version
    build: BuildTag  # () or (number, rest)
    tags: frozenset[str]  # "interpreter-abi-platform", lower case, as str(Tag)


def parse_wheel_filename(filename: str) -> WheelName:
    """``filename``'s fields; raises packaging's ``InvalidWheelFilename`` (its text)."""
    plain = _plain_wheel(filename)
    return _packaging_wheel(filename) if plain is None else plain


def read_wheel_filename(filename: str) -> WheelName | None:
    """``filename``'s fields, or None where packaging refuses it."""
    plain = _plain_wheel(filename)
    if plain is not None:
        return plain
    from packaging.utils import InvalidWheelFilename

    try:
        return _packaging_wheel(filename)
    except InvalidWheelFilename:
        return None


def _packaging_wheel(filename: str) -> WheelName:
    from packaging.utils import parse_wheel_filename as parse

    name, version, build, tags = parse(filename)
    return WheelName(name, version, build, frozenset(str(tag) for tag in tags))


def parse_sdist_filename(filename: str) -> tuple[NormalizedName, Version]:
    """``(canonical name, version)``; raises packaging's ``InvalidSdistFilename``."""
    plain = _plain_sdist(filename)
    if plain is not None:
        return plain
    from packaging.utils import parse_sdist_filename as parse

    return parse(filename)


def read_sdist_filename(filename: str) -> tuple[NormalizedName, Version] | None:
    """``(canonical name, version)``, or None where packaging refuses ``filename``."""
    plain = _plain_sdist(filename)
    if plain is not None:
        return plain
    from packaging.utils import InvalidSdistFilename
    from packaging.utils import parse_sdist_filename as parse

    try:
        return parse(filename)
    except InvalidSdistFilename:
        return None


def _plain_wheel(filename: str) -> WheelName | None:
    """The fields of a plain wheel filename; None: not plain (packaging decides)."""
    if not filename.endswith(".whl") or not filename.isascii():
        return None
    parts = filename[:-4].split("-")
    build: BuildTag | None
    if len(parts) == 6:
        build = _plain_build(parts[2])
        if build is None:
            return None
    elif len(parts) == 5:
        build = ()
    else:
        return None
    name = parts[0]
    if not name or "__" in name or not _NAME_CHARS.issuperset(name):
        return None
    tags = _plain_tags(parts[-3], parts[-2], parts[-1])
    if tags is None:
        return None
    try:
        version = Version(parts[1])
    except InvalidVersion:
        return None
    return WheelName(canonical_name(name), version, build, tags)


def _plain_build(text: str) -> tuple[int, str] | None:
    """PEP 427's build tag: leading digits (its number), then the rest."""
    digits = 0
    while digits < len(text) and text[digits] in _DIGITS:
        digits += 1
    rest = text[digits:]
    if not digits or not _NAME_CHARS.issuperset(rest):
        return None
    return (int(text[:digits]), rest)


def _plain_tags(interpreters: str, abis: str, platforms: str) -> frozenset[str] | None:
    """The tags of a (compressed) tag set, each component's members non-empty ASCII
    words (an interpreter an identifier), or None."""
    split = [part.lower().split(".") for part in (interpreters, abis, platforms)]
    for members in split:
        if not all(m and _NAME_CHARS.issuperset(m) for m in members):
            return None
    if not all(m.isidentifier() for m in split[0]):
        return None
    return frozenset(f"{i}-{a}-{p}" for i in split[0] for a in split[1] for p in split[2])


def _plain_sdist(filename: str) -> tuple[NormalizedName, Version] | None:
    """``(canonical name, version)`` of a plain sdist filename; None: not plain."""
    if not filename.isascii():
        return None
    for suffix in _SDIST_SUFFIXES:
        if filename.endswith(suffix):
            stem = filename[: -len(suffix)]
            break
    else:
        return None
    name, _, version = stem.rpartition("-")
    if not name or not _NAME_CHARS.issuperset(name.replace("-", "")):
        return None
    try:
        return canonical_name(name), Version(version)
    except InvalidVersion:
        return None


__all__ = [
    "WheelName",
    "parse_sdist_filename",
    "parse_wheel_filename",
    "read_sdist_filename",
    "read_wheel_filename",
]
