"""The cache store: archive bucket, pointer buckets and the metadata database.

The names below load their module on first use (PEP 562): ``cachedb venv`` needs
only ``store.layout`` (where the interpreters' venv templates live), and the
package would otherwise bring in the database and hashing with it.
"""

from __future__ import annotations

from .._lazy import lazy_names

TYPE_CHECKING = False  # typing's, without importing typing (about 12M instructions)
if TYPE_CHECKING:
    from .cache import Cache, CachedWheel, Entry, PutItem, open_cache
    from .catalog import InstallRecord
    from .layout import BUILT_WHEELS_BUCKET, WHEELS_BUCKET, pointer_key, source_key

_MODULES = {
    "BUILT_WHEELS_BUCKET": ".layout",
    "WHEELS_BUCKET": ".layout",
    "Cache": ".cache",
    "CachedWheel": ".cache",
    "Entry": ".cache",
    "InstallRecord": ".catalog",
    "PutItem": ".cache",
    "open_cache": ".cache",
    "pointer_key": ".layout",
    "source_key": ".layout",
}


__getattr__ = lazy_names(__name__, _MODULES, globals())


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
