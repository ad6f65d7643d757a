"""``-e`` requirements: recorded with their name and location, not yet installable."""

from __future__ import annotations

import tomllib
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from cachedb.errors import UsageError

from ._line import URL_SCHEME, absolute_path, invalid_requirement, split_extras
from ._model import InputRequirement
from ._redact import redact_url


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
            location = urlsplit(location).path
        path = absolute_path(location, base_dir)
        name, url = _project_name(path), path.as_uri()
    try:
        requirement = Requirement(f"{name}{extras} @ {url}")
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
    pyproject = directory / "pyproject.toml"
    try:
        if not directory.is_dir():
            raise UsageError(f"editable path {str(directory)!r} is not a directory")
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UsageError(f"editable project {str(directory)!r} has no pyproject.toml") from exc
    except (OSError, ValueError) as exc:
        # tomllib.TOMLDecodeError and UnicodeDecodeError are ValueErrors.
        raise UsageError(f"cannot read {str(pyproject)!r}: {exc}") from exc
    project = data.get("project")
    name = project.get("name") if isinstance(project, dict) else None
    if not isinstance(name, str) or not name:
        raise UsageError(f"{str(pyproject)!r} has no [project] name")
    return canonicalize_name(name)
