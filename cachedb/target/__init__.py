"""The interpreter cachedb installs for: its markers, tags and scheme paths, and its venv.

The names below load their module on first use (PEP 562): ``cachedb venv`` needs
only ``target.venv`` and ``target.venv_template``, not the interpreter queries.
"""

from __future__ import annotations

from .._lazy import lazy_names

TYPE_CHECKING = False  # typing's, without importing typing (about 12M instructions)
if TYPE_CHECKING:
    from .discover import find_target
    from .interpreter import Interpreter
    from .query import Query, query_interpreter, start_query
    from .venv import create_venv, venv_python

_MODULES = {
    "Interpreter": ".interpreter",
    "Query": ".query",
    "create_venv": ".venv",
    "find_target": ".discover",
    "query_interpreter": ".query",
    "start_query": ".query",
    "venv_python": ".venv",
}

__getattr__ = lazy_names(__name__, _MODULES, globals())

__all__ = [
    "Interpreter",
    "Query",
    "create_venv",
    "find_target",
    "query_interpreter",
    "start_query",
    "venv_python",
]
