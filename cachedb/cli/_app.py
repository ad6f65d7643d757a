"""The typer application and the options every command shares.

The command modules leave out ``from __future__ import annotations`` on purpose:
typer evaluates string annotations (twice) on every call, evaluated ones it reads as
they are.
"""

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="cachedb",
    help="Install Python packages from a database-backed wheel cache.",
    no_args_is_help=True,
    add_completion=False,
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
) -> None:
    """Install Python packages from a database-backed wheel cache."""
