"""Linking archives into environments: link modes, RECORD, scripts, uninstall.

- ``modes``: how one cache file becomes an environment file; which mode works where
- ``archive``: reading an unpacked wheel through its (already verified) RECORD
- ``scripts``: entry-point launchers, ``#!python`` rewriting
- ``place``: atomic placement and the journal that undoes a failed install
- ``install``: ``install_archive``
- ``uninstall``: ``uninstall`` and ``installed_distributions``
"""

from __future__ import annotations

from .._lazy import lazy_names

# Loaded at once: the function ``uninstall`` must shadow its module's name for good.
from .uninstall import installed_distributions, uninstall

TYPE_CHECKING = False  # typing's, without importing typing (about 12M instructions)
if TYPE_CHECKING:
    from .archive import Archive, read_archive
    from .install import InstalledDist, install_archive
    from .modes import LINK_MODES, choose_link_mode

# The rest on first use (PEP 562): a nothing-to-do install reads only
# ``installed_distributions``; linking brings hashing, scripts and threads with it.
_MODULES = {
    "LINK_MODES": ".modes",
    "Archive": ".archive",
    "InstalledDist": ".install",
    "choose_link_mode": ".modes",
    "install_archive": ".install",
    "read_archive": ".archive",
}

__getattr__ = lazy_names(__name__, _MODULES, globals())

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
