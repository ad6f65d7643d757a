"""``--find-links``: a local directory of distributions, or a page of links."""

from __future__ import annotations

import os
from pathlib import Path

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    parse_sdist_filename,
    parse_wheel_filename,
)

from cachedb.fetch._urls import local_path
from cachedb.index._link import Link

_DIST_SUFFIXES = (".whl", ".tar.gz", ".zip")


def project_of(filename: str) -> NormalizedName | None:
    """The canonical project name a distribution filename belongs to, if it is one."""
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[0]
        if filename.endswith((".tar.gz", ".zip")):
            return parse_sdist_filename(filename)[0]
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return None


def local_location(location: str) -> Path | None:
    """The path behind a find-links entry that is not an http(s) URL, else None."""
    if "://" not in location:
        return Path(location).expanduser().absolute()
    path = local_path(location)
    return Path(path) if path is not None else None


def list_directory(directory: Path, source: str) -> list[Link]:
    """Every distribution file directly inside ``directory``, sorted by name."""
    links = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if not entry.name.endswith(_DIST_SUFFIXES) or not entry.is_file():
                continue
            path = Path(entry.path)
            links.append(
                Link(
                    url=path.as_uri(),
                    filename=entry.name,
                    hashes={},
                    requires_python=None,
                    yanked=None,
                    metadata_hashes=None,
                    source=source,
                    size=entry.stat().st_size,
                )
            )
    return sorted(links, key=lambda link: link.filename)


def for_project(links: list[Link], name: NormalizedName) -> list[Link]:
    return [link for link in links if project_of(link.filename) == name]
