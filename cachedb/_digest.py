"""sha256 of the short strings that name cache folders, without importing ``hashlib``.

``hashlib`` loads OpenSSL and sets up every algorithm when imported: more than a warm
``cachedb venv`` spends copying its template. CPython's own sha256 module (``_sha2``,
``_sha256`` before 3.12) gives the same digest for a fraction of that; a build
without it falls back to ``hashlib``.
"""

from __future__ import annotations

from importlib import import_module

TYPE_CHECKING = False  # typing's, without importing typing (about 12M instructions)
if TYPE_CHECKING:
    from typing import Any


def _constructor() -> Any:
    for name in ("_sha2", "_sha256"):
        try:
            return import_module(name).sha256
        except (ImportError, AttributeError):
            continue
    import hashlib

    return hashlib.sha256


_SHA256 = _constructor()


def sha256_hex(data: bytes) -> str:
    """The sha256 of ``data``, as lowercase hex (what ``hashlib.sha256(data).hexdigest()`` is)."""
    return str(_SHA256(data).hexdigest())
