"""The inputs layer: PEP 508 strings, requirements files, local wheel paths and URLs.

The names below load their module on first use (PEP 562): importing the
package does not bring in packaging's requirement parser.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._collect import collect
    from ._editable import parse_editable
    from ._file import parse_requirements_file
    from ._line import parse_requirement
    from ._model import InputRequirement, RequirementSet
    from ._wheelname import parse_wheel_name

_MODULES = {
    "InputRequirement": "._model",
    "RequirementSet": "._model",
    "collect": "._collect",
    "parse_editable": "._editable",
    "parse_requirement": "._line",
    "parse_requirements_file": "._file",
    "parse_wheel_name": "._wheelname",
}


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_MODULES[name], __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


__all__ = [
    "InputRequirement",
    "RequirementSet",
    "collect",
    "parse_editable",
    "parse_requirement",
    "parse_requirements_file",
    "parse_wheel_name",
]
