"""Where the cache lives and which database describes it."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_DIR_ENV = "CACHEDB_CACHE_DIR"
DB_URL_ENV = "CACHEDB_DB_URL"
DB_FILENAME = "cachedb.sqlite3"


def default_cache_dir() -> Path:
    # platformdirs is only needed when no directory was given; keep it off the warm path.
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
