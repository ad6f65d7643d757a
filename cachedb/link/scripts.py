"""Scripts: entry-point launchers, ``#!python`` shebang rewriting, safe script names."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Literal

from ..errors import InstallError

Section = Literal["console", "gui"]
_GROUPS: dict[str, Section] = {"console_scripts": "console", "gui_scripts": "gui"}

# A script with one of these names would replace the environment's interpreter.
_INTERPRETER_NAME = re.compile(r"python[0-9.]*[tw]?w?(\.exe)?", re.IGNORECASE)
# The launcher template pastes module and attribute into Python source, so they
# must be dotted identifiers and nothing else.
_DOTTED = re.compile(r"[^\W\d]\w*(\.[^\W\d]\w*)*")
# "module:attr [extra1, extra2]"; extras only gate the entry point, launchers ignore them.
_ENTRY_POINT = re.compile(r"\s*(?P<module>[^:\s\[]+)\s*:\s*(?P<attr>[^\s\[]+)\s*(\[[^\]]*\])?\s*")


@dataclass(frozen=True)
class EntryPointScript:
    name: str
    module: str
    attr: str
    section: Section


def check_script_name(name: str, dist: str) -> None:
    """Refuse a script name that could escape the scripts directory or shadow Python."""
    if (
        not name
        or name in (".", "..")
        or ".." in name
        or "/" in name
        or "\\" in name
        or (os.altsep is not None and os.altsep in name)
        or any(ord(c) < 32 or ord(c) == 127 for c in name)
    ):
        raise InstallError(f"{dist} declares a script with an unsafe name {name!r}")
    if _INTERPRETER_NAME.fullmatch(name):
        raise InstallError(f"{dist} declares a script {name!r} that would replace the interpreter")


# The data scheme is the environment's prefix: these are its interpreters' directories
# (POSIX, Windows) and the files that make it an environment (casefolded, for file
# systems that ignore case).
_PREFIX_SCRIPTS_DIRS = frozenset({"bin", "scripts"})
_PREFIX_RESERVED = frozenset({"pyvenv.cfg", ".lock"})


def check_data_file(key: str, rest: str, dist: str) -> None:
    """Refuse a ``<name>.data/<key>/<rest>`` file that would escape the scripts directory
    or replace the environment's own files, whichever scheme it comes through: a
    script's name (``scripts``), and under ``data`` (the prefix) an interpreter in
    ``bin/`` or ``Scripts/``, ``pyvenv.cfg``, or the environment's lock file."""
    if key == "scripts":
        if "/" not in rest:
            check_script_name(rest, dist)
        return
    if key != "data":
        return  # library and header directories hold no file of the environment's own
    head, _, tail = rest.partition("/")
    if tail and "/" not in tail and head.casefold() in _PREFIX_SCRIPTS_DIRS:
        check_script_name(tail, dist)
    elif rest.casefold() in _PREFIX_RESERVED:
        raise InstallError(f"{dist} has a file {rest!r} that would replace the environment's own")


def parse_entry_points(text: str, dist: str) -> list[EntryPointScript]:
    import configparser  # only when a wheel has entry points: not on a nothing-to-do run

    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # names are case-sensitive
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        raise InstallError(f"{dist} has an unreadable entry_points.txt: {exc.message}") from exc
    scripts: list[EntryPointScript] = []
    for group, section in _GROUPS.items():
        if not parser.has_section(group):
            continue
        for name, value in parser.items(group):
            check_script_name(name, dist)
            match = _ENTRY_POINT.fullmatch(value)
            if not match or not (
                _DOTTED.fullmatch(match["module"]) and _DOTTED.fullmatch(match["attr"])
            ):
                raise InstallError(f"{dist} has an invalid entry point {name} = {value!r}")
            scripts.append(EntryPointScript(name, match["module"], match["attr"], section))
    return scripts


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
    import shlex

    quoted = shlex.quote(python_executable).encode()
    return b"#!/bin/sh\n'''exec' " + quoted + b' "$0" "$@"\n' + b"' '''\n"


def rewrite_shebang(data: bytes, python_executable: str) -> bytes | None:
    """``data`` with a ``#!python``/``#!pythonw`` first line replaced, or None if it has none."""
    if not data.startswith(b"#!python"):
        return None
    _, newline, rest = data.partition(b"\n")
    return shebang(python_executable) + (rest if newline else b"")
