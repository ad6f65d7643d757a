"""The interpreter cachedb installs for: its markers, tags and scheme paths, and its venv.

Importing this package stays cheap (stdlib only): it is on the warm install path.
"""

from __future__ import annotations

from cachedb.target.discover import find_target
from cachedb.target.interpreter import Interpreter
from cachedb.target.query import Query, query_interpreter, start_query
from cachedb.target.venv import create_venv, venv_python

__all__ = [
    "Interpreter",
    "Query",
    "create_venv",
    "find_target",
    "query_interpreter",
    "start_query",
    "venv_python",
]
