"""``cachedb install``, ``uninstall`` and ``list``."""

from pathlib import Path
from typing import Annotated

import typer

from ._app import CacheDirOption, DbUrlOption, JsonOption, app

PythonOption = Annotated[
    str | None,
    typer.Option("--python", "-p", help="The interpreter (or its venv) to install into."),
]
VenvOption = Annotated[
    str | None,
    typer.Option("--venv", help="The virtual environment to install into (created if missing)."),
]
# Commands that look at or change an environment that exists.
EnvPythonOption = Annotated[
    str | None,
    typer.Option(
        "--python",
        "-p",
        help="The interpreter (or its venv) of the environment [default: $VIRTUAL_ENV, "
        "else ./.venv].",
        show_default=False,
    ),
]
EnvVenvOption = Annotated[
    str | None,
    typer.Option(
        "--venv",
        help="The virtual environment [default: $VIRTUAL_ENV, else ./.venv].",
        show_default=False,
    ),
]
QuietOption = Annotated[
    int, typer.Option("--quiet", "-q", count=True, help="Print less.", show_default=False)
]
VerboseOption = Annotated[
    int, typer.Option("--verbose", "-v", count=True, help="Print more.", show_default=False)
]
NoWaitOption = Annotated[
    bool,
    typer.Option(
        "--no-wait",
        envvar="CACHEDB_NO_WAIT",
        help="Fail at once if another process is changing the environment, instead of waiting.",
    ),
]

# The options saying where packages come from, shared with `venv --seed`.
IndexUrlOption = Annotated[
    str | None,
    typer.Option(
        "--index-url",
        "-i",
        envvar="CACHEDB_INDEX_URL",
        help="Base URL of the package index [default: https://pypi.org/simple].",
    ),
]
ExtraIndexUrlOption = Annotated[
    list[str] | None,
    typer.Option(
        "--extra-index-url",
        envvar="CACHEDB_EXTRA_INDEX_URL",
        help="More indexes, after --index-url (the variable: URLs separated by spaces).",
    ),
]
FindLinksOption = Annotated[
    list[str] | None,
    typer.Option(
        "--find-links",
        "-f",
        envvar="CACHEDB_FIND_LINKS",
        help="A directory or URL of wheels (the variable: separated by spaces).",
    ),
]
NoIndexOption = Annotated[
    bool,
    typer.Option("--no-index", envvar="CACHEDB_NO_INDEX", help="Ignore the package index."),
]
OfflineOption = Annotated[
    bool,
    typer.Option("--offline", envvar="CACHEDB_OFFLINE", help="Use only the cache; no network."),
]
LinkModeOption = Annotated[
    str | None,
    typer.Option(
        "--link-mode",
        envvar="CACHEDB_LINK_MODE",
        help="clone, hardlink, copy or symlink [default: clone, else hardlink, else copy].",
    ),
]

# How to reach the indexes: certificates and credentials.
CertOption = Annotated[
    str | None,
    typer.Option(
        "--cert",
        envvar=["CACHEDB_CERT", "SSL_CERT_FILE"],
        help="Trust the CA certificates in this PEM file instead of the bundled ones.",
        show_default=False,
    ),
]
NativeTlsOption = Annotated[
    bool,
    typer.Option(
        "--native-tls",
        envvar="CACHEDB_NATIVE_TLS",
        help="Trust the system's certificate store (needs the truststore package).",
    ),
]
KeyringProviderOption = Annotated[
    str,
    typer.Option(
        "--keyring-provider",
        envvar="CACHEDB_KEYRING_PROVIDER",
        help="subprocess: ask the keyring command for credentials after a 401; or disabled.",
    ),
]


