"""What ``cachedb compile`` was asked to do."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime
    from typing import NamedTuple

    from ..install.options import InstallOptions
else:
    # Not typing's NamedTuple: that one compiles each field's annotation (~0.2M instructions).
    from .._record import NamedTuple

RESOLUTIONS = ("highest", "lowest", "lowest-direct")
FORMATS = ("requirements.txt", "pylock.toml")


# A NamedTuple, not a dataclass: defining a dataclass costs ~1 ms on every run.
class CompileOptions(NamedTuple):
    # Where to look, what may be built, which interpreter: the same options as install's.
    install: InstallOptions
    sources: Sequence[str] = ()
    overrides: Sequence[str] = ()
    extras: Sequence[str] = ()
    all_extras: bool = False
    groups: Sequence[str] = ()
    output: str | None = None
    format: str | None = None  # None: from the output file's name
    generate_hashes: bool = False
    emit_index_url: bool = False
    annotate: bool = True
    header: bool = True
    upgrade_packages: Sequence[str] = ()
    python_version: str | None = None
    python_platform: str | None = None
    exclude_newer: datetime | None = None
    resolution: str = "highest"
    prerelease: str | None = None  # one of resolve's pre-release modes; None: the one rule
    command: str = "cachedb compile"
