"""Index strategies: which indexes' files of a project count, when there are several.

The names and the safe default are uv's (``--index-strategy``):

- ``first-index``: the first index (in ``--index-url``, ``--extra-index-url``
  order) whose page for the project exists; later indexes are not asked. A
  project name planted on an extra index cannot beat the real one with a higher
  version (dependency confusion).
- ``unsafe-first-match``: every index is asked; for each requirement, the
  versions of the first index that has one matching it.
- ``unsafe-best-match``: every index is asked and the best version of any wins;
  a version several indexes offer is taken from the first of them.

Find-links locations are not indexes: their files always count.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from packaging.version import Version

from cachedb._filenames import read_sdist_filename, read_wheel_filename
from cachedb.index._link import Link

FIRST_INDEX = "first-index"
UNSAFE_FIRST_MATCH = "unsafe-first-match"
UNSAFE_BEST_MATCH = "unsafe-best-match"
STRATEGIES = (FIRST_INDEX, UNSAFE_FIRST_MATCH, UNSAFE_BEST_MATCH)
DEFAULT_STRATEGY = FIRST_INDEX


def version_of(filename: str) -> Version | None:
    """The version a distribution filename names, or None if it is not one."""
    if filename.endswith(".whl"):
        wheel = read_wheel_filename(filename)
        return wheel.version if wheel is not None else None
    sdist = read_sdist_filename(filename)
    return sdist[1] if sdist is not None else None


def first_offer_of_each_version(per_index: Sequence[list[Link]]) -> list[Link]:
    """``unsafe-best-match``: every index's links, but a version an earlier index offers
    only from that index."""
    seen: set[Version | None] = set()
    out: list[Link] = []
    for links in per_index:
        versions = {version_of(link.filename) for link in links}
        out.extend(link for link in links if version_of(link.filename) not in seen)
        seen |= versions - {None}
    return out


def other_indexes(
    links: Iterable[Link], sources: Sequence[str], match: Callable[[Version], bool]
) -> set[str]:
    """``unsafe-first-match``: the index sources whose links to drop, keeping those of
    the first index (in ``sources`` order) with a version ``match`` accepts."""
    by_source: dict[str, list[Version]] = {}
    for link in links:
        version = version_of(link.filename)
        if version is not None:
            by_source.setdefault(link.source, []).append(version)
    for i, source in enumerate(sources):
        if any(match(v) for v in by_source.get(source, [])):
            return set(sources[:i]) | set(sources[i + 1 :])
    return set()
