"""Scripts: entry-point launchers and ``#!python`` shebang rewriting.

Which names a script may have, and reading ``entry_points.txt``, are the wheel
model's (``cachedb.wheel.entry_points``).
"""

from __future__ import annotations

import os

from ..wheel.entry_points import EntryPointScript


def generate_launcher(
    script: EntryPointScript, python_executable: str, python_version: tuple[int, int] = (3, 9)
) -> tuple[str, bytes]:
    """The launcher's file name and contents for this platform.

    On POSIX the text is byte-for-byte what pip writes, so environments built by
    cachedb and by pip compare equal; Windows needs installer's .exe launchers.
    A target older than 3.9 (``python_version``) lacks ``str.removesuffix``,
    which pip's text uses: it gets the same step in older words.
    """
    if os.name == "nt":
        from installer.scripts import Script
        from installer.utils import get_launcher_kind

        launcher = Script(script.name, script.module, script.attr, script.section)
        return launcher.generate(python_executable, get_launcher_kind())
    import_name = script.attr.split(".", 1)[0]
    body = (
        "import sys\n"
        f"from {script.module} import {import_name}\n"
        "if __name__ == '__main__':\n"
        + (
            "    sys.argv[0] = sys.argv[0].removesuffix('.exe')\n"
            if python_version >= (3, 9)
            else "    if sys.argv[0].endswith('.exe'):\n        sys.argv[0] = sys.argv[0][:-4]\n"
        )
        + f"    sys.exit({script.attr}())\n"
    )
    return script.name, shebang(python_executable) + body.encode()


def shebang(python_executable: str) -> bytes:
    exe = os.fsencode(python_executable)
    # Kernels truncate long shebangs and split them on spaces; past that, a
    # shell/Python polyglot hands the script to the interpreter instead.
    if b" " not in exe and len(exe) + 3 <= 127:
        return b"#!" + exe + b"\n"
    import shlex  # only for an interpreter path a shebang cannot hold

    quoted = shlex.quote(python_executable).encode()
    return b"#!/bin/sh\n'''exec' " + quoted + b' "$0" "$@"\n' + b"' '''\n"


def rewrite_shebang(data: bytes, python_executable: str) -> bytes | None:
    """``data`` with a ``#!python``/``#!pythonw`` first line replaced, or None if it has none."""
    if not data.startswith(b"#!python"):
        return None
    _, newline, rest = data.partition(b"\n")
    return shebang(python_executable) + (rest if newline else b"")
