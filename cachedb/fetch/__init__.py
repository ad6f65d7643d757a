"""Downloads with hash verification over one pooled HTTP client.

Importing this package does not import httpx; the first request does.
"""

from __future__ import annotations

from cachedb.fetch._download import download, safe_filename
from cachedb.fetch._downloaded import Downloaded
from cachedb.fetch._hashes import Hasher, usable
from cachedb.fetch._network import KEYRING_PROVIDERS, NetworkSettings
from cachedb.fetch._session import HttpSession, Reply
from cachedb.fetch._urls import borrow_credentials, local_path, redact_url, strip_credentials

__all__ = [
    "Downloaded",
    "Hasher",
    "HttpSession",
    "KEYRING_PROVIDERS",
    "NetworkSettings",
    "Reply",
    "borrow_credentials",
    "download",
    "local_path",
    "redact_url",
    "safe_filename",
    "strip_credentials",
    "usable",
]
