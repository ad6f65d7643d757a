"""What ``compile`` reads: requirements files, PEP 508 strings and ``pyproject.toml``.

Each requirement keeps a label naming where it came from, in the form the
``# via`` annotations of pip-tools and uv print: ``-r requirements.in``, or
``name (pyproject.toml)`` for a project's own dependencies.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..requirements import InputRequirement, RequirementSet, parse_requirement


class LockInputs:
    """Everything to resolve, with a label for each top-level requirement's origin."""

    # A plain class: a dataclass costs ~1 ms to define on every run.
    def __init__(self, requirements: RequirementSet) -> None:
        self.requirements = requirements
        self.labels: dict[str, set[str]] = {}  # canonical name -> labels
        # Replace every requirement on their names, wherever it is made (uv's --override).
        self.overrides: list[InputRequirement] = []


def read_inputs(
    sources: Sequence[str],
    *,
    constraints: Sequence[str] = (),
    overrides: Sequence[str] = (),
    extras: Sequence[str] = (),
    all_extras: bool = False,
    groups: Sequence[str] = (),
) -> LockInputs:
    """Read ``sources`` (files, or PEP 508 strings where no such file exists)."""
    from ..requirements import collect

    result = LockInputs(RequirementSet())
    used_extras: set[str] = set()
    used_groups: set[str] = set()
    for source in sources:
        path = Path(source)
        if path.name == "pyproject.toml":
            _read_pyproject(path, result, extras, all_extras, groups, used_extras, used_groups)
        elif path.is_file() or _looks_like_a_file(source):
            found = collect([], [source])
            _label(result, found.requirements, f"-r {source}")
            result.requirements.merge(found)
        else:
            req = parse_requirement(source)
            _label(result, [req], "command line")
            result.requirements.requirements.append(req)
    unknown_extras = set(extras) - used_extras
    if unknown_extras and not all_extras:
        raise UsageError(f"no pyproject.toml input defines the extra {sorted(unknown_extras)[0]!r}")
    unknown_groups = set(groups) - used_groups
    if unknown_groups:
        raise UsageError(f"no pyproject.toml input defines the group {sorted(unknown_groups)[0]!r}")
    if constraints:
        result.requirements.merge(collect([], [], constraints))
    for name in overrides:
        result.overrides.extend(collect([], [name]).requirements)
    return result


def _looks_like_a_file(source: str) -> bool:
    return "/" in source or source.endswith((".in", ".txt", ".toml"))


def _label(result: LockInputs, reqs: Sequence[InputRequirement], label: str) -> None:
    for req in reqs:
        result.labels.setdefault(req.name, set()).add(label)


def _read_pyproject(
    path: Path,
    result: LockInputs,
    extras: Sequence[str],
    all_extras: bool,
    groups: Sequence[str],
    used_extras: set[str],
    used_groups: set[str],
) -> None:
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"no such file: {str(path)!r}") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {str(path)!r}: {exc}") from exc
    project = _table(data, "project", path)
    name = project.get("name")
    label = f"{name} ({path.name})" if isinstance(name, str) else f"({path.name})"
    texts: list[str] = list(_strings(project.get("dependencies", []), "dependencies", path))
    optional = _table(project, "optional-dependencies", path)
    for extra, deps in optional.items():
        if all_extras or extra in extras:
            used_extras.add(extra)
            texts.extend(_strings(deps, f"optional-dependencies.{extra}", path))
    dependency_groups = _table(data, "dependency-groups", path)
    for group in groups:
        if group in dependency_groups:
            used_groups.add(group)
            texts.extend(_group(dependency_groups, group, path, ()))
    comes_from = str(path)
    reqs = [parse_requirement(text, comes_from=comes_from, base_dir=path.parent) for text in texts]
    _label(result, reqs, label)
    result.requirements.requirements.extend(reqs)


def _group(groups: dict[str, Any], name: str, path: Path, seen: tuple[str, ...]) -> list[str]:
    """PEP 735: a group's requirements, with ``{include-group = ...}`` expanded."""
    if name in seen:
        raise UsageError(f"{path}: dependency group {name!r} includes itself")
    if name not in groups:
        raise UsageError(f"{path}: no dependency group {name!r}")
    items = groups[name]
    if not isinstance(items, list):
        raise UsageError(f"{path}: dependency group {name!r} is not a list")
    out: list[str] = []
    for item in items:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict) and isinstance(item.get("include-group"), str):
            out.extend(_group(groups, item["include-group"], path, (*seen, name)))
        else:
            raise UsageError(f"{path}: dependency group {name!r} has an invalid entry {item!r}")
    return out


def _table(data: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise UsageError(f"{path}: [{key}] is not a table")
    return value


def _strings(value: object, what: str, path: Path) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"{path}: {what} is not a list of strings")
    return list(value)
