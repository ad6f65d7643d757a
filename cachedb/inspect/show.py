"""``cachedb show NAME...``: the fields ``pip show`` prints, from the same metadata."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import PurePath

from packaging.utils import canonicalize_name

from .installed import Distribution, Environment


def _homepage(dist: Distribution) -> str:
    homepage = dist.header("Home-page")
    if homepage:
        return homepage
    # PEP 621 projects name their home page as a Project-URL labelled "homepage".
    for entry in dist.headers("Project-URL"):
        label, _, url = entry.partition(",")
        normalized = "".join(c for c in label.lower() if c not in " -_.")
        if normalized == "homepage":
            return url.strip()
    return ""


def _license_line(dist: Distribution) -> str:
    version = dist.header("Metadata-Version")
    parts = tuple(int(p) for p in version.split(".") if p.isdigit()) if version else ()
    expression = dist.header("License-Expression")
    if parts >= (2, 4) and expression:
        return f"License-Expression: {expression}"
    return f"License: {dist.header('License')}"


def _files(dist: Distribution) -> list[str] | None:
    text = dist.read_text("RECORD")
    if text is None:
        return None
    # Each path as the platform spells it, the way pip normalizes RECORD entries.
    return sorted(str(PurePath(row[0])) for row in csv.reader(text.splitlines()) if row)


def show_lines(env: Environment, dist: Distribution, *, files: bool = False) -> Iterator[str]:
    requires = sorted({r.name for r in env.requirements(dist)}, key=str.lower)
    required_by = sorted(
        (
            other.name
            for other in env.distributions.values()
            if dist.canonical in {canonicalize_name(r.name) for r in env.requirements(other)}
        ),
        key=str.lower,
    )
    yield f"Name: {dist.name}"
    yield f"Version: {dist.version}"
    yield f"Summary: {dist.header('Summary')}"
    yield f"Home-page: {_homepage(dist)}"
    yield f"Author: {dist.header('Author')}"
    yield f"Author-email: {dist.header('Author-email')}"
    yield _license_line(dist)
    yield f"Location: {dist.location}"
    editable = dist.editable_location()
    if editable is not None:
        yield f"Editable project location: {editable}"
    yield f"Requires: {', '.join(requires)}"
    yield f"Required-by: {', '.join(required_by)}"
    if files:
        yield "Files:"
        listed = _files(dist)
        if listed is None:
            yield "Cannot locate RECORD or installed-files.txt"
        else:
            yield from (f"  {line.strip()}" for line in listed)


def show(env: Environment, names: list[str], *, files: bool = False) -> tuple[list[str], list[str]]:
    """The lines to print and the names not installed."""
    missing = sorted(n for n in names if canonicalize_name(n) not in env.distributions)
    lines: list[str] = []
    for i, dist in enumerate(
        env.distributions[canonicalize_name(n)]
        for n in names
        if canonicalize_name(n) in env.distributions
    ):
        if i:
            lines.append("---")
        lines.extend(show_lines(env, dist, files=files))
    return lines, missing
