"""When a blob was pushed and last used, as the remote itself records it.

A blob is an object under ``wheels/`` or ``built/``. Its last use is the newest
of its own LastModified (when it was pushed) and that of its *use marker*
``uses/<blob-key>``: an empty object written again (a plain PUT, so S3 stamps
it anew) whenever a host fetches the blob, or pushes it and finds it there.
Every time is the server's, so hosts whose clocks disagree still agree on ages;
"now" is the server's ``Date`` header.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass

from cachedb.remote._client import Remote, RemoteObject
from cachedb.remote._errors import RemoteError
from cachedb.remote.tier import USES

BLOB_PREFIXES = ("wheels/", "built/")


@dataclass(frozen=True)
class Blob:
    key: str
    size: int
    pushed: float
    """UTC epoch seconds: the object's LastModified."""
    last_used: float
    """The newest of ``pushed`` and its use marker's LastModified."""


def use_key(blob_key: str) -> str:
    return f"{USES}{blob_key}"


def mark_used(remote: Remote, blob_key: str) -> bool:
    """Record that ``blob_key`` is being used now; False (and nothing raised) if the remote
    refused: a missed mark makes a blob look older, it never breaks a fetch."""
    try:
        remote.put(use_key(blob_key), b"")
    except RemoteError:
        return False
    return True


def server_now(remote: Remote) -> float:
    """The server's clock (its ``Date`` header), read without writing anything."""
    response = remote._send("HEAD", "gc/clock")
    parsed = email.utils.parsedate_tz(response.headers.get("date", ""))
    if parsed is None:
        raise RemoteError(f"{remote.url}: no Date header in its answers; cannot tell ages")
    return float(email.utils.mktime_tz(parsed))


def blobs(remote: Remote) -> list[Blob]:
    """Every blob with its last use, in key order."""
    used = {o.key[len(USES) :]: o.last_modified for o in remote.list(USES)}
    found: list[RemoteObject] = []
    for prefix in BLOB_PREFIXES:
        found.extend(remote.list(prefix))
    return [
        Blob(o.key, o.size, o.last_modified, max(o.last_modified, used.get(o.key, 0.0)))
        for o in sorted(found, key=lambda o: o.key)
    ]


def last_use(remote: Remote, blob: Blob) -> float:
    """``blob``'s last use asked again now (gc's last look before deleting)."""
    marker = remote.head(use_key(blob.key))
    return max(blob.pushed, marker.last_modified if marker is not None else 0.0)
