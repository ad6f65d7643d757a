"""The ``[build-system]`` table of a source tree (PEP 517 / 518), read and checked.

Its rules and messages are those of pypa/build's ``ProjectBuilder`` (which pip-like
tools' users know), checked against it by tests/test_buildsystem.py; reading it
here spares every build the import of ``build`` and ``importlib.metadata``.
"""

from __future__ import annotations

import os
import tomllib
import warnings
from collections.abc import Iterable, Mapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    from .._record import NamedTuple

# No pyproject.toml or no [build-system]: setuptools' legacy backend (PEP 517 / 518).
DEFAULT_BACKEND = "setuptools.build_meta:__legacy__"
DEFAULT_REQUIRES = ("setuptools >= 40.8.0",)
_KEYS = ("requires", "build-backend", "backend-path")


class InvalidBuildSystem(Exception):
    """The tree cannot be built as it is; the message says why (one line)."""


class TypoWarning(Warning):
    """A key in pyproject.toml that looks like a misspelt one the table needs."""


class BuildSystem(NamedTuple):
    requires: list[str]
    backend: str
    backend_path: list[str] | None


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _warn_typos(keys: Iterable[str], expected: str) -> None:
    from difflib import SequenceMatcher

    for key in keys:
        if SequenceMatcher(None, expected, key).ratio() >= 0.8:
            warnings.warn(
                f"Found '{key}' in pyproject.toml, did you mean '{expected}'?",
                TypoWarning,
                stacklevel=3,
            )


def _invalid(why: str) -> InvalidBuildSystem:
    return InvalidBuildSystem(f"Failed to validate `build-system` in pyproject.toml: {why}")


def _table(pyproject: Mapping[str, object]) -> BuildSystem:
    if "build-system" not in pyproject:
        _warn_typos(pyproject, "build-system")
        return BuildSystem(list(DEFAULT_REQUIRES), DEFAULT_BACKEND, None)
    table = pyproject["build-system"]
    if not isinstance(table, dict):
        raise _invalid("`build-system` must be a table")
    if "requires" not in table:
        _warn_typos(table, "requires")
        raise _invalid("`requires` is a required property")
    requires = table["requires"]
    if not _strings(requires):
        raise _invalid("`requires` must be an array of strings")
    backend = table.get("build-backend", DEFAULT_BACKEND)
    if "build-backend" not in table:
        _warn_typos(table, "build-backend")  # requires stay as given, as pip does
    elif not isinstance(backend, str):
        raise _invalid("`build-backend` must be a string")
    path = table.get("backend-path")
    if "backend-path" in table and not _strings(path):
        raise _invalid("`backend-path` must be an array of strings")
    unknown = table.keys() - set(_KEYS)
    if unknown:
        raise _invalid(f"Unknown properties: {', '.join(unknown)}")
    return BuildSystem(list(requires), backend, path)


def read_build_system(source_dir: str) -> BuildSystem:
    """The checked table of the project in ``source_dir``; InvalidBuildSystem if it has none."""
    if not os.path.isdir(source_dir):
        raise InvalidBuildSystem(f"Source {source_dir} is not a directory")
    pyproject_toml = os.path.join(source_dir, "pyproject.toml")
    if not os.path.exists(pyproject_toml) and not os.path.exists(
        os.path.join(source_dir, "setup.py")
    ):
        raise InvalidBuildSystem(
            f"Source {source_dir} does not appear to be a Python project:"
            " no pyproject.toml or setup.py"
        )
    try:
        with open(pyproject_toml, "rb") as f:
            pyproject = tomllib.load(f)
    except FileNotFoundError:
        pyproject = {}
    except PermissionError as exc:
        raise InvalidBuildSystem(f"{exc.strerror}: '{exc.filename}'") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidBuildSystem(f"Failed to parse {pyproject_toml}: {exc}") from None
    found = _table(pyproject)
    for entry in found.backend_path or ():
        if not os.path.isdir(os.path.join(os.path.abspath(source_dir), entry)):
            raise _invalid(f"`backend-path` entry {entry!r} does not exist or is not a directory")
    return found
