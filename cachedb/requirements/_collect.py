"""Everything the user asked for on one command line, as one RequirementSet."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ._file import STDIN, parse_requirements_file
from ._line import absolute_path, parse_requirement
from ._model import RequirementSet


def is_pylock(path: Path) -> bool:
    """PEP 751's file names: ``pylock.toml`` and ``pylock.<name>.toml``."""
    name = path.name
    return name == "pylock.toml" or (
        name.startswith("pylock.") and name.endswith(".toml") and name.count(".") == 2
    )


def collect(
    args: Sequence[str],
    requirement_files: Sequence[str] = (),
    constraint_files: Sequence[str] = (),
    *,
    base_dir: Path | None = None,
    editables: Sequence[str] = (),
) -> RequirementSet:
    """Parse CLI requirements, ``-e`` projects and ``-r``/``-c`` files (relative to
    ``base_dir`` or cwd)."""
    result = RequirementSet()
    for arg in args:
        result.requirements.append(parse_requirement(arg, base_dir=base_dir))
    if editables:
        from ._editable import parse_editable  # most installs have no -e

        for arg in editables:
            result.requirements.append(parse_editable(arg, base_dir=base_dir))
    for name in requirement_files:
        path = _location(name, base_dir)
        if is_pylock(path):
            from ._pylock import parse_pylock  # packaging.pylock and tomllib only for locks

            result.merge(parse_pylock(path))
        else:
            result.merge(parse_requirements_file(path))
    for name in constraint_files:
        result.merge(parse_requirements_file(_location(name, base_dir), constraint=True))
    return result


def _location(name: str, base_dir: Path | None) -> Path:
    """``-`` stays standard input; anything else is a path made absolute."""
    return STDIN if name == "-" else absolute_path(name, base_dir)
