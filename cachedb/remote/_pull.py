"""``cachedb remote pull``: fill the local cache for a requirements set, installing nothing.

It is an install of the set, for the target interpreter, into a scratch
directory inside the cache's ``tmp/`` that is deleted at once: the same
resolution, the same remote-first fetching (every blob verified, zip-checked
and unpacked as a download is), the same store. So a later ``install`` of the
same set on this host finds everything cached, and with ``--offline`` needs
neither the index nor the remote. The scratch install is recorded like any
(an environment whose directory is gone, which gc marks stale and forgets).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cachedb.install.options import InstallOptions
    from cachedb.install.report import Reporter


def pull(opts: InstallOptions, reporter: Reporter) -> int:
    """Resolve and fetch ``opts``' requirements into the cache; returns the exit code."""
    from cachedb._config import resolve_cache_dir
    from cachedb.install.pipeline import run_install
    from cachedb.install.report import Reporter
    from cachedb.store.layout import TMP_DIR

    scratch = resolve_cache_dir(opts.cache_dir) / TMP_DIR / f"pull-{os.urandom(6).hex()}"
    # The install's own lines would speak of installing; its warnings still show.
    quiet = Reporter(min(reporter.verbosity, 0) - 1, reporter.stream)
    try:
        code = run_install(replace(opts, target=str(scratch), link_mode=None), quiet)
        pulled = sorted(_distributions(scratch))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    reporter.info(f"Pulled {len(pulled)} distributions into the cache")
    for name in pulled:
        reporter.change("+", name)
    return code


def _distributions(directory: Path) -> list[str]:
    """``name==version`` of each distribution the scratch install holds."""
    found = []
    for entry in directory.glob("*.dist-info"):
        name, _, version = entry.name[: -len(".dist-info")].rpartition("-")
        found.append(f"{name}=={version}")
    return found
