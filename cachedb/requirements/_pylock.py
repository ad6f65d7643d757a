"""``pylock.toml`` (PEP 751) as install input, read and validated by ``packaging.pylock``.

Each package becomes an exact pin whose marker is the package's own, with the
sha256 of every file the lock lists: hash-checking mode then guarantees the
bytes installed are bytes the lock names, from whichever listed file fits the
target. The indexes the lock names are searched; files outside any index
(paths and file URLs) make their directories find-links locations.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cachedb.errors import UsageError

from ._editable import parse_editable
from ._line import parse_requirement
from ._model import InputRequirement, RequirementSet


def parse_pylock(path: Path) -> RequirementSet:
    import tomllib

    from packaging.pylock import Pylock, PylockUnsupportedVersionError, PylockValidationError

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        lock = Pylock.from_dict(data)
    except OSError as exc:
        raise UsageError(f"cannot read {str(path)!r}: {exc.strerror}") from exc
    except (ValueError, PylockValidationError, PylockUnsupportedVersionError) as exc:
        raise UsageError(f"{str(path)!r} is not a valid pylock.toml: {exc}") from exc
    result = RequirementSet(require_hashes=True)
    for number, package in enumerate(lock.packages):
        comes_from = f"{path} (package {number + 1}, {package.name})"
        marker = f" ; {package.marker}" if package.marker is not None else ""
        _locations(package, path.parent, result)
        if package.directory is not None:
            directory = _local(package.directory.path, path.parent)
            req = (
                parse_editable(directory, comes_from=comes_from)
                if package.directory.editable
                else parse_requirement(directory + marker, comes_from=comes_from)
            )
            result.requirements.append(req)
            continue
        if package.vcs is not None:
            if package.vcs.type != "git" or package.vcs.url is None:
                raise UsageError(f"{comes_from}: only git repositories given by URL are supported")
            fragment = package.vcs.subdirectory
            url = f"git+{package.vcs.url}@{package.vcs.commit_id}"
            url += "" if fragment is None else f"#subdirectory={fragment}"
            result.requirements.append(
                parse_requirement(f"{package.name} @ {url}{marker}", comes_from=comes_from)
            )
            continue
        if package.archive is not None and package.archive.url is not None:
            text = f"{package.name} @ {package.archive.url}{marker}"
            req = parse_requirement(text, comes_from=comes_from)
            digests = _digests(package.archive.hashes)
            result.requirements.append(req._replace(hashes=req.hashes | digests))
            continue
        if package.version is None:
            raise UsageError(
                f"{comes_from}: only versioned packages, directories, archives and git"
            )
        req = parse_requirement(f"{package.name}=={package.version}{marker}", comes_from=comes_from)
        files: list[Any] = [*(package.wheels or []), package.sdist]
        digests = frozenset().union(*(_digests(f.hashes) for f in files if f is not None))
        result.requirements.append(InputRequirement(req.requirement, None, digests, comes_from))
    return result


def _locations(package: Any, base: Path, result: RequirementSet) -> None:
    """Where the package's files are found: its index, or the folders that hold them."""
    if package.index is not None:
        if result.index_url is None:
            result.index_url = package.index
        elif package.index != result.index_url and package.index not in result.extra_index_urls:
            result.extra_index_urls.append(package.index)
        return
    for f in [*(package.wheels or []), package.sdist]:
        if f is None:
            continue
        location: str | None = None
        if f.path is not None:
            location = str(Path(_local(f.path, base)).parent)
        elif f.url is not None and f.url.startswith("file:"):
            location = f.url.rsplit("/", 1)[0]
        if location is not None and location not in result.find_links:
            result.find_links.append(location)


def _local(path: str, base: Path) -> str:
    return os.path.abspath(base / path)


def _digests(hashes: Any) -> frozenset[str]:
    return frozenset(f"{alg}:{value}" for alg, value in hashes.items() if alg == "sha256")
