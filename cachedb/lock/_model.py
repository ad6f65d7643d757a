"""A resolved lock: one entry per pinned distribution, in the order files list them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from packaging.version import Version

from ._files import LockedFile

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    # Not typing's NamedTuple: that one compiles each field's annotation (~0.2M instructions).
    from .._record import NamedTuple


# NamedTuples, not dataclasses: defining a frozen dataclass costs ~1 ms on every run.
class LockedPackage(NamedTuple):
    name: str  # canonical
    version: Version
    files: Sequence[LockedFile] = ()
    via: Sequence[str] = ()  # who asked for it, sorted
    url: str | None = None  # a direct reference (``name @ url``) instead of index files
    editable: bool = False
    index_url: str | None = None  # the index the files came from, if from an index
    commit: str | None = None  # a git reference: the commit its revision resolved to


class Lock(NamedTuple):
    packages: Sequence[LockedPackage]
    command: str  # how to make it again, credentials redacted
    python_version: str  # the target's X.Y
    index_urls: Sequence[str] = ()
    find_links: Sequence[str] = ()
