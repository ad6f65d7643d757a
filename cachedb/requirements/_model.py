"""What the inputs layer hands to the rest of cachedb."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._names import canonical_name
from .._record import Fields

if TYPE_CHECKING:
    from typing import NamedTuple

    from .._pep508 import Requirement
else:
    # Not typing's NamedTuple: that one compiles each field's annotation (~0.2M instructions).
    from .._record import NamedTuple


# A NamedTuple, not a dataclass: created in ~0.05 ms instead of ~0.4 ms on every warm install.
class InputRequirement(NamedTuple):
    """One requirement as the user gave it, with where it came from."""

    requirement: Requirement
    # Direct reference (https:// or absolute file:// URL), credentials kept because
    # the download needs them; None for requirements resolved through an index.
    url: str | None
    hashes: frozenset[str]
    comes_from: str
    editable: bool = False

    @property
    def name(self) -> str:
        return canonical_name(self.requirement.name)


class RequirementSet(Fields):
    """Requirements, constraints and index options gathered from all inputs.

    Not a dataclass: defining one costs every install ~4.6M instructions (it compiles
    its methods). Equality and ``repr`` are a dataclass's (``Fields``).
    """

    def __init__(
        self,
        requirements: list[InputRequirement] | None = None,
        constraints: list[InputRequirement] | None = None,
        index_url: str | None = None,
        extra_index_urls: list[str] | None = None,
        find_links: list[str] | None = None,
        no_index: bool = False,
        require_hashes: bool = False,
        pre: bool = False,
    ) -> None:
        self.requirements = [] if requirements is None else requirements
        self.constraints = [] if constraints is None else constraints
        self.index_url = index_url
        self.extra_index_urls = [] if extra_index_urls is None else extra_index_urls
        self.find_links = [] if find_links is None else find_links
        self.no_index = no_index
        self.require_hashes = require_hashes
        self.pre = pre

    def merge(self, other: RequirementSet) -> None:
        """Add ``other`` to this set; a later ``index_url`` wins, as in pip."""
        self.requirements.extend(other.requirements)
        self.constraints.extend(other.constraints)
        if other.index_url is not None:
            self.index_url = other.index_url
        _extend_unique(self.extra_index_urls, other.extra_index_urls)
        _extend_unique(self.find_links, other.find_links)
        self.no_index = self.no_index or other.no_index
        self.require_hashes = self.require_hashes or other.require_hashes
        self.pre = self.pre or other.pre


def _extend_unique(target: list[str], items: list[str]) -> None:
    for item in items:
        if item not in target:
            target.append(item)
