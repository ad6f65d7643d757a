"""The inputs layer: PEP 508 strings, requirements files, local wheel paths and URLs.

The names below load their module on first use (PEP 562): importing the
package does not bring in packaging's requirement parser.
"""

from __future__ import annotations

from .._lazy import lazy_names

TYPE_CHECKING = False  # typing's, without importing typing (about 12M instructions)
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


__getattr__ = lazy_names(__name__, _MODULES, globals())


__all__ = [
    "InputRequirement",
    "RequirementSet",
    "collect",
    "parse_editable",
    "parse_requirement",
    "parse_requirements_file",
    "parse_wheel_name",
]
