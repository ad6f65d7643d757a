"""Environment markers (PEP 508) as cachedb evaluates them.

``packaging.markers`` costs a warm install more to import (its parser, tokenizer,
dataclasses, inspect, packaging.tags) than reading all its markers takes. ``Marker``
reads the plain ones itself: clauses ``variable op "value"`` joined by ``and``/``or``,
in parentheses or not, where the variable is ``python_version`` or
``python_full_version`` compared with a plain release (``==``, ``!=``, ``<=``, ``>=``,
``<``, ``>``), a platform name compared by ``==``/``!=`` with a value no version could
be, or ``extra`` compared by ``==``/``!=`` with a project name. It keeps the tree
packaging's parser makes, so ``str`` and ``evaluate`` answer as packaging's
``Marker`` does; where a target's value is not plain (a missing variable, an extra
set, ``3.13.0+``) it asks packaging. ``Marker.of`` wraps packaging's marker for
everything else. tests/test_plain_pep508.py compares both on random input.
"""

from __future__ import annotations

from ._names import canonical_name
from ._plain_values import OPERATORS, is_name, plain_release

TYPE_CHECKING = False  # typing's, without importing typing (about 12M instructions)
if TYPE_CHECKING:
    from collections.abc import Mapping

    from packaging.markers import Marker as PackagingMarker

    Clause = tuple[str, str, str]  # variable, operator, value
    # Clauses and groups (parenthesised) with "and"/"or" between: packaging's tree.
    Tree = list["Clause | Tree | str"]

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
_MAX_DEPTH = 4  # deeper nesting is left to packaging (which has its own limit)


class Marker:
    """A marker: ``evaluate`` against a target's environment, ``str`` as packaging's."""

    __slots__ = ("_packaging", "_text", "_tree")

    def __init__(
        self, text: str, tree: Tree | None, packaging: PackagingMarker | None = None
    ) -> None:
        self._text = text
        self._tree = tree
        self._packaging = packaging

    @classmethod
    def plain(cls, text: str) -> Marker | None:
        """``text`` (what follows ``;``) as a plain marker; None where packaging must read it."""
        found = _group(text, 0, 0)
        if found is None or found[1] != len(text):
            return None
        tree = found[0]
        return cls(_format(tree), tree)

    @classmethod
    def of(cls, marker: PackagingMarker) -> Marker:
        """packaging's ``marker``, evaluated by packaging."""
        return cls(str(marker), None, marker)

    def evaluate(self, environment: Mapping[str, str] | None = None) -> bool:
        """Whether the marker holds in ``environment`` (the target's values; ``extra``
        the extra asked, none if missing), as packaging's ``Marker.evaluate``."""
        if environment is not None:
            answer = self.holds(environment)
            if answer is not None:
                return answer
        return self._as_packaging().evaluate(environment)

    def holds(self, environment: Mapping[str, str]) -> bool | None:
        """``evaluate``'s answer, read without packaging; None where only packaging
        answers (a marker packaging read, a target's value that is not plain)."""
        return None if self._tree is None else _evaluate(self._tree, environment)

    def only_for_extras(self) -> frozenset[str] | None:
        """The extras (canonical names) the marker can hold for, where it holds for
        none without an extra asked; None where it may hold with no extra (or only
        packaging knows)."""
        return None if self._tree is None else _only_for_extras(self._tree)

    def _as_packaging(self) -> PackagingMarker:
        if self._packaging is None:
            from packaging.markers import Marker as PackagingMarker

            self._packaging = PackagingMarker(self._text)
        return self._packaging

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"<Marker({self._text!r})>"

    def __hash__(self) -> int:
        return hash(self._text)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Marker):
            return NotImplemented
        return self._text == other._text


def _group(text: str, at: int, depth: int) -> tuple[Tree, int] | None:
    """The atoms joined by ``and``/``or`` from ``at``, and where they end (blanks after
    the last one read)."""
    tree: Tree = []
    while True:
        found = _atom(text, at, depth)
        if found is None:
            return None
        atom, at = found
        tree.append(atom)
        for word in ("and", "or"):
            if text.startswith(word, at) and text[at + len(word) : at + len(word) + 1] in (
                " ",
                "\t",
            ):
                tree.append(word)
                at += len(word)
                break
        else:
            return tree, at


def _skip_blanks(text: str, at: int) -> int:
    while at < len(text) and text[at] in _BLANK:
        at += 1
    return at


