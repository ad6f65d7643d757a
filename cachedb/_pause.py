"""Named points where a process can be held, so tests can interleave real processes.

``CACHEDB_PAUSE_AT=<point>`` and ``CACHEDB_PAUSE_DIR=<dir>`` make the process
that reaches ``point(<point>)`` create ``<dir>/<point>.reached`` and wait until
``<dir>/<point>.go`` exists. Unset (always, outside tests) a point costs one
dictionary lookup.
"""

from __future__ import annotations

import os

PAUSE_AT_ENV = "CACHEDB_PAUSE_AT"
PAUSE_DIR_ENV = "CACHEDB_PAUSE_DIR"


def point(name: str) -> None:
    """Hold here while a test wants this process held at ``name``."""
    if os.environ.get(PAUSE_AT_ENV) != name:
        return
    import time
    from pathlib import Path

    directory = Path(os.environ.get(PAUSE_DIR_ENV) or ".")
    (directory / f"{name}.reached").touch()
    go = directory / f"{name}.go"
    while not go.exists():
        time.sleep(0.01)
