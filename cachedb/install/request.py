"""Collecting the requirements of an install: what was asked, by name, path or URL,
with its ``--hash`` values and the sources to look in."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from ..errors import UsageError
from .locations import Sources, sources
from .options import LINK_MODES, InstallOptions
from .sources import Direct

if TYPE_CHECKING:
    from typing import NamedTuple

    from ..requirements import InputRequirement, RequirementSet
else:
    # Not typing's NamedTuple: that one compiles each field's annotation (~0.2M instructions).
    from .._record import NamedTuple


class References(NamedTuple):
    """What requirements name directly (by path or URL) and the hashes they allow, by name."""

    direct: dict[str, Direct]
    hashes: dict[str, frozenset[str]]


class Request(NamedTuple):
    """An install's input: the requirements and constraints, what they name directly,
    their hashes and the sources to read."""

    reqs: RequirementSet
    direct: dict[str, Direct]
    hashes: dict[str, frozenset[str]]
    sources: Sources


def references(items: Iterable[InputRequirement]) -> References:
    """The direct references and ``--hash`` values of ``items`` (the hashes of one name
    given more than once add up)."""
    direct: dict[str, Direct] = {}
    hashes: dict[str, frozenset[str]] = {}
    for r in items:
        if r.hashes:
            hashes[r.name] = hashes.get(r.name, frozenset()) | r.hashes
        if r.url is not None:
            # The path's last part: `x.whl?token=...` (a signed URL) is a wheel too.
            filename = unquote(urlsplit(r.url).path.rsplit("/", 1)[-1])
            direct[r.name] = Direct(r.url, filename, r.hashes, editable=r.editable)
    return References(direct, hashes)


def collect_request(opts: InstallOptions) -> Request:
    """The request the options make, refused when it names nothing to install (before
    anything is created). Constraints' direct references and hashes apply too."""
    from ..requirements import collect

    reqs = collect(
        opts.requirements, opts.requirement_files, opts.constraint_files, editables=opts.editables
    )
    if not reqs.requirements:
        raise UsageError("no requirements given (pass package names or -r FILE)")
    if opts.remote:
        from ..remote import RemoteUrl

        RemoteUrl.parse(opts.remote)  # a bad URL is refused before anything is written
    if opts.link_mode is not None and opts.link_mode not in LINK_MODES:
        raise UsageError(
            f"unknown --link-mode {opts.link_mode!r}; use clone, hardlink, copy or symlink"
        )
    direct, hashes = references([*reqs.requirements, *reqs.constraints])
    return Request(reqs, direct, hashes, sources(opts, reqs))
