"""Project names and release versions plain enough to read without packaging.

Shared by the plain requirement reader (_pep508.py), the plain marker reader
(_markers.py) and the nothing-to-do check (install/noop.py). Between plain release
versions (digits and dots) PEP 440's comparisons are those of their numbers, trailing
zeros aside.
tests/test_plain_requirements.py compares both with packaging on random input.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable

Release = tuple[int, ...]

OPERATORS: dict[str, Callable[[Release, Release], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
_DIGITS = frozenset("0123456789")


def is_name(name: str) -> bool:
    """Whether ``name`` is a valid project (or extra) name, ASCII letters and digits
    first and last, ``.``, ``_``, ``-`` between."""
    return (
        name != ""
        and name[0] not in "._-"
        and name[-1] not in "._-"
        and NAME_CHARS.issuperset(name)
    )


def plain_release(version: str) -> Release | None:
    """A version of digits and dots as the numbers PEP 440 compares; None for any other."""
    parts = version.split(".")
    if not all(part and _DIGITS.issuperset(part) for part in parts):
        return None
    numbers = [int(part) for part in parts]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


def contains(comparisons: Iterable[tuple[str, Release]], version: Release) -> bool:
    """Whether every comparison (an operator, a plain release) holds for ``version``."""
    return all(OPERATORS[op](version, release) for op, release in comparisons)


__all__ = ["NAME_CHARS", "OPERATORS", "Release", "contains", "is_name", "plain_release"]
