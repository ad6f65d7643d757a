"""``cachedb check``: missing and conflicting dependencies, in ``pip check``'s words."""

from __future__ import annotations

from packaging.utils import canonicalize_name

from .installed import Environment


def _version(text: str) -> str:
    from packaging.version import InvalidVersion, Version

    try:
        return str(Version(text))
    except InvalidVersion:
        return text


def problems(env: Environment) -> list[str]:
    """One line per problem: missing, then conflicting dependencies, then unsupported wheels."""
    missing: list[str] = []
    conflicting: list[str] = []
    unsupported: list[str] = []
    for dist in sorted(env.distributions.values(), key=lambda d: d.canonical):
        version = _version(dist.version)
        lost: set[tuple[str, str]] = set()
        clashes: set[tuple[str, str, str]] = set()
        for req in env.requirements(dist):
            name = canonicalize_name(req.name)
            have = env.distributions.get(name)
            if have is None:
                lost.add((name, str(req)))
                continue
            parsed = have.parsed_version
            if parsed is None or not req.specifier.contains(parsed, prereleases=True):
                clashes.add((name, str(req), _version(have.version)))
        for lost_name, _ in sorted(lost):
            missing.append(
                f"{dist.canonical} {version} requires {lost_name}, which is not installed."
            )
        for clash_name, req_text, have_version in sorted(clashes):
            conflicting.append(
                f"{dist.canonical} {version} has requirement {req_text}, "
                f"but you have {clash_name} {have_version}."
            )
        if env.tags and not _supported(dist.read_text("WHEEL"), env.tags):
            unsupported.append(f"{dist.name} {version} is not supported on this platform")
    return [*missing, *conflicting, *unsupported]


def _supported(wheel: str | None, tags: tuple[str, ...]) -> bool:
    """Whether one of the WHEEL file's tags is one the interpreter supports (no file: yes)."""
    if wheel is None:
        return True
    from packaging.tags import parse_tag

    from .._headers import header_values

    declared = header_values(wheel.encode("utf-8"), "Tag")
    if not declared:
        return True
    supported = set(tags)
    return any(str(t) in supported for value in declared for t in parse_tag(value.strip()))
