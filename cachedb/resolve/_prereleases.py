"""The pre-release rule: which versions a project's requirements may select.

PEP 440 ("Handling of pre-releases") leaves the default to tools: accept
pre-releases a specifier names explicitly, accept an already installed
pre-release, accept other pre-releases only where no final release satisfies
the specifier, and exclude the rest. cachedb refines that into one rule, used
by both the pinned fast path and the resolver, and written here rather than
taken from ``packaging``'s filter defaults (which changed between releases).

For one project, with ``S`` all the specifiers on it at once (requests,
constraints and every dependency's requirement), a candidate version ``v``
that matches ``S`` (PEP 440 matching, pre-releases matched like finals) is
selectable when any of these holds:

1. ``v`` is not a pre-release (a dev release counts as a pre-release);
2. ``--pre`` was given (on the command line or in a requirements file);
3. a specifier in ``S`` names a pre-release (``>=3.0rc1``, ``==2.0b2``; not
   ``!=`` and not a ``.*`` wildcard);
4. ``v`` is the installed version;
5. no final release the sources offer (after Requires-Python and yanked
   filtering) matches ``S`` ("if necessary").

This is pip's behaviour, and uv's default ("if-necessary-or-explicit") except
that an explicit pre-release in a dependency's requirement counts too, as in
pip. Each clause only grows as requirements are added, so a version selected
earlier stays selectable as the resolver learns more requirements on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from cachedb.resolve._model import CandidateInfo


def names_prerelease(specifiers: Iterable[SpecifierSet]) -> bool:
    """Clause 3: whether some specifier explicitly names a pre-release."""
    for spec_set in specifiers:
        for spec in spec_set:
            if spec.operator == "!=" or spec.version.endswith(".*"):
                continue
            try:
                if Version(spec.version).is_prerelease:
                    return True
            except InvalidVersion:  # an arbitrary "===" string names no version
                continue
    return False


# uv's names for the choice; the default is the rule above.
MODES = ("disallow", "allow", "if-necessary", "explicit", "if-necessary-or-explicit")
DEFAULT_MODE = "if-necessary-or-explicit"


def selectable_versions(
    infos: Iterable[CandidateInfo],
    specifiers: Sequence[SpecifierSet],
    *,
    pre: bool,
    mode: str | None = None,
) -> list[CandidateInfo]:
    """The candidates among ``infos`` that match every specifier and the rule above.

    ``mode`` (``compile --prerelease``) keeps only some clauses: ``allow`` is
    ``--pre``; ``explicit`` drops clause 5, ``if-necessary`` clause 3, and
    ``disallow`` both. ``pre`` means ``allow`` where no mode is given.
    """
    mode = mode or ("allow" if pre else DEFAULT_MODE)
    matching = [
        info
        for info in infos
        if all(spec.contains(info.version, prereleases=True) for spec in specifiers)
    ]
    explicit = mode in ("explicit", DEFAULT_MODE) and names_prerelease(specifiers)
    if mode == "allow" or explicit:
        return matching
    final_offered = any(not i.installed and not i.version.is_prerelease for i in matching)
    necessary = mode in ("if-necessary", DEFAULT_MODE) and not final_offered
    return [
        info for info in matching if not info.version.is_prerelease or info.installed or necessary
    ]