@app.command("install")
def install_command(
    packages: Annotated[
        list[str] | None,
        typer.Argument(
            help="Requirements, wheel or sdist paths, project directories, URLs, git+ URLs.",
            show_default=False,
        ),
    ] = None,
    requirement: Annotated[
        list[str] | None,
        typer.Option("--requirement", "-r", help="Install from a requirements file."),
    ] = None,
    editable: Annotated[
        list[str] | None,
        typer.Option("--editable", "-e", help="Install a project directory in editable mode."),
    ] = None,
    constraint: Annotated[
        list[str] | None, typer.Option("--constraint", "-c", help="Constrain versions with a file.")
    ] = None,
    python: PythonOption = None,
    venv: VenvOption = None,
    seed: Annotated[
        bool,
        typer.Option(
            "--seed", envvar="CACHEDB_SEED", help="Install pip into a venv this command creates."
        ),
    ] = False,
    index_url: IndexUrlOption = None,
    extra_index_url: ExtraIndexUrlOption = None,
    find_links: FindLinksOption = None,
    no_index: NoIndexOption = False,
    offline: OfflineOption = False,
    refresh: Annotated[
        bool,
        typer.Option(
            "--refresh", help="Revalidate cached index pages and re-read local wheel files."
        ),
    ] = False,
    upgrade: Annotated[
        bool, typer.Option("--upgrade", "-U", help="Upgrade to the newest allowed versions.")
    ] = False,
    no_deps: Annotated[
        bool, typer.Option("--no-deps", help="Do not install dependencies.")
    ] = False,
    require_hashes: Annotated[
        bool, typer.Option("--require-hashes", help="Require a --hash for every package.")
    ] = False,
    pre: Annotated[bool, typer.Option("--pre", help="Allow pre-releases.")] = False,
    link_mode: LinkModeOption = None,
    no_build: Annotated[
        bool, typer.Option("--no-build", help="Never build from source (cached builds are used).")
    ] = False,
    no_binary: Annotated[
        list[str] | None,
        typer.Option("--no-binary", help="Build these from source (names, :all: or :none:)."),
    ] = None,
    only_binary: Annotated[
        list[str] | None,
        typer.Option("--only-binary", help="Never build these (names, :all: or :none:)."),
    ] = None,
    refresh_package: Annotated[
        list[str] | None,
        typer.Option(
            "--refresh-package",
            help="Refresh this package: revalidate its pages, re-read its files, rebuild it.",
        ),
    ] = None,
    index_strategy: Annotated[
        str | None,
        typer.Option(
            "--index-strategy",
            envvar="CACHEDB_INDEX_STRATEGY",
            help="Which indexes' versions count: first-index (the first index that has "
            "the project; safe against dependency confusion), unsafe-first-match or "
            "unsafe-best-match [default: first-index].",
            show_default=False,
        ),
    ] = None,
    max_download_size: Annotated[
        str | None,
        typer.Option(
            "--max-download-size",
            envvar="CACHEDB_MAX_DOWNLOAD_SIZE",
            help="Refuse a download past this size when its index declares none "
            "(e.g. 500MB, 2GiB) [default: 8GiB].",
            show_default=False,
        ),
    ] = None,
    reinstall_package: Annotated[
        list[str] | None,
        typer.Option(
            "--reinstall-package", help="Link this package again even if it is installed."
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Say what would be installed and removed; change nothing."),
    ] = False,
    report: Annotated[
        str | None,
        typer.Option(
            "--report",
            help="Write pip's installation report (JSON) to this file; '-' for stdout.",
            show_default=False,
        ),
    ] = None,
    compile_bytecode: Annotated[
        bool,
        typer.Option(
            "--compile-bytecode",
            envvar="CACHEDB_COMPILE_BYTECODE",
            help="Compile the environment's Python files to bytecode after installing.",
        ),
    ] = False,
    reinstall: Annotated[
        bool, typer.Option("--reinstall", help="Reinstall every package, even if installed.")
    ] = False,
    exact: Annotated[
        bool,
        typer.Option("--exact", help="Uninstall what the requirements do not resolve to."),
    ] = False,
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            help="Install into this directory, flat (as pip --target).",
            show_default=False,
        ),
    ] = None,
    prefix: Annotated[
        str | None,
        typer.Option(
            "--prefix",
            help="Install under this prefix: lib/pythonX.Y/site-packages, bin.",
            show_default=False,
        ),
    ] = None,
    user: Annotated[
        bool, typer.Option("--user", help="Not supported: cachedb installs into environments.")
    ] = False,
    no_wait: NoWaitOption = False,
    cert: CertOption = None,
    native_tls: NativeTlsOption = False,
    keyring_provider: KeyringProviderOption = "disabled",
    remote: Annotated[
        str | None,
        typer.Option(
            "--remote",
            envvar="CACHEDB_REMOTE",
            help="Share wheels and builds through S3: s3://bucket/prefix[?endpoint=URL].",
            show_default=False,
        ),
    ] = None,
    remote_push: Annotated[
        bool | None,
        typer.Option(
            "--remote-push/--no-remote-push",
            envvar="CACHEDB_REMOTE_PUSH",
            help="Push downloaded wheels to the remote too (built wheels are by default).",
            show_default=False,
        ),
    ] = None,
    cache_dir: CacheDirOption = None,
    db_url: DbUrlOption = None,
    quiet: QuietOption = 0,
    verbose: VerboseOption = 0,
) -> None:
    """Install packages into a virtual environment from the cache."""
    options = dict(locals())  # the parameters, as the fast path (cli._fast) passes them too
    from . import _actions

    raise typer.Exit(_actions.install(**options))


@app.command("uninstall")
def uninstall_command(
    packages: Annotated[list[str], typer.Argument(help="Distribution names.", show_default=False)],
    python: EnvPythonOption = None,
    venv: EnvVenvOption = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Accepted for pip compatibility.")
    ] = False,
    no_wait: NoWaitOption = False,
    cache_dir: CacheDirOption = None,
    db_url: DbUrlOption = None,
    quiet: QuietOption = 0,
) -> None:
    """Remove distributions from a virtual environment."""
    from ..install.manage import run_uninstall
    from ..install.report import Reporter

    del yes
    raise typer.Exit(
        run_uninstall(packages, python, venv, cache_dir, db_url, Reporter(-quiet), wait=not no_wait)
    )


@app.command("list")
def list_command(
    python: EnvPythonOption = None,
    venv: EnvVenvOption = None,
    json_output: JsonOption = False,
    cache_dir: CacheDirOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """List the distributions installed in a virtual environment."""
    from ..install.manage import run_list

    raise typer.Exit(run_list(python, venv, cache_dir, db_url, json_output))


__all__ = ["Path"]
