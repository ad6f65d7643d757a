"""``cachedb remote push``: put the wheels of the local cache on the remote, by sha256.

The cache keeps archives (wheels unpacked), not the wheel files whose sha256
names their blob, so each wheel the remote lacks is read again from a source
that offers it (the indexes and find-links locations given, as for install),
checked to hash to its archive id, and put with ``put_if_absent``: pushing
twice, or from two hosts at once, leaves one object. Wheels no source offers
any more are skipped and said so. Built wheels are not pushed here: their key
names the target interpreter they were built for, which only the build knew
(an install pushes them right after building, ``--remote-push``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from cachedb.errors import HashMismatch
from cachedb.remote._usage import mark_used
from cachedb.remote.keys import wheel_key
from cachedb.remote.tier import SHA256_META

if TYPE_CHECKING:
    from cachedb.index import IndexClient, Link
    from cachedb.remote._client import Remote
    from cachedb.store import Cache


@dataclass(frozen=True)
class CachedWheel:
    archive_id: str
    filename: str


@dataclass
class PushReport:
    pushed: list[str] = field(default_factory=list)
    """Blob keys written by this run (with ``dry_run``: that would be)."""
    present: list[str] = field(default_factory=list)
    """Blob keys the remote had already."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(wheel filename, why) for wheels that could not be pushed."""


def cached_wheels(cache: Cache) -> list[CachedWheel]:
    """Every live downloaded wheel of the cache, once per archive, by filename."""
    from cachedb.store import WHEELS_BUCKET

    rows = cache.read_sql(
        lambda run: run(
            "SELECT DISTINCT a.id, a.filename FROM pointers p"
            " JOIN archives a ON a.id = p.archive_id"
            " WHERE p.bucket = :bucket AND a.deleted_at IS NULL ORDER BY a.filename, a.id",
            {"bucket": WHEELS_BUCKET},
        )
    )
    return [CachedWheel(str(aid), str(filename)) for aid, filename in rows]


def push(
    cache: Cache,
    remote: Remote,
    index: IndexClient | None,
    *,
    dry_run: bool = False,
    say: Callable[[str], None] = lambda _: None,
) -> PushReport:
    """Push every cached wheel the remote lacks (re-read through ``index``)."""
    from cachedb.store import staging

    report = PushReport()
    on_remote = {o.key for o in remote.list("wheels/")}
    links: dict[str, list[Link]] = {}
    box = cache.layout.tmp / f"push-{os.urandom(6).hex()}"
    with staging.in_use(cache.layout):
        try:
            for wheel in cached_wheels(cache):
                key = wheel_key(wheel.archive_id, wheel.filename)
                if key in on_remote:
                    report.present.append(key)
                    if not dry_run:
                        mark_used(remote, key)  # this host has it: a use
                    continue
                link = _offered(index, links, wheel)
                if link is None:
                    report.skipped.append((wheel.filename, "no index or find-links offers it"))
                    continue
                if dry_run:
                    report.pushed.append(key)
                    continue
                assert index is not None
                box.mkdir(parents=True, exist_ok=True)
                try:
                    got = index.download(link, box, expected={"sha256": wheel.archive_id})
                except HashMismatch:
                    report.skipped.append((wheel.filename, "its source now serves other bytes"))
                    continue
                if remote.put_if_absent(key, got.path, metadata={SHA256_META: got.sha256}):
                    report.pushed.append(key)
                    say(f"Pushed {wheel.filename}")
                else:
                    report.present.append(key)
                got.path.unlink(missing_ok=True)
        finally:
            shutil.rmtree(box, ignore_errors=True)
    return report


def _offered(
    index: IndexClient | None, links: dict[str, list[Link]], wheel: CachedWheel
) -> Link | None:
    """The link of a source offering exactly this wheel (same name, same sha256 if stated)."""
    if index is None:
        return None
    try:
        name = str(parse_wheel_filename(wheel.filename)[0])
    except InvalidWheelFilename:
        return None
    if name not in links:
        links[name] = index.project_links(name)
    for link in links[name]:
        stated = link.hashes.get("sha256")
        if link.filename == wheel.filename and stated in (None, wheel.archive_id):
            return link
    return None
