"""``cachedb remote push|pull|ls|gc``: the blobs hosts share through S3 (docs/sharing.md)."""

from typing import TYPE_CHECKING, Annotated

import typer

from ._app import CacheDirOption, DbUrlOption, JsonOption, app
from ._install import (
    CertOption,
    ExtraIndexUrlOption,
    FindLinksOption,
    IndexUrlOption,
    KeyringProviderOption,
    NativeTlsOption,
    NoIndexOption,
    PythonOption,
    QuietOption,
    VerboseOption,
)

if TYPE_CHECKING:
    from ..index import IndexClient
    from ..install.options import InstallOptions
    from ..install.report import Reporter
    from ..remote import Remote

remote_app = typer.Typer(
    name="remote",
    help="Share wheels between machines through S3: push, pull, ls, gc.",
    no_args_is_help=True,
)
app.add_typer(remote_app, name="remote")

RemoteOption = Annotated[
    str | None,
    typer.Option(
        "--remote",
        envvar="CACHEDB_REMOTE",
        help="The remote: s3://bucket/prefix[?endpoint=URL&region=R].",
        show_default=False,
    ),
]
DryRunOption = Annotated[
    bool, typer.Option("--dry-run", help="Say what would be done; change nothing.")
]


def _open_remote(url: str | None) -> "Remote":
    from ..errors import UsageError
    from ..install.options import http_timeout
    from ..remote import Remote

    if not url:
        raise UsageError("no remote: give --remote s3://bucket/prefix or set CACHEDB_REMOTE")
    return Remote.open(url, timeout=http_timeout())


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{max(0, int(seconds))}s"


def _index(opts: "InstallOptions") -> "IndexClient | None":
    """The sources ``opts`` names, read as install reads them (nothing written to the cache)."""
    from ..install.locations import index_client, sources
    from ..requirements import RequirementSet

    where = sources(opts, RequirementSet())
    if not where.index_urls and not where.find_links:
        return None
    return index_client(opts, where, None)


