"""Requirements plain enough to read without packaging.

A nothing-to-do install of ``name==1.2`` costs more to import packaging for than to
answer. This reads the plainest requirements itself: a name, optionally a list of
comparisons (``==``, ``!=``, ``<=``, ``>=``, ``<``, ``>``) with plain release versions
(digits and dots), optionally a plain marker (``cachedb._markers``); everything else
(extras, wildcards, pre-releases, local versions, ``~=``, ``===``, URLs, other
markers) is None, left to packaging. Between plain release versions PEP 440's
comparisons are those of their numbers, trailing zeros aside, which is all
``contains`` does. tests/test_plain_requirements.py holds both readings equal to
packaging's on random input.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._names import canonical_name
from .._plain_values import OPERATORS, Release, is_name, plain_release

TYPE_CHECKING = False  # typing's, without importing typing (about 12M instructions)
if TYPE_CHECKING:
    from .._markers import Marker

_BLANK = " \t"  # the only white space PEP 508 has
# What a requirement that names a file ends with: parse_requirement reads it as a path.
FILE_SUFFIXES = (".whl", ".tar.gz", ".zip")
_CANONICAL_SUFFIXES = tuple(suffix.replace(".", "-") for suffix in FILE_SUFFIXES)

# Read by hand, not by a regular expression: compiling one costs more than a
# nothing-to-do install spends reading all its requirements.


class PlainRequirement:
    """A plain requirement: its canonical name, its comparisons (all must hold) and its
    marker (``cachedb._markers``; None: none)."""

    __slots__ = ("marker", "name", "specs")

    def __init__(
        self, name: str, specs: tuple[tuple[str, Release], ...], marker: Marker | None
    ) -> None:
        self.name = name
        self.specs = specs
        self.marker = marker


def parse_plain(text: str) -> PlainRequirement | None:
    """``text`` as a plain requirement; None where packaging must read it."""
    head, semicolon, marker_text = text.partition(";")
    marker = None
    if semicolon:
        from .._markers import Marker

        marker = Marker.plain(marker_text)
        if marker is None:
            return None
    cut = len(head)
    for i, char in enumerate(head):
        if char in "=!<>":
            cut = i
            break
    name = head[:cut].strip(_BLANK)
    if not is_name(name):
        return None
    specs = []
    if cut < len(head):
        for part in head[cut:].split(","):
            spec = _comparison(part.strip(_BLANK))
            if spec is None:
                return None
            specs.append(spec)
    return PlainRequirement(canonical_name(name), tuple(specs), marker)


def _comparison(text: str) -> tuple[str, Release] | None:
    op = text[:2] if text[:2] in OPERATORS else text[:1]
    if op not in OPERATORS:
        return None
    release = plain_release(text[len(op) :].lstrip(_BLANK))
    return None if release is None else (op, release)


def contains(specs: Sequence[tuple[str, Release]], version: Release) -> bool:
    """Whether every comparison holds for a plain release ``version``."""
    return all(OPERATORS[op](version, release) for op, release in specs)


def names_a_file(name: str) -> bool:
    """Whether a requirement of this canonical name may be written as a wheel or sdist
    file name (``x.whl``, read as a path instead); also true of some that are not."""
    return name.endswith(_CANONICAL_SUFFIXES)


__all__ = [
    "FILE_SUFFIXES",
    "OPERATORS",
    "PlainRequirement",
    "Release",
    "contains",
    "is_name",
    "names_a_file",
    "parse_plain",
    "plain_release",
]
