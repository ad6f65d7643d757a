"""Resolving an install: the pins, checked (Requires-Python, ``--require-hashes``, yanked
files), and what of them the environment lacks."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from packaging.version import Version

from ..errors import UsageError
from ..resolve import Pin, Resolution, exact_pin, resolve, resolve_pinned
from .environment import Environment, extraneous
from .options import InstallOptions
from .report import Reporter
from .report import count as _count
from .report import duration as _secs
from .request import Request
from .sources import Built, Cached, Direct, Indexed, Installed, Sdist

if TYPE_CHECKING:
    from typing import NamedTuple

    from ..requirements import RequirementSet
    from ..target import Interpreter
    from .finder import CandidateFinder
else:
    # Not typing's NamedTuple: that one compiles each field's annotation (~0.2M instructions).
    from .._record import NamedTuple


class Plan(NamedTuple):
    """A resolution and what it changes: ``todo`` to link, ``extraneous`` to remove
    (``--exact``); ``resolved_at``: when it was known (``time.perf_counter``)."""

    resolution: Resolution
    todo: list[Pin]
    extraneous: list[str]
    resolved_at: float


def resolve_request(
    request: Request,
    finder: CandidateFinder,
    interp: Interpreter,
    opts: InstallOptions,
    env: Environment,
    reporter: Reporter,
    started: float,
) -> Plan:
    """Resolve ``request`` for ``interp``, say so, and plan what changes in ``env``."""
    reqs = request.reqs
    resolution = _resolve(reqs, finder, interp, opts)
    if opts.no_deps:
        for pin in resolution.pins.values():
            finder.check_python(pin.candidate)
    resolved_at = time.perf_counter()
    reporter.info(f"Resolved {_count(len(resolution.pins))} in {_secs(resolved_at - started)}")
    if opts.offline:
        reporter.info("Offline (--offline): the cache was the only source; no index was asked")
    for message in _yanked(resolution):
        reporter.warn(message)
    if opts.require_hashes or reqs.require_hashes or request.hashes:
        _check_hash_mode(reqs, resolution, request.hashes)
    todo: list[Pin] = []
    for pin in resolution.pins.values():
        have = env.usable.get(pin.name)
        if (
            have is not None
            and Version(have[0]) == pin.version
            # What the user named by path or URL is always (re)installed, as in pip.
            and not isinstance(pin.candidate.source, Direct | Built)
        ):
            continue
        if isinstance(pin.candidate.source, Installed):
            continue
        todo.append(pin)
    # --exact: what the requirements do not resolve to goes.
    gone = extraneous(env.installed, resolution) if opts.exact else []
    return Plan(resolution, todo, gone, resolved_at)


def _resolve(
    reqs: RequirementSet, finder: CandidateFinder, interp: Interpreter, opts: InstallOptions
) -> Resolution:
    requirements = [r.requirement for r in reqs.requirements]
    constraints = [r.requirement for r in reqs.constraints]
    markers = interp.markers
    if not opts.upgrade:
        fast = resolve_pinned(
            requirements, finder, markers=markers, constraints=constraints, no_deps=opts.no_deps
        )
        if fast is not None:
            return fast
    return resolve(
        requirements,
        finder,
        markers=markers,
        constraints=constraints,
        upgrade=opts.upgrade,
        no_deps=opts.no_deps,
        pre=opts.pre or reqs.pre,
    )


def _yanked(resolution: Resolution) -> list[str]:
    """A warning for each chosen file its source marks yanked (an exact pin may select one)."""
    out = []
    for pin in resolution.pins.values():
        if not pin.candidate.yanked:
            continue
        source = pin.candidate.source
        link = source.link if isinstance(source, Indexed | Cached | Sdist) else None
        reason = (link.yanked if link is not None else None) or "<none given>"
        out.append(f"{pin.name}=={pin.version} is yanked. Reason for being yanked: {reason}")
    return out


def _check_hash_mode(
    reqs: RequirementSet, resolution: Resolution, hashes: dict[str, frozenset[str]]
) -> None:
    unpinned = [
        str(r.requirement)
        for r in reqs.requirements
        if r.url is None and exact_pin(r.requirement.specifier) is None
    ]
    if unpinned:
        raise UsageError(
            "in --require-hashes mode every requirement must be pinned with ==; not pinned: "
            + ", ".join(unpinned)
        )
    # A git URL at a full commit id is checked by that id (a pylock's vcs entries are).
    committed = {r.name for r in reqs.requirements if r.url is not None and _at_commit(r.url)}
    missing = [
        f"{p.name}=={p.version}"
        for p in resolution.pins.values()
        if not hashes.get(p.name)
        and not isinstance(p.candidate.source, Installed)
        and p.name not in committed
    ]
    if missing:
        raise UsageError(
            "in --require-hashes mode every package needs a --hash; missing for: "
            + ", ".join(missing)
        )


def _at_commit(url: str) -> bool:
    if not url.lower().startswith("git+"):
        return False
    from ..build.git import parse_git_url

    return parse_git_url(url).pins_a_commit
