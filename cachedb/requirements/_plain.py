"""Requirements plain enough to read without packaging.

A nothing-to-do install of ``name==1.2`` costs more to import packaging for than to
answer. This reads the plainest requirements itself: a name, optionally a list of
comparisons (``==``, ``!=``, ``<=``, ``>=``, ``<``, ``>``) with plain release versions
(digits and dots), optionally the one marker ``extra == "name"``; everything else
(extras, wildcards, pre-releases, local versions, ``~=``, ``===``, URLs, other
markers) is None, left to packaging. Between plain release versions PEP 440's
comparisons are those of their numbers, trailing zeros aside, which is all
``contains`` does. tests/test_plain_requirements.py holds both readings equal to
packaging's on random input.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from typing import NamedTuple

from .._names import canonical_name

_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_RELEASE = r"[0-9]+(?:\.[0-9]+)*"
_COMPARISON = rf"(==|!=|<=|>=|<|>)[ \t]*({_RELEASE})"
_LINE = re.compile(
    rf"[ \t]*(?P<name>{_NAME})[ \t]*"
    rf"(?P<specs>{_COMPARISON}(?:[ \t]*,[ \t]*{_COMPARISON})*)?[ \t]*"
    rf"(?:;[ \t]*extra[ \t]*==[ \t]*(?:\"(?P<dq>{_NAME})\"|'(?P<sq>{_NAME})')[ \t]*)?"
)
_SPEC = re.compile(_COMPARISON)
_RELEASE_ONLY = re.compile(_RELEASE)
_OPERATORS: dict[str, Callable[[tuple[int, ...], tuple[int, ...]], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
# What a requirement that names a file ends with: parse_requirement reads it as a path.
FILE_SUFFIXES = (".whl", ".tar.gz", ".zip")
_CANONICAL_SUFFIXES = tuple(suffix.replace(".", "-") for suffix in FILE_SUFFIXES)

Release = tuple[int, ...]


class PlainRequirement(NamedTuple):
    name: str  # canonical
    specs: tuple[tuple[str, Release], ...]  # (operator, release) pairs, all must hold
    extra: str | None  # the extra of the marker ``extra == "x"``; None: no marker


def parse_plain(text: str) -> PlainRequirement | None:
    """``text`` as a plain requirement; None where packaging must read it."""
    match = _LINE.fullmatch(text)
    if match is None:
        return None
    specs = tuple((op, release) for op, version in _SPEC.findall(match["specs"] or "")
                  for release in [_release(version)])  # fmt: skip
    return PlainRequirement(canonical_name(match["name"]), specs, match["dq"] or match["sq"])


def plain_release(version: str) -> Release | None:
    """A version of digits and dots as the numbers PEP 440 compares; None for any other."""
    if _RELEASE_ONLY.fullmatch(version) is None:
        return None
    return _release(version)


def _release(version: str) -> Release:
    numbers = [int(part) for part in version.split(".")]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


def contains(specs: Sequence[tuple[str, Release]], version: Release) -> bool:
    """Whether every comparison holds for a plain release ``version``."""
    return all(_OPERATORS[op](version, release) for op, release in specs)


def names_a_file(name: str) -> bool:
    """Whether a requirement of this canonical name may be written as a wheel or sdist
    file name (``x.whl``, read as a path instead); also true of some that are not."""
    return name.endswith(_CANONICAL_SUFFIXES)


__all__ = [
    "FILE_SUFFIXES",
    "PlainRequirement",
    "Release",
    "contains",
    "names_a_file",
    "parse_plain",
    "plain_release",
]
