"""The remote tier: wheels and built wheels shared between machines through S3.

Nothing imports this package unless a remote is configured (``--remote``,
``CACHEDB_REMOTE``), and then the names below load their module on first use
(PEP 562): a warm install with a remote configured never asks it, so it loads
neither the client nor httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from ._client import Remote, RemoteObject
    from ._errors import RemoteError, RemoteUnavailable
    from ._url import RemoteUrl
    from .keys import built_key, wheel_key

_MODULES = {
    "Remote": "._client",
    "RemoteObject": "._client",
    "RemoteError": "._errors",
    "RemoteUnavailable": "._errors",
    "RemoteUrl": "._url",
    "built_key": ".keys",
    "wheel_key": ".keys",
}


__getattr__ = lazy_names(__name__, _MODULES, globals())


__all__ = [
    "Remote",
    "RemoteError",
    "RemoteObject",
    "RemoteUnavailable",
    "RemoteUrl",
    "built_key",
    "wheel_key",
]
