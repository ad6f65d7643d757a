"""Downloads with hash verification over one pooled HTTP client.

Importing this package does not import httpx; the first request does.
"""

from __future__ import annotations

from cachedb.fetch._download import check_local_file, download, refuse_local, safe_filename
from cachedb.fetch._downloaded import Downloaded
from cachedb.fetch._hashes import Hasher, usable
from cachedb.fetch._limits import DEFAULT_MAX_DOWNLOAD_SIZE, Limits
from cachedb.fetch._network import KEYRING_PROVIDERS, NetworkSettings
from cachedb.fetch._session import HttpSession, Reply
from cachedb.fetch._urls import borrow_credentials, local_path, strip_credentials

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
