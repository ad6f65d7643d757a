"""What ``install``, ``venv`` and ``compile`` do with their parsed options.

One body per command, called by the typer command and by the fast path
(``cli._fast``) alike, with the same keyword arguments typer hands its command
function. Nothing here imports typer: the fast path runs these without it.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing's, without importing typing (about 12M instructions)
if TYPE_CHECKING:
    from datetime import datetime
    from pathlib import Path

    from ..install.options import InstallOptions


def install_options(
    *,
    index_url: str | None,
    extra_index_url: list[str] | None,
    find_links: list[str] | None,
    no_index: bool,
    offline: bool,
    cert: str | None,
    native_tls: bool,
    keyring_provider: str,
    cache_dir: Path | None,
    db_url: str | None,
) -> InstallOptions:
    """The options of every command that reads the sources (``install``, ``sync``,
    ``compile``, ``venv``): indexes, find-links, network (certificates, credentials) and
    the cache, turned into ``InstallOptions`` one way; each command adds its own with
    ``InstallOptions.replace``."""
    from ..install.options import InstallOptions

    return InstallOptions(
        index_url=index_url,
        extra_index_urls=list(extra_index_url or []),
        find_links=list(find_links or []),
        no_index=no_index,
        offline=offline,
        cert=cert,
        native_tls=native_tls,
        keyring_provider=keyring_provider,
        cache_dir=cache_dir,
        db_url=db_url,
    )


def install(
    *,
    packages: list[str] | None,
    requirement: list[str] | None,
    editable: list[str] | None,
    constraint: list[str] | None,
    python: str | None,
    venv: str | None,
    seed: bool,
    index_url: str | None,
    extra_index_url: list[str] | None,
    find_links: list[str] | None,
    no_index: bool,
    offline: bool,
    refresh: bool,
    upgrade: bool,
    no_deps: bool,
    require_hashes: bool,
    pre: bool,
    link_mode: str | None,
    no_build: bool,
    no_binary: list[str] | None,
    only_binary: list[str] | None,
    refresh_package: list[str] | None,
    index_strategy: str | None,
    max_download_size: str | None,
    reinstall_package: list[str] | None,
    dry_run: bool,
    report: str | None,
    compile_bytecode: bool,
    reinstall: bool,
    exact: bool,
    target: str | None,
    prefix: str | None,
    user: bool,
    no_wait: bool,
    cert: str | None,
    native_tls: bool,
    keyring_provider: str,
    remote: str | None,
    remote_push: bool | None,
    cache_dir: Path | None,
    db_url: str | None,
    quiet: int,
    verbose: int,
) -> int:
    """``cachedb install``: the exit code."""
    if user:
        from ..errors import UsageError

        raise UsageError(
            "--user is not supported: cachedb installs into a virtual environment "
            "(use --venv or --python), a --target directory or a --prefix"
        )
    from ..install.options import index_strategy as strategy
    from ..install.options import max_download_size as download_cap
    from ..install.pipeline import run_install
    from ..install.report import Reporter

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
        requirements=list(packages or []),
        editables=list(editable or []),
        requirement_files=list(requirement or []),
        constraint_files=list(constraint or []),
        python=python,
        venv=venv,
        seed=seed,
        refresh=refresh,
        upgrade=upgrade,
        no_deps=no_deps,
        require_hashes=require_hashes,
        pre=pre,
        link_mode=link_mode,
        no_build=no_build,
        no_binary=list(no_binary or []),
        only_binary=list(only_binary or []),
        refresh_packages=list(refresh_package or []),
        reinstall_packages=list(reinstall_package or []),
        wait=not no_wait,
        dry_run=dry_run,
        report=report,
        compile_bytecode=compile_bytecode,
        reinstall=reinstall,
        exact=exact,
        target=target,
        prefix=prefix,
        remote=remote or None,
        remote_push=remote_push,
    )
    if max_download_size is not None:
        opts.max_download_size = download_cap(max_download_size)
    if index_strategy is not None:
        opts.index_strategy = strategy(index_strategy)
    return run_install(opts, Reporter(verbose - quiet))


def venv(
    *,
    path: str,
    python: str | None,
    seed: bool,
    prompt: str | None,
    clear: bool,
    index_url: str | None,
    extra_index_url: list[str] | None,
    find_links: list[str] | None,
    no_index: bool,
    offline: bool,
    link_mode: str | None,
    cert: str | None,
    native_tls: bool,
    keyring_provider: str,
    cache_dir: Path | None,
    db_url: str | None,
    quiet: int,
) -> int:
    """``cachedb venv``: the exit code."""
    from ..install.report import Reporter
    from ..install.venv import VenvOptions, run_venv

    seeding = None
    if seed:
        # Only an install reads the sources: without --seed their options go unused.
        seeding = install_options(
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
            link_mode=link_mode,
        )
    opts = VenvOptions(
        path=path, python=python, prompt=prompt, clear=clear, cache_dir=cache_dir, seed=seeding
    )
    return run_venv(opts, Reporter(-quiet))


def moment(text: str) -> datetime | None:
    """``--exclude-newer``: an RFC 3339 timestamp, or a date meaning its midnight UTC; None
    when ``text`` is neither (the typer command turns that into its usage error)."""
    from datetime import UTC, datetime

    try:
        found = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def compile(  # noqa: A001 - the command's name
    *,
    sources: list[str] | None,
    output: str | None,
    output_format: str | None,
    constraint: list[str] | None,
    override: list[str] | None,
    extra: list[str] | None,
    all_extras: bool,
    group: list[str] | None,
    generate_hashes: bool,
    emit_index_url: bool,
    no_annotate: bool,
    no_header: bool,
    upgrade: bool,
    upgrade_package: list[str] | None,
    python_version: str | None,
    python_platform: str | None,
    exclude_newer: datetime | None,
    resolution: str,
    pre: bool,
    prerelease: str | None,
    index_url: str | None,
    extra_index_url: list[str] | None,
    find_links: list[str] | None,
    no_index: bool,
    offline: bool,
    cert: str | None,
    native_tls: bool,
    keyring_provider: str,
    refresh: bool,
    no_build: bool,
    python: str | None,
    cache_dir: Path | None,
    db_url: str | None,
    quiet: int,
    verbose: int,
) -> int:
    """``cachedb compile`` (``exclude_newer`` already read by ``moment``): the exit code."""
    from ..db import events
    from ..install.report import Reporter
    from ..lock import CompileOptions, run_compile

    opts = CompileOptions(
        install=install_options(
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
            constraint_files=list(constraint or []),
            python=python,
            refresh=refresh,
            upgrade=upgrade,
            pre=pre,
            no_build=no_build,
        ),
        sources=list(sources or []),
        overrides=list(override or []),
        extras=list(extra or []),
        all_extras=all_extras,
        groups=list(group or []),
        output=output,
        format=output_format,
        generate_hashes=generate_hashes,
        emit_index_url=emit_index_url,
        annotate=not no_annotate,
        header=not no_header,
        upgrade_packages=list(upgrade_package or []),
        python_version=python_version,
        python_platform=python_platform,
        exclude_newer=exclude_newer,
        resolution=resolution,
        prerelease=prerelease,
        command=events.command(),
    )
    return run_compile(opts, Reporter(verbose - quiet))
