"""The typer application and the options every command shares.

The command modules leave out ``from __future__ import annotations`` on purpose:
typer evaluates string annotations (twice) on every call, evaluated ones it reads as
they are.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from typer import _click as click


class _Commands(TyperGroup):
    """Lists each command with its whole first paragraph of help (click cuts it to fit)."""

    def format_commands(self, ctx: "click.Context", formatter: "click.HelpFormatter") -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            text = command.short_help or (command.help or "").split("\n\n")[0]
            rows.append((name, " ".join(text.split())))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


app = typer.Typer(
    cls=_Commands,
    name="cachedb",
    help="Install Python packages from a database-backed wheel cache.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

CacheDirOption = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        envvar="CACHEDB_CACHE_DIR",
        help="Cache directory [default: the platform's user cache dir].",
        show_default=False,
    ),
]
DbUrlOption = Annotated[
    str | None,
    typer.Option(
        "--db-url",
        envvar="CACHEDB_DB_URL",
        help="Metadata database URL [default: SQLite inside the cache dir].",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def version_callback(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"cachedb {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
    # Taken out of the command line before it gets here (cli._configure): listed for help.
    no_config: Annotated[
        bool,
        typer.Option(
            "--no-config",
            envvar="CACHEDB_NO_CONFIG",
            help="Read no configuration file (pyproject.toml [tool.cachedb], cachedb.toml).",
        ),
    ] = False,
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config-file",
            envvar="CACHEDB_CONFIG_FILE",
            help="Read only this configuration file.",
            show_default=False,
        ),
    ] = None,
    color: Annotated[
        str,
        typer.Option(
            "--color",
            envvar="CACHEDB_COLOR",
            help="auto (on a terminal, unless NO_COLOR; FORCE_COLOR forces it), always or never.",
        ),
    ] = "auto",
) -> None:
    """Install Python packages from a database-backed wheel cache."""
    del no_config, config_file, color
