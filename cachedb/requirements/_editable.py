"""``-e`` requirements: a project directory (or a URL with ``#egg=``), installed per PEP 660."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from cachedb.errors import UsageError

from .._pep508 import InvalidRequirement, parse_pep508
from .._redact import redact_url
from ._line import URL_SCHEME, absolute_path, invalid_requirement, split_extras
from ._model import InputRequirement
from ._project import is_project_dir, project_name


def parse_editable(
    text: str, *, comes_from: str = "command line", base_dir: Path | None = None
) -> InputRequirement:
    """Parse ``-e <dir>[extras]`` or ``-e <url>#egg=<name>``.

    A directory's project name comes from its pyproject.toml, so nothing is built here.
    """
    stripped = text.strip()
    if not stripped:
        raise UsageError("empty editable requirement")
    if URL_SCHEME.match(stripped) and not stripped.lower().startswith("file:"):
        name, url = _from_url(stripped)
        extras = ""
    else:
        location, extras = split_extras(stripped)
        if location.lower().startswith("file:"):
            try:
                location = urlsplit(location).path
            except ValueError as exc:  # "file://[" is no URL at all
                raise UsageError(f"invalid URL {redact_url(location)!r}: {exc}") from exc
        path = absolute_path(location, base_dir)
        name, url = _project_name(path), path.as_uri()
    try:
        requirement = parse_pep508(f"{name}{extras} @ {url}")
    except InvalidRequirement as exc:
        raise invalid_requirement(stripped, exc) from exc
    return InputRequirement(requirement, url, frozenset(), comes_from, editable=True)


def _from_url(url: str) -> tuple[str, str]:
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise UsageError(f"invalid URL {redact_url(url)!r}: {exc}") from exc
    for item in parts.fragment.split("&"):
        key, _, value = item.partition("=")
        if key == "egg" and value:
            return value, urlunsplit(parts._replace(fragment=""))
    raise UsageError(f"editable URL {redact_url(url)!r} needs '#egg=<name>' to name the project")


def _project_name(directory: Path) -> str:
    if not directory.is_dir():
        raise UsageError(f"editable path {str(directory)!r} is not a directory")
    if not is_project_dir(directory):
        raise UsageError(f"editable project {str(directory)!r} has no pyproject.toml or setup.py")
    return project_name(directory)
