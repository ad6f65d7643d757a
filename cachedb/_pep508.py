"""Requirements (PEP 508) as cachedb's resolvers and installers use them.

``Requirement`` has what packaging's has (``name`` as written, ``extras``,
``specifier`` as packaging's ``SpecifierSet``, ``url``, ``marker`` with
``evaluate``) and the same ``str``, equality and hash. ``parse_pep508`` reads a plain
requirement itself and hands every other text to packaging, whose reading (or
error) becomes the answer: plain is a name, optionally extras (``[a,b]``), optionally
specifiers (in parentheses or not) that ``packaging.specifiers`` reads, optionally a
plain marker (``_markers``); no URL. ``packaging.requirements`` (its parser, tokenizer,
markers and ``packaging.tags`` through them) then loads only for the rest.
tests/test_plain_pep508.py holds every plain reading equal to packaging's.
(requirements/_plain.py is the nothing-to-do check's narrower reader: release numbers
compared as tuples, so that it loads no part of packaging at all.)
"""

from __future__ import annotations

from ._markers import Marker
from ._names import canonical_name
from ._plain_values import NAME_CHARS, is_name

TYPE_CHECKING = False  # typing's, without importing typing (about 12M instructions)
if TYPE_CHECKING:
    from collections.abc import Iterable

    from packaging.requirements import Requirement as PackagingRequirement
    from packaging.specifiers import SpecifierSet

# What a plain version may hold; packaging.specifiers decides whether it is one.
_VERSION_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.*+!_-")
_SPEC_OPERATORS = ("~=", "==", "!=", "<=", ">=", "<", ">")
_BLANK = " \t"


class InvalidRequirement(ValueError):
    """A text packaging does not read as a requirement; the message is packaging's."""


class Requirement:
    """One PEP 508 requirement, as packaging's ``Requirement`` holds it."""

    __slots__ = ("extras", "marker", "name", "specifier", "url")

    def __init__(
        self,
        name: str,
        extras: Iterable[str],
        specifier: SpecifierSet,
        url: str | None = None,
        marker: Marker | None = None,
    ) -> None:
        self.name = name
        self.extras = frozenset(extras)
        self.specifier = specifier
        self.url = url
        self.marker = marker

    @classmethod
    def of(cls, req: PackagingRequirement) -> Requirement:
        """packaging's ``req`` as a ``Requirement``."""
        marker = None if req.marker is None else Marker.of(req.marker)
        return cls(req.name, req.extras, req.specifier, req.url, marker)

    def __str__(self) -> str:
        # packaging's spelling: sorted extras as written, its specifier text, " @ url".
        text = self.name
        if self.extras:
            text += f"[{','.join(sorted(self.extras))}]"
        if self.specifier:
            text += str(self.specifier)
        if self.url:
            text += f" @ {self.url}"
            if self.marker:
                text += " "
        if self.marker:
            text += f"; {self.marker}"
        return text

    def __repr__(self) -> str:
        return f"<Requirement({str(self)!r})>"

    def _key(self) -> tuple[object, ...]:
        extras = frozenset(canonical_name(e) for e in self.extras)
        return (canonical_name(self.name), extras, self.specifier, self.url, self.marker)

    def __hash__(self) -> int:
        return hash(self._key())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Requirement):
            return NotImplemented
        return self._key() == other._key()


def parse_pep508(text: str) -> Requirement:
    """``text`` as a requirement: read plainly where it is plain, else by packaging.
    Raises InvalidRequirement with packaging's message."""
    plain = read_plain(text)
    if plain is not None:
        return plain
    from packaging.requirements import InvalidRequirement as Refused
    from packaging.requirements import Requirement as PackagingRequirement

    try:
        return Requirement.of(PackagingRequirement(text))
    except Refused as exc:
        raise InvalidRequirement(str(exc)) from exc


def read_plain(text: str) -> Requirement | None:
    """``text`` as a plain requirement; None where packaging must read it."""
    head, semicolon, marker_text = text.partition(";")
    if "@" in head:
        return None  # a URL: packaging's
    marker = None
    if semicolon:
        marker = Marker.plain(marker_text)
        if marker is None:
            return None
    head = head.strip(_BLANK)
    end = 0
    while end < len(head) and head[end] in NAME_CHARS:
        end += 1
    name, rest = head[:end], head[end:].lstrip(_BLANK)
    if not is_name(name):
        return None
    extras: list[str] = []
    if rest.startswith("["):
        close = rest.find("]")
        if close < 0:
            return None
        extras = [extra.strip(_BLANK) for extra in rest[1:close].split(",")]
        if not all(is_name(extra) for extra in extras):
            return None
        rest = rest[close + 1 :].lstrip(_BLANK)
    if rest.startswith("("):
        if not rest.endswith(")"):
            return None
        rest = rest[1:-1].strip(_BLANK)
    specifier = _specifier(rest)
    if specifier is None:
        return None
    return Requirement(name, extras, specifier, None, marker)


def _specifier(text: str) -> SpecifierSet | None:
    """``text`` (comparisons separated by commas) as packaging's SpecifierSet; None
    where it is not plain or not one."""
    if text:
        for part in text.split(","):
            part = part.strip(_BLANK)
            op = next((op for op in _SPEC_OPERATORS if part.startswith(op)), None)
            if op is None or part.startswith("==="):
                return None
            version = part[len(op) :].lstrip(_BLANK)
            if not version or not _VERSION_CHARS.issuperset(version):
                return None
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None


__all__ = ["InvalidRequirement", "Requirement", "parse_pep508", "read_plain"]
