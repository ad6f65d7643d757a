"""``cachedb remote push``: put the wheels of the local cache on the remote, by sha256.

The cache keeps archives (wheels unpacked), not the wheel files whose sha256
names their blob, so each wheel the remote lacks is read again from a source
that offers it (the indexes and find-links locations given, as for install),
checked to hash to its archive id, and put with ``put_if_absent``: pushing
twice, or from two hosts at once, leaves one object. Wheels no source offers
any more are skipped and said so.

Built wheels are pushed for one target interpreter (``--python``): their key
names the source (an sdist's sha256) and the target's tag list, so each local
build of an sdist whose tags that interpreter accepts (the builds a local
install for it would use) is zipped again from its archive (``_repack``) and
put with its own sha256. Builds of a git checkout or a directory are pushed by
the install that builds them (their key needs what only the build knew).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from cachedb.errors import HashMismatch
from cachedb.remote._usage import mark_used
from cachedb.remote.keys import built_key, wheel_key
from cachedb.remote.tier import SHA256_META, fingerprint

if TYPE_CHECKING:
    from cachedb.index import IndexClient, Link
    from cachedb.remote._client import Remote
    from cachedb.store import Cache


@dataclass(frozen=True)
class CachedWheel:
    archive_id: str
    filename: str
    key: str = ""
    """The pointer key (``<source>/<name>/<stem>``)."""


@dataclass
class PushReport:
    pushed: list[str] = field(default_factory=list)
    """Blob keys written by this run (with ``dry_run``: that would be)."""
    present: list[str] = field(default_factory=list)
    """Blob keys the remote had already."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(wheel filename, why) for wheels that could not be pushed."""


def cached_wheels(cache: Cache, bucket: str) -> list[CachedWheel]:
    """Every live wheel of a pointer bucket of the cache, by filename."""
    rows = cache.read_sql(
        lambda run: run(
            'SELECT a.id, a.filename, p."key" FROM pointers p'
            " JOIN archives a ON a.id = p.archive_id"
            ' WHERE p.bucket = :bucket AND a.deleted_at IS NULL ORDER BY a.filename, p."key"',
            {"bucket": bucket},
        )
    )
    return [CachedWheel(str(aid), str(filename), str(key)) for aid, filename, key in rows]


def push(
    cache: Cache,
    remote: Remote,
    index: IndexClient | None,
    *,
    tags: Sequence[str] | None = None,
    dry_run: bool = False,
    say: Callable[[str], None] = lambda _: None,
) -> PushReport:
    """Push every cached wheel the remote lacks (re-read through ``index``), and with
    ``tags`` (the target interpreter's) the builds of sdists for that target."""
    from cachedb.store import BUILT_WHEELS_BUCKET, staging

    report = PushReport()
    box = cache.layout.tmp / f"push-{os.urandom(6).hex()}"
    with staging.in_use(cache.layout):
        try:
            _push_wheels(cache, remote, index, box, report, dry_run, say)
            builds = cached_wheels(cache, BUILT_WHEELS_BUCKET)
            if tags is None:
                report.skipped.extend(
                    (b.filename, "a build: give --python to push builds for that interpreter")
                    for b in builds
                )
            else:
                _push_builds(cache, remote, builds, tags, box, report, dry_run, say)
        finally:
            shutil.rmtree(box, ignore_errors=True)
    return report


def _push_wheels(
    cache: Cache,
    remote: Remote,
    index: IndexClient | None,
    box: Path,
    report: PushReport,
    dry_run: bool,
    say: Callable[[str], None],
) -> None:
    from cachedb.store import WHEELS_BUCKET

    on_remote = {o.key for o in remote.list("wheels/")}
    links: dict[str, list[Link]] = {}
    done: set[str] = set()
    for wheel in cached_wheels(cache, WHEELS_BUCKET):
        key = wheel_key(wheel.archive_id, wheel.filename)
        if key in done:
            continue  # one archive under several pointers (sources)
        done.add(key)
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


def _push_builds(
    cache: Cache,
    remote: Remote,
    builds: list[CachedWheel],
    tags: Sequence[str],
    box: Path,
    report: PushReport,
    dry_run: bool,
    say: Callable[[str], None],
) -> None:
    from cachedb.remote._repack import repack
    from cachedb.store.unpack import sha256_file

    accepted = set(tags)
    target = fingerprint(tags)
    on_remote = {o.key for o in remote.list("built/")}
    done: set[str] = set()
    for build in builds:
        identity = build.key.split("/", 1)[0]
        if not identity.startswith("sdist-"):
            report.skipped.append((build.filename, "a build of a git checkout or a directory"))
            continue
        try:
            wheel_tags = {str(t) for t in parse_wheel_filename(build.filename)[3]}
        except InvalidWheelFilename:
            continue
        if not wheel_tags & accepted:
            report.skipped.append((build.filename, "a build for another interpreter"))
            continue
        key = built_key(identity, target, build.filename)
        if key in done:
            continue
        done.add(key)
        if key in on_remote:
            report.present.append(key)
            if not dry_run:
                mark_used(remote, key)
            continue
        if dry_run:
            report.pushed.append(key)
            continue
        box.mkdir(parents=True, exist_ok=True)
        wheel = repack(cache.archive_path(build.archive_id), box / build.filename)
        if remote.put_if_absent(key, wheel, metadata={SHA256_META: sha256_file(wheel)}):
            report.pushed.append(key)
            say(f"Pushed {build.filename} (built from {identity})")
        else:
            report.present.append(key)
        wheel.unlink(missing_ok=True)


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
