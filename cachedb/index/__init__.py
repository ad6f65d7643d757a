"""Index client: PEP 691/503 project pages, find-links, and the page cache in ``simple-v0/``.

Importing this package does not import httpx; only a request does, so a warm
``--offline`` run never loads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cachedb._lazy import lazy_names
from cachedb.index._client import DEFAULT_INDEX_URL, IndexClient
from cachedb.index._findlinks import project_of
from cachedb.index._link import Link
from cachedb.index._pages import ACCEPT_INDEX
from cachedb.index._parse import parse_html_page, parse_json_page, parse_page

if TYPE_CHECKING:
    from cachedb.fetch import Downloaded

# Re-exported for callers that download; loaded on first use (PEP 562).
__getattr__ = lazy_names(__name__, {"Downloaded": "cachedb.fetch._downloaded"}, globals())

__all__ = [
    "ACCEPT_INDEX",
    "DEFAULT_INDEX_URL",
    "Downloaded",
    "IndexClient",
    "Link",
    "parse_html_page",
    "parse_json_page",
    "parse_page",
    "project_of",
]
