"""git URLs (``git+https://host/repo.git@rev#subdirectory=sub``): resolving and checking out.

A branch or tag is resolved with ``git ls-remote`` (no clone), so a cached
build of the commit it points at is found without fetching anything; a full
commit id needs no network at all. Only a miss clones the repository.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from ..errors import BuildError, UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from .._record import NamedTuple

_COMMIT = re.compile(r"[0-9a-f]{40}")
_SCHEMES = ("git+https", "git+http", "git+ssh", "git+file", "git+git")
_TIMEOUT = 600


class GitUrl(NamedTuple):
    repository: str  # what git clones: the URL without "git+", "@rev" and fragment
    revision: str | None  # the "@rev" part
    subdirectory: str | None

    @property
    def shown(self) -> str:
        from .._redact import redact_url

        return redact_url(self.repository)

    @property
    def pins_a_commit(self) -> bool:
        """Whether the revision is a full commit id, which names the tree it builds from."""
        return self.revision is not None and _COMMIT.fullmatch(self.revision) is not None

    def at(self, commit: str) -> str:
        """This URL with its revision replaced by ``commit``: what a lock file pins."""
        fragment = "" if self.subdirectory is None else f"#subdirectory={self.subdirectory}"
        return f"git+{self.repository}@{commit}{fragment}"


def parse_git_url(url: str) -> GitUrl:
    """Split ``git+<repository>[@rev][#subdirectory=...]`` into its parts."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in _SCHEMES:
        raise UsageError(f"unsupported VCS URL scheme {parts.scheme!r}: use git+https:// etc.")
    path, revision = parts.path, None
    # "@" in the path (not in the host's user info) separates the revision.
    if "@" in path:
        path, _, revision = path.rpartition("@")
        revision = revision or None
    subdirectory = None
    for key, value in parse_qsl(parts.fragment):
        if key == "subdirectory" and value:
            subdirectory = value
    if subdirectory is not None and any(p in ("..", "") for p in subdirectory.split("/")):
        raise UsageError(f"invalid subdirectory {subdirectory!r} in a git URL")
    scheme = parts.scheme.lower()[len("git+") :]
    repository = urlunsplit((scheme, parts.netloc, path, parts.query, ""))
    return GitUrl(repository, revision, subdirectory)


def _git(args: list[str], *, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "LC_ALL": "C"}
    try:
        return subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise BuildError("git is needed to install from a git URL, but it is not on PATH") from None
    except subprocess.TimeoutExpired:
        raise BuildError(f"git {args[0]} took longer than {_TIMEOUT}s") from None


def _failure(what: str, proc: subprocess.CompletedProcess[str], url: GitUrl) -> BuildError:
    from ..fetch._urls import scrub

    lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
    reason = scrub(lines[-1], url.repository) if lines else f"exit status {proc.returncode}"
    return BuildError(f"cannot {what} {url.shown}: {reason}")


def resolve_commit(url: GitUrl) -> str | None:
    """The commit ``url``'s revision names, from the remote's refs; None if only a clone can tell.

    A full commit id is taken as it is; a branch, a tag or no revision (HEAD) is
    looked up with ``git ls-remote``. A short commit id returns None.
    """
    rev = url.revision
    if rev is not None and _COMMIT.fullmatch(rev):
        return rev
    proc = _git(["ls-remote", "--", url.repository])
    if proc.returncode != 0:
        raise _failure("list the refs of", proc, url)
    refs: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        sha, _, ref = line.partition("\t")
        refs[ref.strip()] = sha.strip()
    if rev is None:
        head = refs.get("HEAD")
        if head is None:
            raise BuildError(f"{url.shown} has no HEAD: name a branch, tag or commit with @rev")
        return head
    for ref in (f"refs/heads/{rev}", f"refs/tags/{rev}^{{}}", f"refs/tags/{rev}", rev):
        if ref in refs:
            return refs[ref]
    if re.fullmatch(r"[0-9a-fA-F]{4,39}", rev):
        return None
    raise BuildError(f"{url.shown} has no branch, tag or commit named {rev!r}")


def checkout(url: GitUrl, commit: str | None, dest: Path) -> str:
    """Clone ``url`` into ``dest`` at ``commit`` (or at its short revision); return the commit."""
    proc = _git(["clone", "--quiet", "--no-checkout", "--", url.repository, str(dest)])
    if proc.returncode != 0:
        raise _failure("clone", proc, url)
    wanted = commit or url.revision or "HEAD"
    proc = _git(["rev-parse", "--verify", "--quiet", f"{wanted}^{{commit}}"], cwd=dest)
    if proc.returncode != 0:
        raise BuildError(f"{url.shown} has no commit {wanted!r}")
    resolved = proc.stdout.strip()
    proc = _git(["checkout", "--quiet", "--detach", resolved], cwd=dest)
    if proc.returncode != 0:
        raise _failure("check out", proc, url)
    if (dest / ".gitmodules").is_file():
        proc = _git(["submodule", "update", "--init", "--recursive", "--quiet"], cwd=dest)
        if proc.returncode != 0:
            raise _failure("fetch the submodules of", proc, url)
    return resolved


def project_directory(root: Path, subdirectory: str | None, url: str) -> Path:
    """The project in a checkout at ``root``: its ``#subdirectory=`` if the URL names one."""
    if subdirectory is None:
        return root
    tree = root / subdirectory
    if not tree.is_dir():
        from ..fetch._urls import strip_credentials

        raise BuildError(f"{strip_credentials(url)} has no directory {subdirectory!r}")
    return tree
