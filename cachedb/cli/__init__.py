"""The ``cachedb`` command line: a thin typer layer over the packages below it.

Each command module imports its implementation inside the command function, and
``main`` registers only the command it runs: typer turns every registered
signature into click parameters on every call, which costs more than most imports
(about 6 ms for all ten commands, 2 ms for ``install`` alone).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib import import_module

TYPE_CHECKING = False  # typing's, without importing typing (about 12M instructions)
if TYPE_CHECKING:
    import typer

# Every command and the module registering it, in the order help lists them: the
# environment's commands first (what a pip or uv user comes for), then the cache's.
_COMMANDS = {
    "install": "_install",
    "uninstall": "_install",
    "list": "_install",
    "compile": "_lock",
    "sync": "_lock",
    "venv": "_venv",
    "freeze": "_inspect",
    "show": "_inspect",
    "tree": "_inspect",
    "check": "_inspect",
    "config": "_settings",
    "dir": "_cache",
    "info": "_audit",
    "ls": "_audit",
    "gc": "_gc",
    "clean": "_gc",
    "verify": "_audit",
    "sql": "_audit",
    "remote": "_remote",
}
# Commands that are groups of subcommands (`cachedb remote push`).
_GROUPS = frozenset({"remote"})


def load_app(args: Sequence[str] = ()) -> typer.Typer:
    """The app, with the command ``args`` starts with registered, else with every command."""
    from ._app import app

    module = _COMMANDS.get(args[0]) if args else None
    for name in [module] if module else dict.fromkeys(_COMMANDS.values()):
        import_module(f"{__name__}.{name}")
    # Modules register their commands when first imported, in whatever order the
    # calls so far came in (tests call main() many times): help keeps one order.
    position = {name: i for i, name in enumerate(_COMMANDS)}
    app.registered_commands.sort(key=lambda info: position.get(info.name or "", len(position)))
    return app


def _tune_collector(command: str | None) -> None:
    """Keep the cyclic garbage collector off the hot paths of a short-lived command.

    A cold install makes tens of thousands of small objects (a file entry per
    file), which with the default thresholds set off full collections that walk every
    object alive: about 20 ms while storing alone. What is loaded by now is
    frozen too, so a walk neither visits it nor, in a forked worker, copies it.
    Switched off, it would leave an install's peak memory 1-3 MiB higher.
    """
    import gc

    gc.freeze()
    # An install's first young generation is every object it makes before linking: with
    # 100,000 its walks run a few times instead of ~20 (~7M instructions fewer).
    gc.set_threshold(100_000 if command == "install" else 20_000, 20, 20)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: run the app, turning CachedbError into a one-line error."""
    code = _run(argv)
    if argv is None:
        _leave(code)
    return code


def _leave(code: int) -> None:
    """End this process at once, as the interpreter would end it but without its teardown.

    Tearing down frees every object one by one, module by module: after a big
    install about 30 ms, which the user waits for and nothing gains. Everything
    the interpreter would still do that matters is done here: the exit handlers
    run and the standard streams are flushed. Not while another thread runs,
    which the interpreter would wait for.
    """
    # A thread can only have been started if threading was loaded (and loading it just to
    # ask would cost more than the teardown it saves here).
    threading = sys.modules.get("threading")
    if threading is not None and threading.active_count() != 1:
        return
    import atexit
    import contextlib
    import os

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        # None without a console; a reader gone or a stream closed: nothing to show anyone.
        with contextlib.suppress(OSError, ValueError):
            if stream is not None:
                stream.flush()
    os._exit(code)


def _run(argv: list[str] | None) -> int:
    from .._redact import redact_url
    from ..db import events
    from ..errors import CachedbError

    args = sys.argv[1:] if argv is None else argv
    # Event rows record the command line, never the credentials in its URLs.
    events.set_command(" ".join(["cachedb", *(redact_url(a) for a in args)]))
    try:
        args, defaults = _configure(args)
        if argv is None:  # a process of its own, not a caller's (tests call main many times)
            _tune_collector(args[0] if args else None)
        from ._fast import run as run_fast

        code = run_fast(args, defaults)
        if code is not None:
            return code
        app = load_app(args)
        app(args=args, prog_name="cachedb", default_map=defaults)
    except CachedbError as exc:
        lines = str(exc).splitlines() or [type(exc).__name__]
        from .._color import paint

        sys.stderr.write(f"{paint('error:', 'error', sys.stderr)} {lines[0]}\n")
        if lines[1:]:
            sys.stderr.write("\n".join(lines[1:]) + "\n")
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def _configure(args: list[str]) -> tuple[list[str], dict[str, dict[str, object]] | None]:
    """Take the global options out of ``args``, load the configuration files they allow.

    ``--no-config``, ``--config-file`` and ``--color`` are accepted before or after the command
    name (as uv takes them). The files' values become the command's defaults
    (click's ``default_map``): a flag or an environment variable still wins.
    """
    from .. import _color, _configfiles, _settings

    rest: list[str] = []
    no_config, config_file, color = False, None, None
    words = iter(args)
    for word in words:
        if word == "--":
            rest += [word, *words]
            break
        if word == "--no-config":
            no_config = True
        elif word == "--config-file":
            config_file = next(words, None)
            if not config_file:
                from ..errors import UsageError

                raise UsageError("--config-file needs a path")
        elif word.startswith("--config-file="):
            config_file = word.partition("=")[2]
        elif word == "--color":
            color = next(words, "")
        elif word.startswith("--color="):
            color = word.partition("=")[2]
        else:
            rest.append(word)
    if color is not None:
        _color.use(color)  # before the files, so their errors follow it too
    configuration = _configfiles.load(no_config=no_config, config_file=config_file)
    _settings.use(configuration)
    _color.use(color or _settings.value("color") or "auto")
    if not configuration.files or not rest:
        return rest, None
    # A setting's parameter is its name with underscores (tests/test_settings.py checks).
    values = {
        name.replace("-", "_"): found[0]
        for name, setting in _settings.SETTINGS.items()
        if setting.flag and (found := configuration.lookup(name)) is not None
    }
    if rest[0] in _GROUPS and len(rest) > 1:
        # click hands a group's subcommand the defaults under its own name.
        return rest, {rest[0]: {rest[1]: values}}
    return rest, {rest[0]: values}


__all__ = ["load_app", "main"]
