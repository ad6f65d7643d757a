"""``cachedb gc`` and ``cachedb clean``: collect archives nothing uses any more."""

from typing import TYPE_CHECKING, Annotated

import typer

from ._app import CacheDirOption, DbUrlOption, JsonOption, app

if TYPE_CHECKING:
    from ..gc import Options

GraceOption = Annotated[
    str,
    typer.Option(
        "--grace",
        help="Leave unregistered leftovers and new archives younger than this (e.g. 10m, 1h).",
    ),
]
KeepInstalledOption = Annotated[
    bool,
    typer.Option(
        "--keep-installed",
        help="Never evict archives installed in a living environment, whatever the link mode.",
    ),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Print what would be removed; change nothing.")
]


@app.command("gc")
def gc_command(
    cache_dir: CacheDirOption = None,
    db_url: DbUrlOption = None,
    grace: GraceOption = "1h",
    max_age: Annotated[
        str | None,
        typer.Option(
            "--max-age",
            help="Evict entries (and memos, else after 30d) unused for this long (e.g. 30d).",
            show_default=False,
        ),
    ] = None,
    max_size: Annotated[
        str | None,
        typer.Option(
            "--max-size",
            help="Evict least recently used entries until the cache fits (e.g. 5GB, 2GiB).",
            show_default=False,
        ),
    ] = None,
    keep_installed: KeepInstalledOption = False,
    dry_run: DryRunOption = False,
    json: JsonOption = False,
) -> None:
    """Remove archives no pointer, living environment or running install uses."""
    from ..gc import Options, parse_duration, parse_size

    options = Options(
        grace=parse_duration(grace),
        max_age=None if max_age is None else parse_duration(max_age),
        max_size=None if max_size is None else parse_size(max_size),
        keep_installed=keep_installed,
    )
    _run(cache_dir, db_url, options, dry_run=dry_run, json=json)


@app.command("clean")
def clean_command(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Distributions to remove [default: everything].", show_default=False),
    ] = None,
    cache_dir: CacheDirOption = None,
    db_url: DbUrlOption = None,
    grace: GraceOption = "1h",
    keep_installed: KeepInstalledOption = False,
    dry_run: DryRunOption = False,
    json: JsonOption = False,
) -> None:
    """Remove every cache entry of NAMEs (or all), except what living symlink installs use."""
    from packaging.utils import canonicalize_name

    from ..gc import Options, parse_duration

    options = Options(
        grace=parse_duration(grace),
        keep_installed=keep_installed,
        clean=tuple(sorted({canonicalize_name(n) for n in names or ()})),
    )
    _run(cache_dir, db_url, options, dry_run=dry_run, json=json)


def _run(
    cache_dir: object, db_url: str | None, options: "Options", *, dry_run: bool, json: bool
) -> None:
    from pathlib import Path

    from ..gc import run
    from ..store import open_cache

    with open_cache(cache_dir if isinstance(cache_dir, Path) else None, db_url) as cache:
        report = run(cache, options, dry_run=dry_run)
    if json:
        typer.echo(report.to_json())
        return
    for line in report.lines():
        typer.echo(line)
    typer.echo(report.summary())
