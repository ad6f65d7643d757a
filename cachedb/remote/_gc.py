"""``cachedb remote gc``: delete blobs no host has used for ``max_age``, in two steps.

No lock is shared between hosts, so deleting is split in two runs:

1. *Mark*: a blob unused for ``max_age`` (by ``_usage``: pushed or fetched) and
   older than ``grace`` gets a mark, ``gc/marked/<blob-key>`` (an empty
   object; its LastModified is when it was marked).
2. *Delete*: a later run deletes a marked blob only once the mark is at least
   ``grace`` old and the blob was not used since it was marked (its use
   marker is asked again just before). A blob used since is unmarked instead.

A host writes the use marker each time it fetches a blob (``tier``), so a
blob fetched within ``grace`` of its mark is kept; only a download running
longer than ``grace`` could see its blob deleted under it, which is why
``grace`` (default 1 h) must be longer than any download. Whatever still loses
the race sees a missing blob, which is a miss: the host falls back to its
index. A blob younger than ``grace`` is never marked nor deleted, whatever
``max_age`` says.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cachedb.remote._client import Remote
from cachedb.remote._usage import Blob, blobs, last_use, server_now, use_key

MARKS = "gc/marked/"


@dataclass
class GcReport:
    now: float
    deleted: list[Blob] = field(default_factory=list)
    marked: list[Blob] = field(default_factory=list)
    """Marked now: deleted by a run at least ``grace`` later, unless used meanwhile."""
    waiting: list[Blob] = field(default_factory=list)
    """Marked earlier, still within ``grace``."""
    unmarked: list[Blob] = field(default_factory=list)
    """Marked earlier but used since: kept."""
    kept: int = 0

    def to_json(self) -> dict[str, object]:
        def rows(items: list[Blob]) -> list[dict[str, object]]:
            return [{"key": b.key, "size": b.size, "last_used": b.last_used} for b in items]

        return {
            "deleted": rows(self.deleted),
            "marked": rows(self.marked),
            "waiting": rows(self.waiting),
            "unmarked": rows(self.unmarked),
            "kept": self.kept,
            "freed_bytes": sum(b.size for b in self.deleted),
        }


def collect(remote: Remote, *, max_age: float, grace: float, dry_run: bool = False) -> GcReport:
    """Mark the blobs unused for ``max_age``, delete those marked ``grace`` ago and unused since."""
    now = server_now(remote)
    report = GcReport(now)
    marks = {o.key[len(MARKS) :]: o.last_modified for o in remote.list(MARKS)}
    present: set[str] = set()
    for blob in blobs(remote):
        present.add(blob.key)
        marked_at = marks.get(blob.key)
        # Times are whole seconds: a use in the second of the mark counts as after it.
        if marked_at is not None and blob.last_used >= marked_at:
            report.unmarked.append(blob)
            if not dry_run:
                remote.delete(MARKS + blob.key)
            continue
        if now - blob.pushed < grace or now - blob.last_used < max_age:
            report.kept += 1
            if marked_at is not None and now - blob.last_used < max_age and not dry_run:
                remote.delete(MARKS + blob.key)  # marked by a run with a shorter --max-age
            continue
        if marked_at is None:
            report.marked.append(blob)
            if not dry_run:
                remote.put(MARKS + blob.key, b"")
        elif now - marked_at < grace:
            report.waiting.append(blob)
        elif not dry_run and last_use(remote, blob) >= marked_at:
            report.unmarked.append(blob)
            remote.delete(MARKS + blob.key)
        else:
            report.deleted.append(blob)
            if not dry_run:
                remote.delete(blob.key)
                remote.delete(use_key(blob.key))
                remote.delete(MARKS + blob.key)
    if not dry_run:
        # Marks whose blob is gone (deleted by hand, or a run cut short).
        for key in set(marks) - present:
            remote.delete(MARKS + key)
    return report
