"""The remote tier: wheels and built wheels shared between machines through S3.

Nothing imports this package unless a remote is configured (``--remote``,
``CACHEDB_REMOTE``), and then the names below load their module on first use
(PEP 562): a warm install with a remote configured never asks it, so it loads
neither the client nor httpx.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_MODULES[name], __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


__all__ = [
    "Remote",
    "RemoteError",
    "RemoteObject",
    "RemoteUnavailable",
    "RemoteUrl",
    "built_key",
    "wheel_key",
]
