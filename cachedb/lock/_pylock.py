"""A lock as ``pylock.toml`` (PEP 751), built with ``packaging.pylock`` so it is valid.

PEP 751 needs a TOML writer, which the standard library lacks; the documents
written here hold only tables, arrays of tables, strings, integers and
datetimes, which ``_toml`` below spells out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ..fetch import local_path
from ._files import LockedFile, upload_moment
from ._model import Lock


def render_pylock(lock: Lock) -> str:
    from packaging.pylock import (
        Package,
        PackageArchive,
        PackageDirectory,
        PackageSdist,
        PackageVcs,
        PackageWheel,
        Pylock,
    )
    from packaging.specifiers import SpecifierSet
    from packaging.utils import canonicalize_name
    from packaging.version import Version

    packages = []
    for p in lock.packages:
        indexed = p.files if p.url is None else []
        wheels = [PackageWheel(**_file(f)) for f in indexed if f.is_wheel]
        sdists = [PackageSdist(**_file(f)) for f in indexed if not f.is_wheel]
        directory = archive = vcs = None
        if p.url is not None and p.commit is not None:
            from ..build.git import parse_git_url

            git = parse_git_url(p.url)
            vcs = PackageVcs(
                type="git",
                url=git.repository,
                requested_revision=git.revision,
                commit_id=p.commit,
                subdirectory=git.subdirectory,
            )
        elif p.url is not None:
            path = local_path(p.url)
            if path is not None:
                directory = PackageDirectory(path=path, editable=p.editable)
            else:
                first = p.files[0] if p.files else None  # the archive, once downloaded
                archive = PackageArchive(
                    url=p.url,
                    size=None if first is None else first.link.size,
                    hashes={} if first is None else {"sha256": first.sha256},
                )
        packages.append(
            Package(
                name=canonicalize_name(p.name),
                version=None if p.url is not None else p.version,
                index=p.index_url,
                wheels=wheels or None,
                sdist=sdists[0] if sdists else None,
                directory=directory,
                archive=archive,
                vcs=vcs,
            )
        )
    pylock = Pylock(
        lock_version=Version("1.0"),
        created_by="cachedb",
        requires_python=SpecifierSet(f">={lock.python_version}"),
        packages=packages,
    )
    pylock.validate()
    return f"# {lock.command}\n" + _toml(pylock.to_dict())


def _file(f: LockedFile) -> dict[str, Any]:
    """Where a wheel or sdist is and what it is, as PEP 751 spells it."""
    path = local_path(f.link.url)
    return {
        "name": f.link.filename,
        "url": f.link.url if path is None else None,
        "path": path,
        "size": f.link.size,
        "upload_time": upload_moment(f.link),
        "hashes": {"sha256": f.sha256},
    }


def _toml(document: Mapping[str, Any]) -> str:
    """TOML for a pylock document: top-level arrays of tables as ``[[name]]`` sections,
    everything below them inline (arrays of inline tables one per line)."""
    lines: list[str] = []
    sections: list[tuple[str, list[Mapping[str, Any]]]] = []
    for key, value in document.items():
        if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            sections.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, tables in sections:
        for table in tables:
            lines += ["", f"[[{_key(key)}]]"]
            for k, v in table.items():
                if isinstance(v, list) and v and all(isinstance(i, Mapping) for i in v):
                    lines.append(f"{_key(k)} = [")
                    lines.extend(f"    {_value(i)}," for i in v)
                    lines.append("]")
                else:
                    lines.append(f"{_key(k)} = {_value(v)}")
    return "\n".join(lines) + "\n"


def _key(key: str) -> str:
    bare = key.replace("-", "").replace("_", "").isalnum() and key.isascii()
    return key if bare else _string(key)


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, Sequence):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def _string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(c if c >= " " and c != "\x7f" else f"\\u{ord(c):04x}" for c in escaped)
    return f'"{escaped}"'
