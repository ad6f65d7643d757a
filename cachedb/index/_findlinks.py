"""``--find-links``: a local directory of distributions, or a page of links."""

from __future__ import annotations

from pathlib import Path

from cachedb._cachekey import scan_directory
from cachedb._filenames import read_sdist_filename, read_wheel_filename
from cachedb._redact import redact_url
from cachedb.errors import UsageError
from cachedb.fetch._urls import local_path
from cachedb.index._link import Link

TYPE_CHECKING = False  # typing's, without importing typing
if TYPE_CHECKING:
    from packaging.utils import NormalizedName


def project_of(filename: str) -> NormalizedName | None:
    """The canonical project name a distribution filename belongs to, if it is one."""
    if filename.endswith(".whl"):
        wheel = read_wheel_filename(filename)
        return wheel.name if wheel is not None else None
    if filename.endswith((".tar.gz", ".zip")):
        sdist = read_sdist_filename(filename)
        return sdist[0] if sdist is not None else None
    return None


def local_location(location: str) -> Path | None:
    """The path behind a find-links entry that is not an http(s) URL, else None."""
    if "://" not in location:
        return Path(location).expanduser().absolute()
    path = local_path(location)
    return Path(path) if path is not None else None


def list_directory(directory: Path, source: str) -> list[Link]:
    """Every distribution file directly inside ``directory``, sorted by name."""
    return [
        Link(
            url=Path(f.path).as_uri(),
            filename=f.filename,
            hashes={},
            requires_python=None,
            yanked=None,
            metadata_hashes=None,
            source=source,
            size=f.size,
            mtime_ns=f.mtime_ns,
        )
        for f in scan_directory(directory)
    ]


def for_project(links: list[Link], name: NormalizedName) -> list[Link]:
    return [link for link in links if project_of(link.filename) == name]


def local_index_links(root: Path, index: str, canonical: NormalizedName) -> list[Link]:
    """A project's files in an index on disk (PEP 503 layout: ``<root>/<name>/index.html``).

    Read like a local find-links location, never cached and also offline: a
    page without ``index.html`` is its directory's distribution files.
    """
    from cachedb.index._parse import parse_html_page

    directory = root / canonical
    page = directory / "index.html"
    source = redact_url(index)
    try:
        if page.is_file():
            return parse_html_page(page.read_bytes(), page.as_uri(), source)
        if directory.is_dir():
            return for_project(list_directory(directory, source), canonical)
    except OSError as exc:
        raise UsageError(f"cannot read index {root}: {exc.strerror or exc}") from None
    if not root.is_dir():
        raise UsageError(f"index directory {root} does not exist")
    return []
