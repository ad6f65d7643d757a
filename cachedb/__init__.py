"""cachedb: install Python packages from a database-backed wheel cache."""

__version__ = "0.1.0"
