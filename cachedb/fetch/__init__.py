"""Downloads with hash verification over one pooled HTTP client.

Importing this package does not import httpx; the first request does. Its names
load their module on first use (PEP 562), so a run that reads only cached pages
(``cachedb.fetch._urls``) never loads the downloader (tempfile, shutil, hashlib).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from cachedb.fetch._download import check_local_file, download, refuse_local
    from cachedb.fetch._downloaded import Downloaded
    from cachedb.fetch._hashes import Hasher, usable
    from cachedb.fetch._limits import DEFAULT_MAX_DOWNLOAD_SIZE, Limits
    from cachedb.fetch._network import KEYRING_PROVIDERS, NetworkSettings
    from cachedb.fetch._session import HttpSession, Reply
    from cachedb.fetch._urls import (
        borrow_credentials,
        local_path,
        safe_filename,
        strip_credentials,
    )

_MODULES = {
    "DEFAULT_MAX_DOWNLOAD_SIZE": "._limits",
    "Downloaded": "._downloaded",
    "Hasher": "._hashes",
    "HttpSession": "._session",
    "KEYRING_PROVIDERS": "._network",
    "Limits": "._limits",
    "NetworkSettings": "._network",
    "Reply": "._session",
    "borrow_credentials": "._urls",
    "check_local_file": "._download",
    "download": "._download",
    "local_path": "._urls",
    "refuse_local": "._download",
    "safe_filename": "._urls",
    "strip_credentials": "._urls",
    "usable": "._hashes",
}

__getattr__ = lazy_names(__name__, _MODULES, globals())

__all__ = [
    "DEFAULT_MAX_DOWNLOAD_SIZE",
    "Downloaded",
    "Hasher",
    "HttpSession",
    "KEYRING_PROVIDERS",
    "NetworkSettings",
    "Limits",
    "Reply",
    "borrow_credentials",
    "check_local_file",
    "download",
    "local_path",
    "refuse_local",
    "safe_filename",
    "strip_credentials",
    "usable",
]
