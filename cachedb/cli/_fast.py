"""The fast path: ``--help``, ``--version``, ``install``, ``venv`` and ``compile`` without typer.

Importing typer and turning a command's signature into click parameters costs
more than a warm ``venv`` or a nothing-to-do ``install`` does. For those commands
this module reads the command line itself, by click's rules, from ``_spec.py``
(the options as typer declares them, generated from the app by ``_specgen``),
and calls the command's body in ``_actions`` with the keyword arguments typer
would pass. It answers only what it is sure of: anything it does not read
exactly as click would (``--help`` of a command, an unknown option, a missing
value, a value click would refuse, shell completion) or any change to the
command modules since ``_spec.py`` was written returns None, and typer runs as
before, with its messages and exit codes. ``tests/test_fastpath.py`` compares the
two parsers over the options, variables and configuration defaults.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence

TYPE_CHECKING = False  # typing's, without importing typing (about 12M instructions)
if TYPE_CHECKING:
    from typing import Any

# Where click's BoolParamType reads a variable's text (case and spaces aside).
_BOOL = {
    "1": True, "0": False, "yes": True, "no": False, "true": True, "false": False,
    "on": True, "off": False, "t": True, "f": False, "y": True, "n": False, "": False,
}  # fmt: skip
_HELP_COLUMNS = 80
_COMPLETE_ENV = "_CACHEDB_COMPLETE"
_VALUE_ACTIONS = ("store", "append")


class _Refused(Exception):
    """What typer must answer: the command line is not one the fast path reads."""


def run(args: Sequence[str], defaults: Mapping[str, Mapping[str, object]] | None) -> int | None:
    """The exit code of the command ``args`` names, or None to leave it to typer."""
    if not args or _COMPLETE_ENV in os.environ:
        return None
    from . import _spec

    if not _current(_spec.SOURCES, _spec.NOT_PARSING):
        return None
    if list(args) == ["--version"] or list(args) == ["-V"]:
        from .. import __version__

        sys.stdout.write(f"cachedb {__version__}\n")
        return 0
    if list(args) == ["--help"]:
        if _columns() < _HELP_COLUMNS:
            return None  # click wraps to the terminal: typer renders it
        sys.stdout.write(_spec.HELP)
        return 0
    name = args[0]
    params = _spec.COMMANDS.get(name)
    if params is None:
        return None
    try:
        for _, envvars, kind in _spec.ROOT_ENVVARS:
            raw = _from_env(envvars)
            if raw is not None:
                _convert(kind, raw)
        values = parse(params, args[1:], (defaults or {}).get(name) or {})
    except _Refused:
        return None
    from . import _actions

    if name == "compile" and values["exclude_newer"] is not None:
        values["exclude_newer"] = _actions.moment(values["exclude_newer"])
        if values["exclude_newer"] is None:
            return None  # typer's usage error says why
    body: Callable[..., int] = getattr(_actions, name)
    return _invoke(body, values)


def _current(sources: Mapping[str, int], not_parsing: Sequence[str]) -> bool:
    """Whether cli/ is as it was when ``_spec.py`` was generated: the same modules, each
    with the same text (a module added since may declare options too)."""
    import zlib

    here = os.path.dirname(__file__)
    try:
        names = {n for n in os.listdir(here) if n.endswith(".py")}
    except OSError:
        return False
    if names - set(not_parsing) != set(sources):
        return False
    for name, crc in sources.items():
        try:
            with open(os.path.join(here, name), "rb") as fh:
                if zlib.crc32(fh.read()) != crc:
                    return False
        except OSError:
            return False
    return True


def _columns() -> int:
    """The terminal's width as ``shutil.get_terminal_size`` (which click asks) sees it."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
        columns = columns or _HELP_COLUMNS
    return columns


def parse(
    params: Sequence[Sequence[Any]], argv: Sequence[str], defaults: Mapping[str, object]
) -> dict[str, Any]:
    """The keyword arguments typer would call the command with (``_Refused`` where unsure).

    ``params`` are ``_spec`` rows: (name, opts, envvars, action, type, default, off_opts).
    """
    given = _read_argv(params, argv)
    values: dict[str, Any] = {}
    for name, _, envvars, action, kind, default, _ in params:
        many = action in ("append", "args")
        value: Any = given.get(name)
        if value is None and envvars:
            value = _from_env(envvars)
            if value is not None and many:
                value = value.split(os.pathsep if kind == "path" else None)
        if value is None:
            value = defaults.get(name)
        if value is None:
            value = default
        if value is None:
            value = () if many else None
        elif many:
            if not isinstance(value, list | tuple):
                raise _Refused  # click: "Value must be an iterable."
            value = tuple(_convert(kind, v) for v in value)
        else:
            value = _convert(kind, value)
        # What typer's own converters do after click: paths and lists.
        if kind == "path":
            value = tuple(map(_path, value)) if many else _path(value)
        if many:
            value = None if default is None and not value else list(value)
        values[name] = value
    return values


