"""``cachedb freeze``, ``show``, ``tree`` and ``check``: what an environment has installed."""

from typing import TYPE_CHECKING, Annotated

import typer

from ._app import CacheDirOption, app
from ._install import EnvPythonOption, EnvVenvOption

if TYPE_CHECKING:
    from ..inspect import Environment


def _environment(python: str | None, venv: str | None, cache_dir: object) -> "Environment":
    from pathlib import Path

    from ..inspect.installed import load_environment

    return load_environment(python, venv, cache_dir if isinstance(cache_dir, Path) else None)


def _print(lines: list[str]) -> None:
    import sys

    if lines:
        sys.stdout.write("\n".join(lines) + "\n")


@app.command("freeze")
def freeze_command(
    exclude_editable: Annotated[
        bool, typer.Option("--exclude-editable", help="Leave out editable installs.")
    ] = False,
    python: EnvPythonOption = None,
    venv: EnvVenvOption = None,
    cache_dir: CacheDirOption = None,
) -> None:
    """Print the installed distributions in requirements format (as pip freeze --all)."""
    from ..inspect.freeze import freeze_lines

    env = _environment(python, venv, cache_dir)
    _print(list(freeze_lines(env, exclude_editable=exclude_editable)))


@app.command("show")
def show_command(
    packages: Annotated[list[str], typer.Argument(help="Distribution names.", show_default=False)],
    files: Annotated[
        bool, typer.Option("--files", "-f", help="List the files of each distribution.")
    ] = False,
    python: EnvPythonOption = None,
    venv: EnvVenvOption = None,
    cache_dir: CacheDirOption = None,
) -> None:
    """Show the metadata of installed distributions (as pip show)."""
    import sys

    from ..inspect.show import show

    env = _environment(python, venv, cache_dir)
    lines, missing = show(env, packages, files=files)
    if missing:
        sys.stderr.write(f"warning: Package(s) not found: {', '.join(missing)}\n")
    _print(lines)
    if not lines:
        raise typer.Exit(1)


@app.command("tree")
def tree_command(
    reverse: Annotated[
        bool, typer.Option("--reverse", "--invert", help="Show what depends on each package.")
    ] = False,
    depth: Annotated[
        int | None,
        typer.Option("--depth", "-d", min=0, help="Draw this many levels at most."),
    ] = None,
    package: Annotated[
        list[str] | None,
        typer.Option("--package", help="Start from this package (repeatable).", show_default=False),
    ] = None,
    python: EnvPythonOption = None,
    venv: EnvVenvOption = None,
    cache_dir: CacheDirOption = None,
) -> None:
    """Draw the dependency tree of an environment, with the specifiers that pulled each in."""
    from ..inspect.tree import tree_lines

    env = _environment(python, venv, cache_dir)
    _print(list(tree_lines(env, reverse=reverse, depth=depth, packages=list(package or []))))


@app.command("check")
def check_command(
    python: EnvPythonOption = None,
    venv: EnvVenvOption = None,
    cache_dir: CacheDirOption = None,
) -> None:
    """Report missing and conflicting dependencies (as pip check); exit 1 if any."""
    from ..inspect.check import problems

    found = problems(_environment(python, venv, cache_dir))
    _print(found or ["No broken requirements found."])
    if found:
        raise typer.Exit(1)
