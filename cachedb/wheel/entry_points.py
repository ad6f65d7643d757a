"""What a wheel's scripts and ``.data`` files may be called (``entry_points.txt``, the
``scripts`` and ``data`` schemes), so that no environment's interpreter or own files
are replaced and nothing escapes the scripts directory.

The unpacker refuses such a wheel before it reaches the cache; the linker checks
again, as it may be handed an archive someone changed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Literal

from ..errors import InstallError, InvalidWheel

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    # Not typing's NamedTuple nor a dataclass: both compile code on every install.
    from .._record import NamedTuple

# The schemes a ``<name>.data/<key>/`` directory may name (the wheel spec's).
SCHEME_KEYS = ("purelib", "platlib", "scripts", "headers", "data")
Section = Literal["console", "gui"]
_GROUPS: dict[str, Section] = {"console_scripts": "console", "gui_scripts": "gui"}

# A script with one of these names would replace the environment's interpreter.
_INTERPRETER_NAME = re.compile(r"python[0-9.]*[tw]?w?(\.exe)?", re.IGNORECASE)
# The launcher template pastes module and attribute into Python source, so they
# must be dotted identifiers and nothing else.
_DOTTED = re.compile(r"[^\W\d]\w*(\.[^\W\d]\w*)*")
# "module:attr [extra1, extra2]"; extras only gate the entry point, launchers ignore them.
_ENTRY_POINT = re.compile(r"\s*(?P<module>[^:\s\[]+)\s*:\s*(?P<attr>[^\s\[]+)\s*(\[[^\]]*\])?\s*")


class EntryPointScript(NamedTuple):
    """A console or GUI script an entry point declares."""

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
    sections = plain_sections(text)
    if sections is None:
        sections = _read_by_configparser(text, dist)
    scripts: list[EntryPointScript] = []
    for group, section in _GROUPS.items():
        for name, value in sections.get(group, {}).items():
            check_script_name(name, dist)
            match = _ENTRY_POINT.fullmatch(value)
            if not match or not (
                _DOTTED.fullmatch(match["module"]) and _DOTTED.fullmatch(match["attr"])
            ):
                raise InstallError(f"{dist} has an invalid entry point {name} = {value!r}")
            scripts.append(EntryPointScript(name, match["module"], match["attr"], section))
    return scripts


def plain_sections(text: str) -> dict[str, dict[str, str]] | None:
    """The sections of an INI text as ``_read_by_configparser`` reads them, where every
    line is plain: blank, a comment, ``[name]``, or ``name = value`` from the line's
    start. None for anything else (an indented or continuation line, ``[DEFAULT]``,
    control characters, a line configparser refuses), which configparser then reads.

    Importing configparser costs every install with a script ~7.6M instructions, more
    than parsing all its entry points. tests/test_entry_points.py compares the two.
    """
    if not text.isascii() or not text.replace("\n", "").replace("\t", "").isprintable():
        return None
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in text.split("\n"):
        value = line.strip()
        if not value or value[0] in "#;":
            continue
        if line[0] in " \t":
            return None
        if value[0] == "[":
            header = value[1:-1]
            if value[-1] != "]" or not header or "]" in header or header == "DEFAULT":
                return None
            current = sections.setdefault(header, {})
            continue
        name, equals, rest = value.partition("=")
        name = name.rstrip()
        if not equals or not name or current is None:
            return None
        current[name] = rest.strip()
    return sections


def _read_by_configparser(text: str, dist: str) -> dict[str, dict[str, str]]:
    """Every section of an INI text with its options (``=`` only, names as written, later
    duplicates winning, no interpolation)."""
    import configparser

    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # names are case-sensitive
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        raise InstallError(f"{dist} has an unreadable entry_points.txt: {exc.message}") from exc
    return {name: dict(parser.items(name)) for name in parser.sections()}


def check_installable(names: Collection[str], read: Callable[[str], bytes], dist_info: str) -> None:
    """Refuse what no environment could take: scripts that would escape the scripts
    directory, ``.data`` files that would replace the interpreter or the environment's
    own files (in any scheme), and ``.data`` files in an unknown scheme.

    The linker refuses these too; checking here keeps such a wheel from ever
    being registered.
    """
    label = dist_info[: -len(".dist-info")]
    data_prefix = label + ".data/"
    try:
        for member in names:
            if not member.startswith(data_prefix):
                continue
            key, _, rest = member[len(data_prefix) :].partition("/")
            if key not in SCHEME_KEYS or not rest:
                raise InvalidWheel(f"{label} has a file in an unknown scheme: {member}")
            check_data_file(key, rest, label)
        entry_points = f"{dist_info}/entry_points.txt"
        if entry_points in names:
            parse_entry_points(read(entry_points).decode("utf-8", "replace"), label)
    except InstallError as exc:
        raise InvalidWheel(str(exc)) from None