def _read_argv(params: Sequence[Sequence[Any]], argv: Sequence[str]) -> dict[str, Any]:
    """What the command line says, by click's parser rules."""
    # Every name an option answers to, with what a flag sets (``--x`` True, ``--no-x`` False).
    long: dict[str, tuple[Sequence[Any], bool]] = {}
    short: dict[str, tuple[Sequence[Any], bool]] = {}
    for param in params:
        for names, const in ((param[1], True), (param[6], False)):
            for opt in names:
                (long if opt.startswith("--") else short)[opt] = (param, const)
    given: dict[str, Any] = {}
    positional: list[str] = []
    rest = list(argv)
    i = 0
    while i < len(rest):
        arg = rest[i]
        i += 1
        if arg == "--":
            positional += rest[i:]
            break
        if arg[:1] != "-" or len(arg) == 1:
            positional.append(arg)
            continue
        head, eq, explicit = arg.partition("=")
        found = long.get(head)
        if found is not None:
            option, const = found
            if option[3] in _VALUE_ACTIONS:
                if eq:
                    value = explicit
                elif i < len(rest):
                    value, i = rest[i], i + 1
                else:
                    raise _Refused  # "requires an argument"
                _take(given, option, value)
            elif eq:
                raise _Refused  # "does not take a value"
            else:
                _take(given, option, const)
            continue
        if arg.startswith("--"):
            raise _Refused  # no such option
        j = 1
        while j < len(arg):
            found = short.get("-" + arg[j])
            j += 1
            if found is None:
                raise _Refused
            option, const = found
            if option[3] in _VALUE_ACTIONS:
                if j < len(arg):
                    value = arg[j:]
                elif i < len(rest):
                    value, i = rest[i], i + 1
                else:
                    raise _Refused
                _take(given, option, value)
                break
            _take(given, option, const)
    arguments = [p for p in params if p[3] in ("arg", "args")]
    if not arguments:
        if positional:
            raise _Refused  # "Got unexpected extra argument"
    elif arguments[0][3] == "args":
        given[arguments[0][0]] = tuple(positional) or None
    else:
        if len(positional) > 1:
            raise _Refused
        given[arguments[0][0]] = positional[0] if positional else None
    return given


def _take(given: dict[str, Any], param: Sequence[Any], value: str | bool) -> None:
    """What click's parser does with one occurrence: a flag's ``value`` is what it sets."""
    name, action = param[0], param[3]
    if action in ("store", "flag"):
        given[name] = value
    elif action == "append":
        given.setdefault(name, []).append(value)
    else:  # count
        given[name] = given.get(name, 0) + 1


def _from_env(envvars: Sequence[str]) -> str | None:
    """The first variable set to something (click reads an empty one as unset)."""
    for var in envvars:
        raw = os.environ.get(var)
        if raw:
            return raw
    return None


def _convert(kind: str, value: object) -> object:
    """A value as click's parameter type turns it, or ``_Refused`` where click would fail."""
    if kind == "str":
        if isinstance(value, bytes):
            raise _Refused
        return str(value)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if not isinstance(value, str) or value.strip().lower() not in _BOOL:
            raise _Refused
        return _BOOL[value.strip().lower()]
    if kind == "int":
        if not isinstance(value, int | str):
            raise _Refused
        try:
            return int(value)
        except ValueError:
            raise _Refused from None
    # A path: click checks only that an existing one is readable.
    if not isinstance(value, str):
        raise _Refused
    try:
        os.stat(value)
    except OSError:
        return value
    if not os.access(value, os.R_OK):
        raise _Refused
    return value


def _path(value: object) -> object:
    from pathlib import Path

    return None if value is None else Path(str(value))


def _invoke(body: Callable[..., int], values: dict[str, Any]) -> int:
    """Run the body as click's ``main`` runs a command: the same answers to ^C, EOF, EPIPE."""
    import errno

    try:
        return body(**values)
    except EOFError:
        sys.stderr.write("\nAborted!\n")
        sys.stderr.flush()
        return 1
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        sys.stdout = _Pacified(sys.stdout)
        sys.stderr = _Pacified(sys.stderr)
        return 1


class _Pacified:
    """A stream whose flush ignores a reader gone (click's PacifyFlushWrapper)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def flush(self) -> None:
        import errno

        try:
            self._stream.flush()
        except OSError as exc:
            if exc.errno != errno.EPIPE:
                raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
