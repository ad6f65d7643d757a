"""Environment markers plain enough to evaluate without packaging.

Most Requires-Dist markers compare the Python version or the platform:
``python_version < "3.11"``, ``sys_platform == "win32" and python_version >= "3.9"``.
This reads clauses ``variable op "value"`` joined by ``and``/``or`` (no parentheses),
where the variable is ``python_version`` or ``python_full_version`` compared with a
plain release (``==``, ``!=``, ``<=``, ``>=``, ``<``, ``>``), a platform name
compared by ``==``/``!=`` with a value no version could be, or ``extra == "name"``;
anything else is None, left to packaging. ``evaluate`` answers for the base
dependencies (no extra asked) as packaging's ``Marker.evaluate`` does, or None
where the target's value is not plain. tests/test_plain_requirements.py compares
the two on random markers and targets.
"""

from __future__ import annotations

from .._names import canonical_name
from ._plain import OPERATORS, is_name, plain_release

TYPE_CHECKING = False  # typing's, without importing typing (about 12M instructions)
if TYPE_CHECKING:
    from collections.abc import Mapping

    Clause = tuple[str, str, str]  # variable, operator, value
    # Clauses joined by "and", those groups joined by "or" (as "and" binds tighter).
    Marker = tuple[tuple[Clause, ...], ...]

_VERSIONS = frozenset({"python_version", "python_full_version"})
_NAMES = frozenset(
    {
        "sys_platform",
        "platform_system",
        "os_name",
        "platform_machine",
        "implementation_name",
        "platform_python_implementation",
    }
)
_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_BLANK = " \t"


def parse_marker(text: str) -> Marker | None:
    """``text`` (what follows ``;``) as a plain marker; None where packaging must read it."""
    groups: list[tuple[Clause, ...]] = []
    group: list[Clause] = []
    rest = text.strip(_BLANK)
    while True:
        found = _clause(rest)
        if found is None:
            return None
        clause, rest = found
        group.append(clause)
        if not rest:
            groups.append(tuple(group))
            return tuple(groups)
        word, blank, rest = rest.partition(" ")
        if not blank or word not in ("and", "or"):
            return None
        if word == "or":
            groups.append(tuple(group))
            group = []
        rest = rest.lstrip(_BLANK)


def _clause(text: str) -> tuple[Clause, str] | None:
    """The clause ``text`` starts with and what follows it (blanks dropped)."""
    end = 0
    while end < len(text) and text[end] in _LETTERS:
        end += 1
    variable, rest = text[:end], text[end:].lstrip(_BLANK)
    op = rest[:2] if rest[:2] in OPERATORS else rest[:1]
    if op not in OPERATORS:
        return None
    rest = rest[len(op) :].lstrip(_BLANK)
    quote = rest[:1]
    if quote not in ("'", '"'):
        return None
    close = rest.find(quote, 1)
    if close < 0:
        return None
    value, rest = rest[1:close], rest[close + 1 :]
    if rest and rest[0] not in _BLANK:
        return None
    if variable in _VERSIONS:
        ok = plain_release(value) is not None
    elif variable in _NAMES:
        # A value no version could be ("win32", "linux"): compared as text by any packaging.
        ok = op in ("==", "!=") and value[:1].isalpha() and value[:1] not in "vV"
        ok = ok and value.isascii()
    else:
        ok = variable == "extra" and op == "==" and is_name(value)
    return ((variable, op, value), rest.lstrip(_BLANK)) if ok else None


def evaluate(marker: Marker, environment: Mapping[str, str]) -> bool | None:
    """Whether ``marker`` holds on the target, for the base dependencies (no extra);
    None where the target's value is not one this reads."""
    for group in marker:
        holds = True
        for variable, op, value in group:
            if variable == "extra":
                holds = False  # no extra is asked: ``extra`` is ""
                continue
            have = environment.get(variable)
            if have is None:
                return None
            if variable in _VERSIONS:
                mine, theirs = plain_release(have), plain_release(value)
                if mine is None or theirs is None:
                    return None
                holds = holds and OPERATORS[op](mine, theirs)
            else:
                holds = holds and (have == value) == (op == "==")
        if holds:
            return True
    return False


def only_for_extras(marker: Marker) -> frozenset[str] | None:
    """The extras (canonical names) ``marker`` can hold for, where it holds for none
    without an extra asked; None where it may hold with no extra.

    Only the ``extra`` clauses are read: a group (clauses joined by ``and``) holds
    for at most the one extra all its ``extra ==`` clauses name, and for none without
    one. PEP 685 compares extra names canonicalised, as packaging does.
    """
    extras: set[str] = set()
    for group in marker:
        named = {canonical_name(value) for variable, _, value in group if variable == "extra"}
        if not named:
            return None
        if len(named) == 1:
            extras |= named
    return frozenset(extras)


__all__ = ["evaluate", "only_for_extras", "parse_marker"]
