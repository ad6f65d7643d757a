"""What an environment has installed, read from its ``*.dist-info`` directories.

The directories are found as ``install`` and ``uninstall`` find them
(``link.installed_distributions``: complete installs only), their METADATA read
with the header reader every other metadata read goes through, and their
requirements parsed as the resolver parses them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from cachedb._pep508 import Requirement

from .._headers import header_values
from ..install.metadata import requires_dist


class Distribution(NamedTuple):
    """One installed distribution."""

    name: str  # as its METADATA spells it
    canonical: NormalizedName
    version: str  # as its METADATA spells it
    dist_info: Path
    metadata: bytes

    @property
    def location(self) -> str:
        """The directory the distribution is importable from (its site-packages)."""
        return str(self.dist_info.parent)

    @property
    def parsed_version(self) -> Version | None:
        try:
            return Version(self.version)
        except InvalidVersion:
            return None

    def header(self, name: str) -> str:
        """The first value of header ``name``, or an empty string."""
        values = header_values(self.metadata, name)
        return values[0] if values else ""

    def headers(self, name: str) -> list[str]:
        return header_values(self.metadata, name)

    def requirements(self) -> list[Requirement]:
        return requires_dist(self.metadata, str(self.dist_info / "METADATA"))

    def read_text(self, name: str) -> str | None:
        """A file of the dist-info directory, or None if it has none."""
        try:
            return (self.dist_info / name).read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):
            return None

    def direct_url(self) -> dict[str, object] | None:
        """The PEP 610 ``direct_url.json``, if it is there and is a JSON object."""
        text = self.read_text("direct_url.json")
        if text is None:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            return None
        return data if isinstance(data, dict) and isinstance(data.get("url"), str) else None

    def editable_location(self) -> str | None:
        """The project directory of an editable install (PEP 610 ``dir_info.editable``)."""
        data = self.direct_url()
        if data is None:
            return None
        dir_info = data.get("dir_info")
        if not isinstance(dir_info, dict) or dir_info.get("editable") is not True:
            return None
        url = str(data["url"])
        if not url.startswith("file:"):
            return None
        from urllib.parse import unquote, urlsplit

        return os.path.normpath(unquote(urlsplit(url).path))


class Environment(NamedTuple):
    """The installed distributions of one environment, and its interpreter's markers."""

    distributions: dict[NormalizedName, Distribution]
    markers: dict[str, str]
    tags: tuple[str, ...] = ()  # the interpreter's supported wheel tags, best first

    def requirements(
        self, dist: Distribution, extras: frozenset[str] = frozenset()
    ) -> list[Requirement]:
        """What ``dist`` (with ``extras``) requires in this environment (markers evaluated)."""
        out = []
        for req in dist.requirements():
            if req.marker is None:
                out.append(req)
                continue
            contexts = [{**self.markers, "extra": e} for e in sorted(extras) or [""]]
            if any(req.marker.evaluate(context) for context in contexts):
                out.append(req)
        return out


def read_environment(
    scheme: Mapping[str, str], markers: Mapping[str, str], tags: tuple[str, ...] = ()
) -> Environment:
    """Every complete install in the scheme's purelib and platlib."""
    from ..link import installed_distributions

    found: dict[NormalizedName, Distribution] = {}
    for canonical, (_, dist_info) in installed_distributions(scheme).items():
        try:
            metadata = (dist_info / "METADATA").read_bytes()
        except OSError:
            continue  # a dist-info without METADATA is no distribution pip would list
        name = header_values(metadata, "Name")
        version = header_values(metadata, "Version")
        if not name or not version:
            continue
        found[canonicalize_name(canonical)] = Distribution(
            name[0].strip(), canonicalize_name(canonical), version[0].strip(), dist_info, metadata
        )
    return Environment(found, dict(markers), tags)


def load_environment(python: str | None, venv: str | None, cache_dir: Path | None) -> Environment:
    """The environment ``--python`` / ``--venv`` / ``VIRTUAL_ENV`` / ``./.venv`` names."""
    from ..errors import UsageError
    from ..store.layout import Layout
    from ..target import find_target, query_interpreter

    if venv is not None and not Path(venv).exists():
        raise UsageError(f"virtual environment {venv} does not exist")
    exe = find_target(python=python, venv=venv)
    interp = query_interpreter(exe, Layout.of(cache_dir).interpreters)
    return read_environment(interp.scheme, interp.markers, interp.tags)