def _atom(text: str, at: int, depth: int) -> tuple[Clause | Tree, int] | None:
    """A clause or a parenthesised group at ``at`` (blanks around it read)."""
    at = _skip_blanks(text, at)
    if text.startswith("(", at):
        if depth >= _MAX_DEPTH:
            return None
        found = _group(text, at + 1, depth + 1)
        if found is None or not text.startswith(")", found[1]):
            return None
        return found[0], _skip_blanks(text, found[1] + 1)
    found_clause = _clause(text, at)
    if found_clause is None:
        return None
    return found_clause[0], _skip_blanks(text, found_clause[1])


def _clause(text: str, at: int) -> tuple[Clause, int] | None:
    end = at
    while end < len(text) and text[end] in _LETTERS:
        end += 1
    variable = text[at:end]
    at = _skip_blanks(text, end)
    op = text[at : at + 2] if text[at : at + 2] in OPERATORS else text[at : at + 1]
    if op not in OPERATORS:
        return None
    at = _skip_blanks(text, at + len(op))
    quote = text[at : at + 1]
    if quote not in ("'", '"'):
        return None
    close = text.find(quote, at + 1)
    if close < 0:
        return None
    value = text[at + 1 : close]
    if "\\" in value or not value.isprintable():
        return None
    if variable in _VERSIONS:
        ok = plain_release(value) is not None
    elif variable in _NAMES:
        # A value no version could be ("win32", "linux"): compared as text by any packaging.
        ok = op in ("==", "!=") and value[:1].isalpha() and value[:1] not in "vV"
        ok = ok and value.isascii()
    else:
        ok = variable == "extra" and op in ("==", "!=") and is_name(value)
        value = canonical_name(value)  # PEP 685: packaging keeps extras canonical
    return ((variable, op, value), close + 1) if ok else None


def _evaluate(tree: Tree, environment: Mapping[str, str]) -> bool | None:
    """packaging's evaluation of ``tree``: "and" binds tighter than "or"; None where a
    target's value is not one this reads."""
    groups: list[list[bool]] = [[]]
    for item in tree:
        if item == "or":
            groups.append([])
        elif item == "and":
            continue
        else:
            if isinstance(item, list):
                holds = _evaluate(item, environment)
            else:
                holds = _holds(item, environment)  # type: ignore[arg-type]
            if holds is None:
                return None
            groups[-1].append(holds)
    return any(all(group) for group in groups)


def _only_for_extras(tree: Tree) -> frozenset[str] | None:
    """Atoms joined by "and" hold only for an extra every ``extra ==`` among them (or
    in a group among them) names; groups joined by "or" for any of theirs."""
    extras: set[str] = set()
    named: frozenset[str] | None = None  # of the "and" run being read; None: no limit
    for item in [*tree, "or"]:
        if item == "or":
            if named is None:
                return None
            extras |= named
            named = None
        elif not isinstance(item, str):
            if isinstance(item, list):
                limit = _only_for_extras(item)
            else:
                variable, op, value = item
                limit = frozenset({value}) if (variable, op) == ("extra", "==") else None
            if limit is not None:
                named = limit if named is None else named & limit
    return frozenset(extras)


def _holds(clause: Clause, environment: Mapping[str, str]) -> bool | None:
    variable, op, value = clause
    if variable == "extra":
        extra = environment.get("extra", "")
        if not isinstance(extra, str):
            return None  # a set of extras: packaging's reading
        return (canonical_name(extra) == value) == (op == "==")
    have = environment.get(variable)
    if not isinstance(have, str):
        return None
    if variable in _VERSIONS:
        mine, theirs = plain_release(have), plain_release(value)
        if mine is None or theirs is None:
            return None
        return OPERATORS[op](mine, theirs)
    return (have == value) == (op == "==")


def _format(tree: Clause | Tree | str, first: bool = True) -> str:
    """packaging's text of a marker tree."""
    if isinstance(tree, tuple):
        variable, op, value = tree
        quoted = f'"{value}"' if '"' not in value else f"'{value}'"
        return f"{variable} {op} {quoted}"
    if isinstance(tree, str):
        return tree
    if len(tree) == 1 and isinstance(tree[0], (list, tuple)):
        return _format(tree[0], first)  # packaging drops the parentheses of one atom
    inner = " ".join(_format(item, False) for item in tree)
    return inner if first else f"({inner})"


__all__ = ["Marker"]
