"""Requirements (PEP 508) as cachedb's resolvers and installers use them.

``Requirement`` has what packaging's has (``name`` as written, ``extras``,
``specifier`` as packaging's ``SpecifierSet``, ``url``, ``marker`` with
``evaluate``) and the same ``str``, equality and hash. ``parse_pep508`` reads a plain
requirement itself and hands every other text to packaging, whose reading (or
error) becomes the answer: plain is a name, optionally extras (``[a,b]``), optionally
specifiers (in parentheses or not) that ``packaging.specifiers`` reads, optionally a
plain marker (``_markers``); no URL. ``packaging.requirements`` (its parser, tokenizer,
markers and ``packaging.tags`` through them) then loads only for the rest.
Comparisons (``==``, ``!=``, ``<=``, ``>=``, ``<``, ``>``) with plain releases need
no packaging to be read: their ``SpecifierSet`` is made on first use, and
``releases`` holds them as numbers, which is all the nothing-to-do check
(install/noop.py) compares, so that it loads no part of packaging at all.
tests/test_plain_pep508.py and tests/test_plain_requirements.py hold every plain
reading equal to packaging's.
"""

from __future__ import annotations

from ._markers import Marker
from ._names import canonical_name
from ._plain_values import NAME_CHARS, OPERATORS, is_name, plain_release

TYPE_CHECKING = False  # typing's, without importing typing (about 12M instructions)
if TYPE_CHECKING:
    from collections.abc import Iterable

    from packaging.requirements import Requirement as PackagingRequirement
    from packaging.specifiers import SpecifierSet

    from ._plain_values import Release

    # Each comparison as its operator and a plain release, all of which must hold.
    Releases = tuple[tuple[str, Release], ...]

# What a plain version may hold; packaging.specifiers decides whether it is one.
_VERSION_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.*+!_-")
_SPEC_OPERATORS = ("~=", "==", "!=", "<=", ">=", "<", ">")
_BLANK = " \t"


class InvalidRequirement(ValueError):
    """A text packaging does not read as a requirement; the message is packaging's."""


class Requirement:
    """One PEP 508 requirement, as packaging's ``Requirement`` holds it."""

    __slots__ = ("_specifier", "extras", "marker", "name", "releases", "url")

    def __init__(
        self,
        name: str,
        extras: Iterable[str],
        specifier: SpecifierSet | str,
        url: str | None = None,
        marker: Marker | None = None,
        releases: Releases | None = None,
    ) -> None:
        """``specifier`` as text is read by packaging on first use; ``releases``: its
        comparisons as plain releases, where every one is (None: only ``specifier`` says)."""
        self.name = name
        self.extras = frozenset(extras)
        self._specifier = specifier
        self.url = url
        self.marker = marker
        self.releases = releases

    @property
    def specifier(self) -> SpecifierSet:
        if isinstance(self._specifier, str):
            from packaging.specifiers import SpecifierSet

            self._specifier = SpecifierSet(self._specifier)
        return self._specifier

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


def read_plain(text: str, *, releases_only: bool = False) -> Requirement | None:
    """``text`` as a plain requirement; None where packaging must read it. With
    ``releases_only``, only one whose comparisons are all with plain releases
    (``releases``), read without loading any part of packaging."""
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
    comparisons = _comparisons(rest)
    if comparisons is None:
        return None
    releases = _releases(comparisons)
    if releases is not None:
        return Requirement(name, extras, rest, None, marker, releases)
    if releases_only:
        return None
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return Requirement(name, extras, SpecifierSet(rest), None, marker)
    except InvalidSpecifier:
        return None


def _comparisons(text: str) -> list[tuple[str, str]] | None:
    """``text``'s comparisons (separated by commas), each an operator and a version
    ``packaging.specifiers`` may take; None where one is not plain."""
    found: list[tuple[str, str]] = []
    if text:
        for part in text.split(","):
            part = part.strip(_BLANK)
            op = next((op for op in _SPEC_OPERATORS if part.startswith(op)), None)
            if op is None or part.startswith("==="):
                return None
            version = part[len(op) :].lstrip(_BLANK)
            if not version or not _VERSION_CHARS.issuperset(version):
                return None
            found.append((op, version))
    return found


def _releases(comparisons: list[tuple[str, str]]) -> Releases | None:
    """The comparisons as plain releases, where each one is (packaging takes every
    such one); None otherwise."""
    releases = []
    for op, version in comparisons:
        release = plain_release(version)
        if op not in OPERATORS or release is None:
            return None
        releases.append((op, release))
    return tuple(releases)


__all__ = ["InvalidRequirement", "Requirement", "parse_pep508", "read_plain"]
