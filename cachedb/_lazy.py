"""Names of a package that load their module on first use (PEP 562).

A package lists which of its modules holds each public name; importing the
package then costs nothing until a name is used, which keeps the warm path
from loading what it does not run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module

TYPE_CHECKING = False  # typing's, without importing typing (about 12M instructions)
if TYPE_CHECKING:
    from typing import Any


def lazy_names(
    package: str, modules: Mapping[str, str], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``modules`` maps a name to the relative
    module that defines it; a name once loaded is put in ``namespace`` (the package's
    globals), so later lookups never reach this function."""

    def __getattr__(name: str) -> Any:
        if name not in modules:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(modules[name], package), name)
        namespace[name] = value
        return value

    return __getattr__
