"""``cachedb venv``: create a virtual environment."""

from typing import Annotated

import typer

from ._app import CacheDirOption, DbUrlOption, app
from ._install import (
    CertOption,
    ExtraIndexUrlOption,
    FindLinksOption,
    IndexUrlOption,
    KeyringProviderOption,
    LinkModeOption,
    NativeTlsOption,
    NoIndexOption,
    OfflineOption,
    QuietOption,
)


@app.command("venv")
def venv_command(
    path: Annotated[str, typer.Argument(help="Where to create the virtual environment.")] = ".venv",
    python: Annotated[
        str | None,
        typer.Option(
            "--python",
            "-p",
            help="Interpreter: a path, a command, or a version such as 3.12 (PATH, then pyenv)"
            " [default: the Python running cachedb].",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        bool,
        typer.Option(
            "--seed",
            envvar="CACHEDB_SEED",
            help="Install pip (and setuptools and wheel below Python 3.12) from the cache"
            " or index.",
        ),
    ] = False,
    prompt: Annotated[
        str | None,
        typer.Option(
            "--prompt",
            help="Prompt prefix of the activated environment ('.' for the current directory's"
            " name) [default: the environment's directory name].",
            show_default=False,
        ),
    ] = None,
    clear: Annotated[
        bool,
        typer.Option(
            "--clear", envvar="CACHEDB_CLEAR", help="Replace an existing virtual environment."
        ),
    ] = False,
    index_url: IndexUrlOption = None,
    extra_index_url: ExtraIndexUrlOption = None,
    find_links: FindLinksOption = None,
    no_index: NoIndexOption = False,
    offline: OfflineOption = False,
    link_mode: LinkModeOption = None,
    cert: CertOption = None,
    native_tls: NativeTlsOption = False,
    keyring_provider: KeyringProviderOption = "disabled",
    cache_dir: CacheDirOption = None,
    db_url: DbUrlOption = None,
    quiet: QuietOption = 0,
) -> None:
    """Create a virtual environment (from a template of the interpreter's own venv)."""
    options = dict(locals())  # the parameters, as the fast path (cli._fast) passes them too
    from . import _actions

    raise typer.Exit(_actions.venv(**options))
