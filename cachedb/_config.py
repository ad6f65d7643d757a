"""Where the cache lives and which database describes it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

CACHE_DIR_ENV = "CACHEDB_CACHE_DIR"
DB_URL_ENV = "CACHEDB_DB_URL"
DB_FILENAME = "cachedb.sqlite3"


def default_cache_dir() -> Path:
    """platformdirs' user cache directory for cachedb."""
    if sys.platform.startswith("linux") and "ANDROID_DATA" not in os.environ:
        # What platformdirs answers here, without importing it (and the tempfile, shutil,
        # random and copy modules it loads) on every run that uses the default cache.
        xdg = os.environ.get("XDG_CACHE_HOME", "")
        home = os.environ.get("HOME", "")
        if os.path.isabs(xdg):
            return Path(xdg, "cachedb")
        if not xdg and os.path.isabs(home):
            return Path(home, ".cache", "cachedb")
        # Anything else (a relative XDG_CACHE_HOME or HOME) as the installed platformdirs says.
    import platformdirs

    return Path(platformdirs.user_cache_dir("cachedb", appauthor=False))


def resolve_cache_dir(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The cache directory: the argument, else ``CACHEDB_CACHE_DIR``, else the platform default."""
    if cache_dir is None or str(cache_dir) == "":
        env = os.environ.get(CACHE_DIR_ENV)
        cache_dir = env if env else default_cache_dir()
    return Path(cache_dir).expanduser().absolute()


def resolve_db_url(cache_dir: Path, db_url: str | None = None) -> str:
    """The database URL: the argument, else ``CACHEDB_DB_URL``, else SQLite inside the cache."""
    if db_url:
        return db_url
    env = os.environ.get(DB_URL_ENV)
    if env:
        return env
    return f"sqlite:///{cache_dir / DB_FILENAME}"
