"""``cachedb freeze``: the environment in requirements format, as ``pip freeze --all`` prints it."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import PurePath

from .installed import Distribution, Environment


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


def _git(location: str, *args: str) -> str | None:
    """``git args`` run in ``location``: its output, or None if git fails or is missing."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=location, capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


# ``user@host:path``, the short form of an ssh URL (the path starts with a word
# character, so that ``C:/x`` is not one).
_SCP_LIKE = re.compile(r"(\w+@)?([^/:]+):(\w[^:]*)")


def _remote_url(raw: str) -> str | None:
    """A git remote as a URL pip would write, or None if it is none of the forms pip knows."""
    if re.match(r"\w+://", raw):
        return raw
    if os.path.exists(raw):
        return PurePath(raw).as_uri()
    match = _SCP_LIKE.fullmatch(raw)
    if match:
        return f"ssh://{match.group(1) or ''}{match.group(2)}/{match.group(3)}"
    return None


def editable_lines(dist: Distribution, location: str) -> list[str]:
    """How pip freezes an editable install: by its git remote and commit where it can."""
    plain = f"-e {location}"
    root = _git(location, "rev-parse", "--show-toplevel")
    if root is None:
        return [f"# Editable install with no version control ({name_version(dist)})", plain]
    remotes = (_git(location, "config", "--get-regexp", r"remote\..*\.url") or "").splitlines()
    if not remotes:
        return [f"# Editable Git install with no remote ({name_version(dist)})", plain]
    chosen = next((r for r in remotes if r.startswith("remote.origin.url ")), remotes[0])
    raw = chosen.split(" ", 1)[1].strip()
    url = _remote_url(raw)
    if url is None:
        return [
            f"# Editable Git install ({name_version(dist)}) with either a deleted local remote "
            "or invalid URI:",
            f"# '{raw}'",
            plain,
        ]
    commit = (_git(location, "rev-parse", "HEAD") or "").strip()
    if not url.lower().startswith("git:"):
        url = "git+" + url
    requirement = f"{url}@{commit}#egg={dist.name.replace('-', '_')}"
    top = os.path.normcase(os.path.abspath(root.strip()))
    if top != location:
        requirement += f"&subdirectory={os.path.relpath(location, top)}"
    return [f"-e {requirement}"]


def freeze_lines(env: Environment, *, exclude_editable: bool = False) -> Iterator[str]:
    for dist in sorted(env.distributions.values(), key=lambda d: d.name.lower()):
        editable = dist.editable_location()
        if editable is not None:
            if exclude_editable:
                continue
            yield from editable_lines(dist, os.path.normcase(os.path.abspath(editable)))
            continue
        data = dist.direct_url()
        yield name_version(dist) if data is None else direct_reference(dist, data)
