"""Stale venv templates: trees in ``interpreters-v0/<host>/`` that gc removes.

``cachedb venv`` (and an install that makes its venv) copies new venvs from a
template the stdlib made once per base interpreter (target/venv_template.py). A
template is stale, and gc removes it, when no venv can be copied from it again:

- its base interpreter is gone (the executable its record names no longer exists);
- it holds no record gc can read (damaged, or made by another template format,
  which ``cachedb venv`` would replace anyway).

A maker killed midway leaves its work tree (``.venv-tree-*.tmp``) or the stale
template it moved aside (``.venv-tree-*.old``); these go once older than the grace
period. A tree is removed by first renaming it into ``tmp/``, so a ``cachedb venv``
copying from it at that moment sees it gone and has the stdlib make the venv.
Nothing is read or removed through a link, and only this host's directory is looked at.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

from ..store.layout import Layout
from ..target.venv_template import LEFTOVER_NAME, TEMPLATE_NAME, template_base
from .memos import host_entries


def find_stale(layout: Layout, *, grace: float) -> list[Path]:
    """The stale templates (and template leftovers) of this host's directory (reads only)."""
    now = time.time()
    out: list[Path] = []
    for entry in host_entries(layout):
        leftover = LEFTOVER_NAME.fullmatch(entry.name) is not None
        if not leftover and TEMPLATE_NAME.fullmatch(entry.name) is None:
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode):
            continue
        if leftover:
            stale = st.st_mtime <= now - grace
        else:
            base = template_base(entry.path)
            stale = base is None or (os.path.isabs(base) and not os.path.exists(base))
        if stale:
            out.append(Path(entry.path))
    return out


def remove(layout: Layout, path: Path) -> bool:
    """Remove one stale template found by ``find_stale``; False if it was already gone."""
    # Imported here, as only a removal needs it.
    from ..store.archive import discard

    if not os.path.isdir(path) or os.path.islink(path):
        return False
    discard(path, layout)
    return not os.path.lexists(path)
