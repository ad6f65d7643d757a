"""What ``cachedb verify`` reports: the kinds of problem, and the records a repair needs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

ARCHIVE_MISSING = "archive-missing"
ARCHIVE_TAMPERED = "archive-tampered"
ARCHIVE_UNKNOWN = "archive-unknown"
ARCHIVE_BAD_ID = "archive-bad-id"
ARCHIVE_BAD_RELPATH = "archive-bad-relpath"
POINTER_BAD_KEY = "pointer-bad-key"
POINTER_NO_LINK = "pointer-missing-link"
POINTER_WRONG_TARGET = "pointer-wrong-target"
POINTER_DEAD_ARCHIVE = "pointer-dead-archive"
LINK_WITHOUT_ROW = "link-without-row"


@dataclass(frozen=True)
class Holder:
    """An environment that held a tampered archive by hardlink or symlink: it shared the
    altered files, so it must be linked again to a clean copy."""

    path: str  # the environment's prefix
    python: str
    name: str
    version: str
    link_mode: str
    host: str | None = None  # the machine id of the environment's host; None: not recorded


@dataclass
class Problem:
    kind: str
    subject: str  # an archive id, "<bucket>/<key>", or a path relative to the cache
    message: str
    repaired: str | None = None
    # What the repair needs; not part of the report.
    archive_id: str | None = field(default=None, repr=False)
    # archive-tampered, once repaired: each environment that shared its files, with
    # whether it was linked again to a clean copy (``relinked``) or why not (``error``).
    environments: list[dict[str, Any]] = field(default_factory=list)
    holders: list[Holder] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["archive_id"], out["holders"]
        if not self.environments:
            del out["environments"]
        return out

    def line(self) -> str:
        return f"{self.kind}: {self.subject}: {self.message}"


@dataclass(frozen=True)
class PointerRow:
    """A pointer row as verify compares it with its link, and a repair drops it."""

    bucket: str
    key: str
    archive_id: str
    kind: str
