"""Writing ``_spec.py``: what the fast path needs to know of the typer app, read from it.

Run ``python -m cachedb.cli._specgen`` after changing any command's options or help;
``tests/test_fastpath.py`` fails until the written spec matches the app again (and
until then the fast path, seeing the sources changed, leaves every run to typer).
"""

from __future__ import annotations

import io
import os
import zlib
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import typer
import typer.main
from typer import _click as click
from typer.core import TyperArgument, TyperGroup
from typer.models import TyperPath

from . import load_app

HERE = Path(__file__).resolve().parent
SPEC = HERE / "_spec.py"
# The commands the fast path runs: the ones a user runs many times a day.
FAST = ("install", "venv", "compile")
# The width click formats help for when the terminal has at least 80 columns.
HELP_COLUMNS = 80


# The modules of cli/ that decide nothing typer parses or prints.
_NOT_PARSING = {"_actions.py", "_fast.py", "_spec.py", "_specgen.py"}


def sources() -> list[str]:
    """Every module of cli/ that may decide what typer parses and prints (a new one too:
    option declarations may live anywhere in the package)."""
    return sorted(p.name for p in HERE.glob("*.py") if p.name not in _NOT_PARSING)


def checksums() -> dict[str, int]:
    return {name: zlib.crc32((HERE / name).read_bytes()) for name in sources()}


def _type(param: click.Parameter) -> str:
    if isinstance(param.type, TyperPath):
        assert param.type.type is None and not param.type.exists and param.type.readable
        assert not param.type.writable and not param.type.resolve_path, param.name
        return "path"
    # Plain types only: a range or a choice would check more than the fast path does.
    kind = {click.types.StringParamType: "str", click.types.BoolParamType: "bool"}
    kind[click.types.IntParamType] = "int"
    return kind[type(param.type)]


def _param(param: click.Parameter) -> tuple[Any, ...]:
    """(name, opts, envvars, action, type, default, off_opts) of a parameter the fast path
    can read; ``off_opts`` are a boolean flag's ``--no-...`` names."""
    assert param.name and param.expose_value and param.callback is None, param.name
    assert not param.required and not param.is_eager, param.name
    envvars = [param.envvar] if isinstance(param.envvar, str) else list(param.envvar or [])
    if isinstance(param, TyperArgument):
        assert param.nargs in (1, -1) and not envvars, param.name
        action = "args" if param.nargs == -1 else "arg"
        return (param.name, [], [], action, _type(param), param.default, [])
    assert param.nargs == 1, param.name
    assert all(o.startswith("--") or len(o) == 2 for o in param.opts), param.opts
    assert getattr(param, "prompt", None) is None, param.name
    if getattr(param, "count", False):
        action = "count"
    elif getattr(param, "is_flag", False):
        assert getattr(param, "is_bool_flag", False), param.name
        action = "flag"
    else:
        action = "append" if param.multiple else "store"
    off = list(param.secondary_opts)
    assert not off or action == "flag", param.name
    assert all(o.startswith("--") or len(o) == 2 for o in off), off
    return (param.name, list(param.opts), envvars, action, _type(param), param.default, off)


def _root_envvars(group: click.Command) -> list[tuple[str, list[str], str]]:
    """The app's own options that read a variable: click checks those on every run."""
    found = []
    for param in group.params:
        if param.envvar:
            envvars = [param.envvar] if isinstance(param.envvar, str) else list(param.envvar)
            found.append((str(param.name), envvars, _type(param)))
    return found


def _help(app: typer.Typer) -> str:
    out = io.StringIO()
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(HELP_COLUMNS)
    try:
        with redirect_stdout(out):
            try:
                app(args=["--help"], prog_name="cachedb")
            except SystemExit as exc:
                assert exc.code in (0, None)
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous
    return out.getvalue()


def build() -> dict[str, Any]:
    """The spec, from the app as it is now."""
    app = load_app()
    group = typer.main.get_command(app)
    assert isinstance(group, TyperGroup)
    commands = {}
    for name in FAST:
        command = group.commands[name]
        assert command.allow_interspersed_args and not command.allow_extra_args
        assert not command.ignore_unknown_options and command.context_settings == {}
        params = [_param(p) for p in command.params]
        assert sum(p[3] in ("arg", "args") for p in params) <= 1, name
        commands[name] = params
    return {
        "SOURCES": checksums(),
        "NOT_PARSING": sorted(_NOT_PARSING),
        "ROOT_ENVVARS": _root_envvars(group),
        "COMMANDS": commands,
        "HELP": _help(app),
    }


def render(spec: dict[str, Any]) -> str:
    import pprint

    types = {
        "SOURCES": "dict[str, int]",
        "NOT_PARSING": "list[str]",
        "ROOT_ENVVARS": "list[tuple[str, list[str], str]]",
        "COMMANDS": "dict[str, list[tuple[Any, ...]]]",
        "HELP": "str",
    }
    lines = [
        '"""Generated by ``python -m cachedb.cli._specgen``: do not edit (see _specgen.py)."""',
        "",
        "from __future__ import annotations",
        "",
        "TYPE_CHECKING = False  # typing's, without importing typing",
        "if TYPE_CHECKING:",
        "    from typing import Any",
        "",
        "# fmt: off",
    ]
    for key, value in spec.items():
        text = pprint.pformat(value, width=96, sort_dicts=False)
        if not text.startswith("("):  # long strings come in parentheses already
            text = f"(\n{text}\n)"
        lines.append(f"{key}: {types[key]} = {text}")
    return "\n".join(lines) + "\n"


def main() -> None:
    SPEC.write_text(render(build()))
    print(f"wrote {SPEC}")


if __name__ == "__main__":
    main()
