"""``cachedb freeze``: the environment in requirements format, as ``pip freeze --all`` prints it."""

from __future__ import annotations

import os
from collections.abc import Iterator

from .installed import Distribution, Environment

# Directories whose presence makes a project a checkout (pip asks the tool for its remote).
_VCS_DIRS = (".git", ".hg", ".svn", ".bzr")


def name_version(dist: Distribution) -> str:
    """``name==version``, or ``name===version`` for a version PEP 440 cannot parse."""
    parsed = dist.parsed_version
    if parsed is None:
        return f"{dist.name}==={dist.version}"
    return f"{dist.name}=={parsed}"


def direct_reference(dist: Distribution, data: dict[str, object]) -> str:
    """``name @ url`` from a PEP 610 record, with its hash and subdirectory as fragments."""
    url = str(data["url"])
    fragments = []
    vcs = data.get("vcs_info")
    archive = data.get("archive_info")
    if isinstance(vcs, dict):
        url = f"{vcs.get('vcs')}+{url}@{vcs.get('commit_id')}"
    elif isinstance(archive, dict):
        hashes = archive.get("hashes")
        legacy = archive.get("hash")
        if isinstance(hashes, dict) and hashes:
            algorithm, value = next(iter(hashes.items()))
            fragments.append(f"{algorithm}={value}")
        elif isinstance(legacy, str) and "=" in legacy:
            fragments.append(legacy)
    subdirectory = data.get("subdirectory")
    if isinstance(subdirectory, str) and subdirectory:
        fragments.append(f"subdirectory={subdirectory}")
    return f"{dist.name} @ {url}" + (f"#{'&'.join(fragments)}" if fragments else "")


def _in_checkout(location: str) -> bool:
    path = location
    while True:
        if any(os.path.exists(os.path.join(path, d)) for d in _VCS_DIRS):
            return True
        parent = os.path.dirname(path)
        if parent == path:
            return False
        path = parent


def freeze_lines(env: Environment, *, exclude_editable: bool = False) -> Iterator[str]:
    for dist in sorted(env.distributions.values(), key=lambda d: d.name.lower()):
        editable = dist.editable_location()
        if editable is not None:
            if exclude_editable:
                continue
            location = os.path.normcase(os.path.abspath(editable))
            if not _in_checkout(location):
                yield f"# Editable install with no version control ({name_version(dist)})"
            yield f"-e {location}"
            continue
        data = dist.direct_url()
        yield name_version(dist) if data is None else direct_reference(dist, data)
