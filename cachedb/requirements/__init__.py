"""The inputs layer: PEP 508 strings, requirements files, local wheel paths and URLs."""

from __future__ import annotations

from ._collect import collect
from ._editable import parse_editable
from ._file import parse_requirements_file
from ._line import parse_requirement
from ._model import InputRequirement, RequirementSet
from ._redact import redact_url
from ._wheelname import parse_wheel_name

__all__ = [
    "InputRequirement",
    "RequirementSet",
    "collect",
    "parse_editable",
    "parse_requirement",
    "parse_requirements_file",
    "parse_wheel_name",
    "redact_url",
]
