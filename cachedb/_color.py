"""Whether to colour what cachedb prints: ``--color auto|always|never``, ``NO_COLOR``,
``FORCE_COLOR``.

``auto`` (the default) colours a terminal only; ``NO_COLOR`` (any value but
empty) turns that off, ``FORCE_COLOR`` or ``CLICOLOR_FORCE`` turns it on where
no terminal is; an explicit ``always`` or ``never`` wins over both, as uv does.
"""

from __future__ import annotations

import os

from cachedb.errors import UsageError

TYPE_CHECKING = False  # typing's, without importing typing (about 12M instructions)
if TYPE_CHECKING:
    from typing import TextIO

    from rich.console import Console

MODES = ("auto", "always", "never")
_STYLES = {"error": "1;31", "warning": "1;33", "added": "32", "removed": "31"}

_mode = "auto"


def use(mode: str) -> None:
    global _mode
    if mode not in MODES:
        raise UsageError(f"--color must be one of {', '.join(MODES)}, not {mode!r}")
    _mode = mode


def enabled(stream: TextIO) -> bool:
    if _mode != "auto":
        return _mode == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR") or os.environ.get("CLICOLOR_FORCE", "") not in ("", "0"):
        return True
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


def paint(text: str, style: str, stream: TextIO) -> str:
    """``text`` in ``style`` (error, warning, added, removed) if ``stream`` gets colour."""
    if not enabled(stream):
        return text
    return f"\033[{_STYLES[style]}m{text}\033[0m"


def console(stream: TextIO) -> Console:
    """A rich ``Console`` on ``stream`` that follows the same choice."""
    from rich.console import Console

    on = enabled(stream)
    return Console(file=stream, no_color=not on, force_terminal=on if _mode != "auto" else None)
