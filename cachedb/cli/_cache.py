"""``cachedb dir``: where the cache lives."""

import typer

from ._app import CacheDirOption, app


@app.command("dir")
def dir_command(cache_dir: CacheDirOption = None) -> None:
    """Print the cache directory."""
    from .._config import resolve_cache_dir

    typer.echo(str(resolve_cache_dir(cache_dir)))
