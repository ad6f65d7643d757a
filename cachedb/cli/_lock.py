"""``cachedb compile``: resolve inputs into a lock file."""

from datetime import datetime
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
    NoWaitOption,
    OfflineOption,
    PythonOption,
    QuietOption,
    VenvOption,
    VerboseOption,
)

ListOption = list[str] | None


def _moment(text: str) -> datetime:
    """``--exclude-newer``, or typer's usage error when it is no date."""
    from ._actions import moment

    found = moment(text)
    if found is None:
        raise typer.BadParameter(f"{text!r} is not a date or an RFC 3339 timestamp")
    return found


@app.command("compile")
def compile_command(
    sources: Annotated[
        list[str] | None,
        typer.Argument(
            help="requirements.in / requirements.txt files, pyproject.toml, or requirements.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option("--output-file", "-o", help="Write here (default: standard output)."),
    ] = None,
    output_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="requirements.txt or pylock.toml [default: by the -o name].",
        ),
    ] = None,
    constraint: Annotated[
        ListOption, typer.Option("--constraint", "-c", help="Constrain versions with a file.")
    ] = None,
    override: Annotated[
        ListOption,
        typer.Option("--override", help="Replace every requirement on these names with a file's."),
    ] = None,
    extra: Annotated[
        ListOption, typer.Option("--extra", help="Include this optional-dependencies extra.")
    ] = None,
    all_extras: Annotated[
        bool, typer.Option("--all-extras", help="Include every optional-dependencies extra.")
    ] = False,
    group: Annotated[
        ListOption, typer.Option("--group", help="Include this [dependency-groups] group.")
    ] = None,
    generate_hashes: Annotated[
        bool, typer.Option("--generate-hashes", help="Add a --hash for every fitting file.")
    ] = False,
    emit_index_url: Annotated[
        bool, typer.Option("--emit-index-url", help="Write the index options into the file.")
    ] = False,
    no_annotate: Annotated[
        bool, typer.Option("--no-annotate", help="Leave out the '# via' notes.")
    ] = False,
    no_header: Annotated[
        bool, typer.Option("--no-header", help="Leave out the header comment.")
    ] = False,
    upgrade: Annotated[
        bool, typer.Option("--upgrade", "-U", help="Ignore the pins of an existing output file.")
    ] = False,
    upgrade_package: Annotated[
        ListOption,
        typer.Option("--upgrade-package", "-P", help="Let this package move; keep other pins."),
    ] = None,
    python_version: Annotated[
        str | None, typer.Option("--python-version", help="Resolve for this Python (3.X).")
    ] = None,
    python_platform: Annotated[
        str | None,
        typer.Option("--python-platform", help="Resolve for this platform: linux, macos, windows."),
    ] = None,
    exclude_newer: Annotated[
        str | None,
        typer.Option(
            "--exclude-newer",
            envvar="CACHEDB_EXCLUDE_NEWER",
            help="Ignore files uploaded after this date or RFC 3339 time.",
        ),
    ] = None,
    resolution: Annotated[
        str,
        typer.Option(
            "--resolution",
            envvar="CACHEDB_RESOLUTION",
            help="highest, lowest, or lowest-direct.",
        ),
    ] = "highest",
    pre: Annotated[bool, typer.Option("--pre", help="Allow pre-releases.")] = False,
    prerelease: Annotated[
        str | None,
        typer.Option(
            "--prerelease",
            envvar="CACHEDB_PRERELEASE",
            help="disallow, allow, if-necessary, explicit or if-necessary-or-explicit "
            "[default: if-necessary-or-explicit, see docs/prereleases.md].",
            show_default=False,
        ),
    ] = None,
    index_url: IndexUrlOption = None,
    extra_index_url: ExtraIndexUrlOption = None,
    find_links: FindLinksOption = None,
    no_index: NoIndexOption = False,
    offline: OfflineOption = False,
    cert: CertOption = None,
    native_tls: NativeTlsOption = False,
    keyring_provider: KeyringProviderOption = "disabled",
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Revalidate cached index pages.")
    ] = False,
    no_build: Annotated[
        bool, typer.Option("--no-build", help="Never build from source (cached builds are used).")
    ] = False,
    python: PythonOption = None,
    cache_dir: CacheDirOption = None,
    db_url: DbUrlOption = None,
    quiet: QuietOption = 0,
    verbose: VerboseOption = 0,
) -> None:
    """Resolve requirements into a pinned requirements.txt or pylock.toml."""
    options = dict(locals())  # the parameters, as the fast path (cli._fast) passes them too
    from . import _actions

    if exclude_newer is not None:
        options["exclude_newer"] = _moment(exclude_newer)
    raise typer.Exit(_actions.compile(**options))


@app.command("sync")
def sync_command(
    files: Annotated[
        list[str],
        typer.Argument(help="requirements.txt or pylock.toml files to match.", show_default=False),
    ],
    python: PythonOption = None,
    venv: VenvOption = None,
    no_wait: NoWaitOption = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would change; change nothing.")
    ] = False,
    index_url: IndexUrlOption = None,
    extra_index_url: ExtraIndexUrlOption = None,
    find_links: FindLinksOption = None,
    no_index: NoIndexOption = False,
    offline: OfflineOption = False,
    cert: CertOption = None,
    native_tls: NativeTlsOption = False,
    keyring_provider: KeyringProviderOption = "disabled",
    require_hashes: Annotated[
        bool, typer.Option("--require-hashes", help="Require a --hash for every package.")
    ] = False,
    link_mode: LinkModeOption = None,
    cache_dir: CacheDirOption = None,
    db_url: DbUrlOption = None,
    quiet: QuietOption = 0,
    verbose: VerboseOption = 0,
) -> None:
    """Make an environment match a lock file exactly: install, reinstall and remove."""
    from ..install.pipeline import run_install
    from ..install.report import Reporter
    from ._actions import install_options

    opts = install_options(
        index_url=index_url,
        extra_index_url=extra_index_url,
        find_links=find_links,
        no_index=no_index,
        offline=offline,
        cert=cert,
        native_tls=native_tls,
        keyring_provider=keyring_provider,
        cache_dir=cache_dir,
        db_url=db_url,
    ).replace(
        requirement_files=files,
        python=python,
        venv=venv,
        require_hashes=require_hashes,
        link_mode=link_mode,
        wait=not no_wait,
        dry_run=dry_run,
        # A lock file lists the whole closure: nothing is resolved beyond it.
        no_deps=True,
        exact=True,
    )
    raise typer.Exit(run_install(opts, Reporter(verbose - quiet)))
