"""Linking archives into environments: link modes, RECORD, scripts, uninstall.

- ``modes``: how one cache file becomes an environment file; which mode works where
- ``archive``: reading an unpacked wheel through its (already verified) RECORD
- ``scripts``: entry-point launchers, ``#!python`` rewriting
- ``place``: atomic placement and the journal that undoes a failed install
- ``install``: ``install_archive``
- ``uninstall``: ``uninstall`` and ``installed_distributions``
"""

from __future__ import annotations

from .archive import Archive, read_archive
from .install import InstalledDist, install_archive
from .modes import LINK_MODES, choose_link_mode
from .uninstall import installed_distributions, uninstall

__all__ = [
    "LINK_MODES",
    "Archive",
    "InstalledDist",
    "choose_link_mode",
    "install_archive",
    "installed_distributions",
    "read_archive",
    "uninstall",
]
