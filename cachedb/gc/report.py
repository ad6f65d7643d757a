"""What a gc or clean run did (or, with --dry-run, would do), for people and for machines."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .units import format_size


@dataclass(frozen=True)
class ArchiveLine:
    archive_id: str
    filename: str
    size: int
    reason: str


@dataclass
class Report:
    dry_run: bool = False
    archives: list[ArchiveLine] = field(default_factory=list)
    stale_environments: list[str] = field(default_factory=list)
    removed_installs: int = 0
    # Pointer rows dropped (on a dry run: entries whose archive stays but which lose them).
    pointers: int = 0
    orphans: list[str] = field(default_factory=list)  # relative to the cache root
    orphan_links: list[str] = field(default_factory=list)  # bucket/key
    memos: list[str] = field(default_factory=list)  # stale memos, relative to the cache root
    templates: list[str] = field(default_factory=list)  # stale venv templates, the same
    finished: int = 0  # archives a previous, interrupted run had marked deleted
    seconds: float = 0.0

    @property
    def freed(self) -> int:
        return sum(a.size for a in self.archives)

    def summary(self) -> str:
        """The one line every run prints, e.g.

        ``Removed 12 archives (384.2 MiB), 3 stale environments, 2 orphan directories in 0.4s``
        """
        verb = "Would remove" if self.dry_run else "Removed"
        parts = [
            f"{verb} {_count(len(self.archives), 'archive')} ({format_size(self.freed)})",
            _count(len(self.stale_environments), "stale environment"),
            _count(len(self.orphans), "orphan directory", "orphan directories"),
        ]
        if self.memos:
            parts.append(_count(len(self.memos), "stale memo"))
        if self.templates:
            parts.append(_count(len(self.templates), "stale venv template"))
        return f"{', '.join(parts)} in {self.seconds:.1f}s"

    def lines(self) -> list[str]:
        """The details printed before the summary (all of them on a dry run)."""
        if not self.dry_run:
            return []
        out = [
            f"would remove {a.filename} ({format_size(a.size)}, {a.reason})" for a in self.archives
        ]
        out += [f"would mark stale: {p}" for p in self.stale_environments]
        out += [f"would remove orphan: {p}" for p in self.orphans]
        out += [f"would remove orphan link: {p}" for p in self.orphan_links]
        out += [f"would remove stale memo: {p}" for p in self.memos]
        out += [f"would remove stale venv template: {p}" for p in self.templates]
        return out

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "dry_run": self.dry_run,
            "archives": [
                {"id": a.archive_id, "filename": a.filename, "size": a.size, "reason": a.reason}
                for a in self.archives
            ],
            "bytes_freed": self.freed,
            "stale_environments": self.stale_environments,
            "removed_installs": self.removed_installs,
            "pointers_dropped": self.pointers,
            "orphans": self.orphans,
            "orphan_links": self.orphan_links,
            "memos": self.memos,
            "templates": self.templates,
            "finished": self.finished,
            "seconds": round(self.seconds, 3),
        }
        return json.dumps(data, indent=2)


def _count(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"
