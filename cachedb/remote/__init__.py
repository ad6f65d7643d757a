"""The remote tier: wheels and built wheels shared between machines through S3.

Importing this package does not import httpx; opening a ``Remote`` does. Nothing
imports this package unless a remote is configured (``--remote``, ``CACHEDB_REMOTE``).
"""

from __future__ import annotations

from cachedb.remote._client import Remote, RemoteObject
from cachedb.remote._errors import RemoteError, RemoteUnavailable
from cachedb.remote._url import RemoteUrl
from cachedb.remote.keys import built_key, wheel_key

__all__ = [
    "Remote",
    "RemoteError",
    "RemoteObject",
    "RemoteUnavailable",
    "RemoteUrl",
    "built_key",
    "wheel_key",
]
