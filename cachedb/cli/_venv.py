"""``cachedb venv``: create a virtual environment."""

from typing import Annotated

import typer

from ._app import CacheDirOption, DbUrlOption, app


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
    index_url: Annotated[
        str | None,
        typer.Option(
            "--index-url",
            "-i",
            envvar="CACHEDB_INDEX_URL",
            help="Base URL of the package index --seed uses [default: https://pypi.org/simple].",
            show_default=False,
        ),
    ] = None,
    extra_index_url: Annotated[
        list[str] | None,
        typer.Option("--extra-index-url", help="Extra index URLs --seed uses."),
    ] = None,
    find_links: Annotated[
        list[str] | None,
        typer.Option("--find-links", "-f", help="A directory or URL of wheels for --seed."),
    ] = None,
    no_index: Annotated[bool, typer.Option("--no-index", help="Ignore the package index.")] = False,
    offline: Annotated[
        bool,
        typer.Option("--offline", envvar="CACHEDB_OFFLINE", help="Use only the cache; no network."),
    ] = False,
    link_mode: Annotated[
        str | None,
        typer.Option(
            "--link-mode",
            envvar="CACHEDB_LINK_MODE",
            help="How --seed links: clone, hardlink, copy or symlink.",
            show_default=False,
        ),
    ] = None,
    cache_dir: CacheDirOption = None,
    db_url: DbUrlOption = None,
    quiet: Annotated[int, typer.Option("--quiet", "-q", count=True, help="Print less.")] = 0,
) -> None:
    """Create a virtual environment (from a template of the interpreter's own venv)."""
    from ..install.options import InstallOptions
    from ..install.report import Reporter
    from ..install.venv import VenvOptions, run_venv

    opts = VenvOptions(
        path=path,
        python=python,
        seed=seed,
        prompt=prompt,
        clear=clear,
        install=InstallOptions(
            index_url=index_url,
            extra_index_urls=list(extra_index_url or []),
            find_links=list(find_links or []),
            no_index=no_index,
            offline=offline,
            link_mode=link_mode,
            cache_dir=cache_dir,
            db_url=db_url,
        ),
    )
    raise typer.Exit(run_venv(opts, Reporter(-quiet)))
