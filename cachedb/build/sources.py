"""What a build starts from, and the key its wheels are stored under.

A built wheel lives at ``built-wheels-v0/<source-key>/<name>/<wheel-stem>``:

- an sdist: ``sdist-<sha256>``. Its content is its identity, so the entry never
  goes stale, and any requirement for that name and version may reuse it.
- a project directory: ``path-<digest of its absolute path>``; editable installs
  ``editable-<digest>``. The revision is a fingerprint of the files (editable:
  of the metadata files only, since the code itself is imported in place).
- a git URL: ``git-<digest of repository and requested revision>``; the
  revision is the commit it resolved to.

Where the key names a place whose content can change, the stored wheel records
the revision it was built from (see ``provenance``); a different revision builds
anew and the pointer is swapped to the new archive, so the old one becomes
garbage instead of piling up.

Only stdlib here: this module is on the warm install path.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from urllib.parse import urlsplit

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from .._record import NamedTuple

SDIST = "sdist"
PATH = "path"
EDITABLE = "editable"
GIT = "git"

SDIST_SUFFIXES = (".tar.gz", ".zip")
# Never part of what a directory build reads: VCS data, caches, earlier build output.
_SKIP_ANYWHERE = frozenset(
    {".git", ".hg", ".svn", "__pycache__", ".venv", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
)
# Only at the project's top: a package may well have a subpackage called "build".
_SKIP_AT_ROOT = frozenset({"build", "dist", ".tox", ".nox"})
METADATA_FILES = ("pyproject.toml", "setup.cfg", "setup.py")


class BuildSource(NamedTuple):
    """A source located and identified: where it is, its cache key and its current revision."""

    name: str  # canonical project name
    kind: str  # SDIST, PATH, EDITABLE or GIT
    key: str  # the <source-key> segment of the pointer key
    revision: str  # sdist sha256, directory fingerprint or git commit
    url: str  # as the user gave it (may carry credentials: never shown or written as is)
    path: Path | None = None  # the sdist file or the project directory; None for git
    requested_revision: str | None = None  # git: the "@rev" of the URL, if any
    subdirectory: str | None = None  # git: "#subdirectory=" of the URL

    @property
    def editable(self) -> bool:
        return self.kind == EDITABLE

    @property
    def shown(self) -> str:
        """How messages name the source: the sdist's file name, the directory, or the URL
        with its credentials hidden."""
        from .._redact import redact_url

        if self.kind == SDIST and self.path is not None:
            return self.path.name
        if self.path is not None:
            return str(self.path)
        return redact_url(self.url)

    @property
    def remote_identity(self) -> str | None:
        """What names the source across machines: an sdist's sha256 or a git commit (and
        the subdirectory built); None for a local directory, which only this machine has."""
        if self.kind == SDIST:
            return self.key  # sdist-<sha256>
        if self.kind == GIT:
            where = self.subdirectory or ""
            suffix = "-" + hashlib.sha256(where.encode()).hexdigest()[:16] if where else ""
            return f"git-{self.revision}{suffix}"
        return None

    def direct_url(self) -> dict[str, object]:
        """PEP 610 ``direct_url.json`` for installing this source by direct reference."""
        from ..fetch._urls import strip_credentials

        if self.kind == GIT:
            from .git import parse_git_url

            parsed = parse_git_url(self.url)
            vcs: dict[str, object] = {"vcs": "git", "commit_id": self.revision}
            if parsed.revision is not None:
                vcs["requested_revision"] = parsed.revision
            out: dict[str, object] = {
                "url": strip_credentials(parsed.repository),
                "vcs_info": vcs,
            }
            if parsed.subdirectory is not None:
                out["subdirectory"] = parsed.subdirectory
            return out
        if self.kind == SDIST:
            return {
                "url": strip_credentials(self.url.split("#", 1)[0]),
                "archive_info": {
                    "hash": f"sha256={self.revision}",
                    "hashes": {"sha256": self.revision},
                },
            }
        assert self.path is not None
        dir_info: dict[str, object] = {"editable": True} if self.editable else {}
        return {"url": self.path.as_uri(), "dir_info": dir_info}


def classify(url: str, *, is_dir: bool) -> str:
    """What a direct reference is: "wheel", SDIST, PATH or GIT."""
    if url.lower().startswith("git+"):
        return GIT
    if is_dir:
        return PATH
    tail = urlsplit(url).path.rsplit("/", 1)[-1].lower()
    return "wheel" if tail.endswith(".whl") else SDIST


def sdist_key(sha256: str) -> str:
    return f"sdist-{sha256}"


def location_key(kind: str, location: str) -> str:
    """The key of a place (directory, git URL and revision) whose content may change."""
    return f"{kind}-{hashlib.sha256(location.encode()).hexdigest()[:16]}"


def shareable(key: str) -> bool:
    """Whether a built wheel under ``key`` may serve any requirement for its name and version.

    Only wheels built from an sdist qualify: a directory or a git branch at
    version 1.0 is not the 1.0 an index serves.
    """
    return key.split("/", 1)[0].startswith("sdist-")


def built_from_sdist(key: str) -> str | None:
    """The sdist sha256 a built-wheel key names, or None."""
    source = key.split("/", 1)[0]
    return source[len("sdist-") :] if source.startswith("sdist-") else None


def _digest_file(path: str) -> bytes:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").digest()


def fingerprint(directory: Path) -> str:
    """A digest of every file a build of ``directory`` may read: names, modes, contents."""
    digest = hashlib.sha256()
    root = str(directory)
    for dirpath, dirnames, filenames in os.walk(root):
        at_root = dirpath == root
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in _SKIP_ANYWHERE
            and not d.endswith(".egg-info")
            and not (at_root and d in _SKIP_AT_ROOT)
        )
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            try:
                info = os.lstat(full)
                if stat.S_ISLNK(info.st_mode):
                    entry = b"L" + os.readlink(full).encode("utf-8", "surrogateescape")
                elif stat.S_ISREG(info.st_mode):
                    entry = (b"X" if info.st_mode & 0o111 else b"F") + _digest_file(full)
                else:
                    continue
            except FileNotFoundError:
                continue  # removed while we walked: the next run sees the new state
            digest.update(rel.encode("utf-8", "surrogateescape") + b"\0" + entry + b"\0")
    return digest.hexdigest()


def metadata_fingerprint(directory: Path) -> str:
    """A digest of the files that decide an editable wheel: pyproject.toml, setup.cfg, setup.py."""
    digest = hashlib.sha256(str(directory).encode("utf-8", "surrogateescape") + b"\0")
    for name in METADATA_FILES:
        path = directory / name
        try:
            digest.update(name.encode() + b"\0" + _digest_file(str(path)) + b"\0")
        except (FileNotFoundError, IsADirectoryError):
            digest.update(name.encode() + b"\0-\0")
    return digest.hexdigest()
