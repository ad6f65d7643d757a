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
from collections.abc import Callable, Sequence

from .._names import canonical_name

_OPERATORS: dict[str, Callable[[tuple[int, ...], tuple[int, ...]], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
_DIGITS = frozenset("0123456789")
_BLANK = " \t"  # the only white space PEP 508 has
# What a requirement that names a file ends with: parse_requirement reads it as a path.
FILE_SUFFIXES = (".whl", ".tar.gz", ".zip")
_CANONICAL_SUFFIXES = tuple(suffix.replace(".", "-") for suffix in FILE_SUFFIXES)

# Read by hand, not by a regular expression: compiling one costs more than a
# nothing-to-do install spends reading all its requirements.

Release = tuple[int, ...]


class PlainRequirement:
    """A plain requirement: its canonical name, its comparisons (all must hold) and the
    extra of its marker ``extra == "x"`` (None: no marker)."""

    __slots__ = ("extra", "name", "specs")

    def __init__(
        self, name: str, specs: tuple[tuple[str, Release], ...], extra: str | None
    ) -> None:
        self.name = name
        self.specs = specs
        self.extra = extra


def parse_plain(text: str) -> PlainRequirement | None:
    """``text`` as a plain requirement; None where packaging must read it."""
    head, semicolon, marker = text.partition(";")
    extra = None
    if semicolon:
        extra = _extra_marker(marker)
        if extra is None:
            return None
    cut = len(head)
    for i, char in enumerate(head):
        if char in "=!<>":
            cut = i
            break
    name = head[:cut].strip(_BLANK)
    if not _is_name(name):
        return None
    specs = []
    if cut < len(head):
        for part in head[cut:].split(","):
            spec = _comparison(part.strip(_BLANK))
            if spec is None:
                return None
            specs.append(spec)
    return PlainRequirement(canonical_name(name), tuple(specs), extra)


def _is_name(name: str) -> bool:
    return (
        name != ""
        and name[0] not in "._-"
        and name[-1] not in "._-"
        and _NAME_CHARS.issuperset(name)
    )


def _comparison(text: str) -> tuple[str, Release] | None:
    op = text[:2] if text[:2] in _OPERATORS else text[:1]
    if op not in _OPERATORS:
        return None
    release = plain_release(text[len(op) :].lstrip(_BLANK))
    return None if release is None else (op, release)


def _extra_marker(marker: str) -> str | None:
    """The name in ``extra == "name"`` (either quotes, blanks around); None otherwise."""
    rest = marker.strip(_BLANK)
    if not rest.startswith("extra"):
        return None
    rest = rest[len("extra") :].lstrip(_BLANK)
    if not rest.startswith("=="):
        return None
    quoted = rest[2:].lstrip(_BLANK)
    if len(quoted) < 3 or quoted[0] not in "'\"" or quoted[-1] != quoted[0]:
        return None
    name = quoted[1:-1]
    return name if _is_name(name) else None


def plain_release(version: str) -> Release | None:
    """A version of digits and dots as the numbers PEP 440 compares; None for any other."""
    parts = version.split(".")
    if not all(part and _DIGITS.issuperset(part) for part in parts):
        return None
    numbers = [int(part) for part in parts]
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
