"""The cache store: archive bucket, pointer buckets and the metadata database."""

from .cache import Cache, CachedWheel, Entry, PutItem, open_cache
from .catalog import InstallRecord
from .layout import BUILT_WHEELS_BUCKET, WHEELS_BUCKET, pointer_key, source_key

__all__ = [
    "BUILT_WHEELS_BUCKET",
    "WHEELS_BUCKET",
    "Cache",
    "CachedWheel",
    "Entry",
    "InstallRecord",
    "PutItem",
    "open_cache",
    "pointer_key",
    "source_key",
]
