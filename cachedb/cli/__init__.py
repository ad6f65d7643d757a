"""The ``cachedb`` command line: a thin typer layer over the packages below it.

Each command module imports its implementation inside the command function, so
``cachedb --help`` and the warm install path load only what they use.
"""

from __future__ import annotations

import sys

from . import _audit, _cache, _gc, _install  # noqa: F401  (registers the commands)
from ._app import app


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: run the app, turning CachedbError into a one-line error."""
    from ..db import events
    from ..errors import CachedbError

    args = sys.argv[1:] if argv is None else argv
    # Event rows record the command line, never the credentials in its URLs.
    from ..requirements._redact import redact_url

    events.set_command(" ".join(["cachedb", *(redact_url(a) for a in args)]))
    try:
        app(args=args, prog_name="cachedb")
    except CachedbError as exc:
        lines = str(exc).splitlines() or [type(exc).__name__]
        sys.stderr.write(f"error: {lines[0]}\n")
        if lines[1:]:
            sys.stderr.write("\n".join(lines[1:]) + "\n")
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


__all__ = ["app", "main"]
