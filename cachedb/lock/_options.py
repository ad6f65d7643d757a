"""What ``cachedb compile`` was asked to do."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..install.options import InstallOptions

RESOLUTIONS = ("highest", "lowest", "lowest-direct")
FORMATS = ("requirements.txt", "pylock.toml")


@dataclass
class CompileOptions:
    # Where to look, what may be built, which interpreter: the same options as install's.
    install: InstallOptions
    sources: list[str] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)
    extras: list[str] = field(default_factory=list)
    all_extras: bool = False
    groups: list[str] = field(default_factory=list)
    output: str | None = None
    format: str | None = None  # None: from the output file's name
    generate_hashes: bool = False
    emit_index_url: bool = False
    annotate: bool = True
    header: bool = True
    upgrade_packages: list[str] = field(default_factory=list)
    python_version: str | None = None
    python_platform: str | None = None
    exclude_newer: datetime | None = None
    resolution: str = "highest"
    prerelease: str | None = None  # one of resolve's pre-release modes; None: the one rule
    command: str = "cachedb compile"
