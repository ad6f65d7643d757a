"""What ``cachedb install`` was asked to do."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_INDEX_URL = "https://pypi.org/simple"
INDEX_URL_ENV = "CACHEDB_INDEX_URL"
EXTRA_INDEX_URL_ENV = "CACHEDB_EXTRA_INDEX_URL"


@dataclass
class InstallOptions:
    requirements: list[str] = field(default_factory=list)
    requirement_files: list[str] = field(default_factory=list)
    constraint_files: list[str] = field(default_factory=list)
    python: str | None = None
    venv: str | None = None
    seed: bool = False
    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)
    find_links: list[str] = field(default_factory=list)
    no_index: bool = False
    offline: bool = False
    refresh: bool = False
    upgrade: bool = False
    no_deps: bool = False
    require_hashes: bool = False
    pre: bool = False
    link_mode: str | None = None
    cache_dir: Path | None = None
    db_url: str | None = None
    timeout: float = 30.0