@remote_app.command("push")
def push_command(
    remote: RemoteOption = None,
    python: Annotated[
        str | None,
        typer.Option(
            "--python",
            "-p",
            help="Also push the builds of sdists this interpreter (or venv) would use.",
            show_default=False,
        ),
    ] = None,
    index_url: IndexUrlOption = None,
    extra_index_url: ExtraIndexUrlOption = None,
    find_links: FindLinksOption = None,
    no_index: NoIndexOption = False,
    cert: CertOption = None,
    native_tls: NativeTlsOption = False,
    keyring_provider: KeyringProviderOption = "disabled",
    dry_run: DryRunOption = False,
    json: JsonOption = False,
    cache_dir: CacheDirOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Push the cached wheels the remote lacks (read again from the indexes, by sha256)."""
    from ..remote._push import push
    from ..remote._usage import server_now
    from ..store import open_cache
    from ._actions import install_options

    sources = install_options(
        index_url=index_url,
        extra_index_url=extra_index_url,
        find_links=find_links,
        no_index=no_index,
        offline=False,
        cert=cert,
        native_tls=native_tls,
        keyring_provider=keyring_provider,
        cache_dir=cache_dir,
        db_url=db_url,
    )

    with _open_remote(remote) as shared:
        server_now(shared)  # an unreachable remote is said before the cache is opened
        with open_cache(cache_dir, db_url) as cache:
            tags = None
            if python is not None:
                from ..target import find_target, query_interpreter

                target = find_target(python=python)
                tags = query_interpreter(target, cache.layout.interpreters).tags
            index = _index(sources)
            try:
                report = push(cache, shared, index, tags=tags, dry_run=dry_run, say=typer.echo)
            finally:
                if index is not None:
                    index.close()
    if json:
        import json as json_

        data = {"pushed": report.pushed, "present": report.present, "skipped": report.skipped}
        typer.echo(json_.dumps(data, indent=2))
        return
    for filename, why in report.skipped:
        typer.echo(f"Skipped {filename}: {why}", err=True)
    verb = "Would push" if dry_run else "Pushed"
    typer.echo(
        f"{verb} {len(report.pushed)}, {len(report.present)} already there, "
        f"{len(report.skipped)} skipped"
    )


@remote_app.command("pull")
def pull_command(
    packages: Annotated[
        list[str] | None,
        typer.Argument(help="Requirements to fetch into the cache.", show_default=False),
    ] = None,
    requirement: Annotated[
        list[str] | None,
        typer.Option("--requirement", "-r", help="Fetch what a requirements file names."),
    ] = None,
    constraint: Annotated[
        list[str] | None, typer.Option("--constraint", "-c", help="Constrain versions.")
    ] = None,
    python: PythonOption = None,
    remote: RemoteOption = None,
    index_url: IndexUrlOption = None,
    extra_index_url: ExtraIndexUrlOption = None,
    find_links: FindLinksOption = None,
    no_index: NoIndexOption = False,
    cert: CertOption = None,
    native_tls: NativeTlsOption = False,
    keyring_provider: KeyringProviderOption = "disabled",
    cache_dir: CacheDirOption = None,
    db_url: DbUrlOption = None,
    quiet: QuietOption = 0,
    verbose: VerboseOption = 0,
) -> None:
    """Fetch a requirements set into the local cache (remote first), installing nothing."""
    from ..errors import UsageError
    from ..install.report import Reporter
    from ..remote._url import RemoteUrl
    from ._actions import install_options

    if not remote:
        raise UsageError("no remote: give --remote s3://bucket/prefix or set CACHEDB_REMOTE")
    RemoteUrl.parse(remote)  # a bad URL is refused before anything is resolved
    opts = install_options(
        index_url=index_url,
        extra_index_url=extra_index_url,
        find_links=find_links,
        no_index=no_index,
        offline=False,
        cert=cert,
        native_tls=native_tls,
        keyring_provider=keyring_provider,
        cache_dir=cache_dir,
        db_url=db_url,
    )
    # Set, not replaced: the same whether InstallOptions is a dataclass or not.
    opts.requirements = list(packages or [])
    opts.requirement_files = list(requirement or [])
    opts.constraint_files = list(constraint or [])
    opts.python = python
    opts.remote = remote
    raise typer.Exit(_pull(opts, Reporter(verbose - quiet)))


def _pull(opts: "InstallOptions", reporter: "Reporter") -> int:
    """Install ``opts`` into a scratch target inside the cache's ``tmp/``, deleted at once.

    The same resolution, remote-first fetching (every blob verified, zip-checked and
    unpacked as a download is) and store as an install; nothing else is kept. The
    scratch install is recorded like any: an environment whose directory is gone,
    which gc marks stale and forgets.
    """
    import os
    import shutil

    from .._config import resolve_cache_dir
    from ..install.pipeline import run_install
    from ..install.report import Reporter
    from ..store.layout import TMP_DIR

    scratch = resolve_cache_dir(opts.cache_dir) / TMP_DIR / f"pull-{os.urandom(6).hex()}"
    # The install's own lines would speak of installing; its warnings still show.
    quiet = Reporter(min(reporter.verbosity, 0) - 1, reporter.stream)
    try:
        code = run_install(opts.replace(target=str(scratch), link_mode=None), quiet)
        # name==version of each distribution the scratch install holds.
        pulled = sorted(
            "==".join(entry.name[: -len(".dist-info")].rsplit("-", 1))
            for entry in scratch.glob("*.dist-info")
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    reporter.info(f"Pulled {len(pulled)} distributions into the cache")
    for name in pulled:
        reporter.change("+", name)
    return code


@remote_app.command("ls")
def ls_command(
    remote: RemoteOption = None,
    json: JsonOption = False,
) -> None:
    """List the blobs on the remote: key, size, age, last use."""
    from ..gc.units import format_size
    from ..remote._gc import MARKS
    from ..remote._usage import blobs, server_now

    with _open_remote(remote) as shared:
        now = server_now(shared)
        found = blobs(shared)
        marked = {o.key[len(MARKS) :] for o in shared.list(MARKS)}
    if json:
        import json as json_

        rows = [
            {
                "key": b.key,
                "size": b.size,
                "pushed": b.pushed,
                "last_used": b.last_used,
                "marked_for_gc": b.key in marked,
            }
            for b in found
        ]
        typer.echo(json_.dumps(rows, indent=2))
        return
    for b in found:
        flag = "  (marked for gc)" if b.key in marked else ""
        typer.echo(
            f"{b.key}  {format_size(b.size)}  pushed {_age(now - b.pushed)} ago"
            f"  used {_age(now - b.last_used)} ago{flag}"
        )
    total = sum(b.size for b in found)
    typer.echo(f"{len(found)} blobs, {format_size(total)}")


@remote_app.command("gc")
def gc_command(
    remote: RemoteOption = None,
    max_age: Annotated[
        str, typer.Option("--max-age", help="Collect blobs no host has used for this long.")
    ] = "30d",
    grace: Annotated[
        str,
        typer.Option(
            "--grace",
            help="Delete a marked blob only this long after marking it; never one younger "
            "(longer than any download).",
        ),
    ] = "1h",
    dry_run: DryRunOption = False,
    json: JsonOption = False,
) -> None:
    """Mark blobs unused for --max-age; delete those marked --grace ago and unused since."""
    from ..gc.units import format_size, parse_duration
    from ..remote._gc import collect

    age, wait = parse_duration(max_age), parse_duration(grace)
    with _open_remote(remote) as shared:
        report = collect(shared, max_age=age, grace=wait, dry_run=dry_run)
    if json:
        import json as json_

        typer.echo(json_.dumps(report.to_json(), indent=2))
        return
    would = "would be " if dry_run else ""
    for b in report.deleted:
        typer.echo(f"{'Would delete' if dry_run else 'Deleted'} {b.key}")
    for b in report.marked:
        unused = _age(report.now - b.last_used)
        typer.echo(f"{'Would mark' if dry_run else 'Marked'} {b.key} (unused for {unused})")
    freed = format_size(sum(b.size for b in report.deleted))
    typer.echo(
        f"{len(report.deleted)} {would}deleted ({freed}), {len(report.marked)} {would}marked, "
        f"{len(report.waiting)} waiting out the grace, {len(report.unmarked)} used again, "
        f"{report.kept} kept"
    )
