"""A resolved lock: one entry per pinned distribution, in the order files list them."""

from __future__ import annotations

from dataclasses import dataclass, field

from packaging.version import Version

from ._files import LockedFile


@dataclass(frozen=True)
class LockedPackage:
    name: str  # canonical
    version: Version
    files: list[LockedFile] = field(default_factory=list)
    via: list[str] = field(default_factory=list)  # who asked for it, sorted
    url: str | None = None  # a direct reference (``name @ url``) instead of index files
    editable: bool = False
    index: str | None = None  # the index the files came from, if from an index
    commit: str | None = None  # a git reference: the commit its revision resolved to


@dataclass(frozen=True)
class Lock:
    packages: list[LockedPackage]
    command: str  # how to make it again, credentials redacted
    python_version: str  # the target's X.Y
    index_urls: list[str] = field(default_factory=list)
    find_links: list[str] = field(default_factory=list)
