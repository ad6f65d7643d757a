"""``cachedb sql``, ``ls``, ``info`` and ``verify``: looking into the cache."""

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ._app import CacheDirOption, DbUrlOption, JsonOption, app


class Format(StrEnum):
    table = "table"
    csv = "csv"
    tsv = "tsv"
    json = "json"
    jsonl = "jsonl"


def _dump_json(data: Any) -> None:
    import json

    typer.echo(json.dumps(data, indent=2))


@app.command("sql")
def sql_command(
    query: Annotated[
        str | None,
        typer.Argument(
            help="One SQL statement; '-' or absent reads standard input.", show_default=False
        ),
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Read the query from this file.")
    ] = None,
    fmt: Annotated[
        Format | None,
        typer.Option(
            "--format",
            help="Output format [default: table on a terminal, tsv otherwise].",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=0, help="Print at most this many rows.")
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", help="Stop the query after this many seconds.", min=0),
    ] = None,
    cache_dir: CacheDirOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Run a read-only SQL query against the metadata database (see docs/schema.md)."""
    import math

    from .._config import resolve_cache_dir, resolve_db_url
    from ..audit import output
    from ..audit.sql import ReadOnlyDatabase, database_file, read_query
    from ..db.urls import POSTGRESQL, backend
    from ..errors import UsageError

    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise UsageError(f"--timeout must be a positive number of seconds, not {timeout}")
    # Resolve the URL without open_cache: sql must neither create nor migrate anything.
    url = resolve_db_url(resolve_cache_dir(cache_dir), db_url)
    text = read_query(query, file, sys.stdin)
    db: Any
    if backend(url) == POSTGRESQL:
        from ..audit.pgsql import ReadOnlyPgDatabase

        db = ReadOnlyPgDatabase(url)
    else:
        db = ReadOnlyDatabase(database_file(url))
    tty = sys.stdout.isatty()
    chosen = fmt.value if fmt is not None else ("table" if tty else "tsv")
    with db:
        result = db.query(text, limit=limit, timeout=timeout)
        # Rows are written as they are read; Ctrl-C and --timeout stop the reading.
        output.render(result.columns, result.rows, chosen, sys.stdout, tty=tty)


def _human(n: int) -> str:
    from ..audit.functions import human_bytes

    return human_bytes(n) or ""


@app.command("ls")
def ls_command(
    pattern: Annotated[
        str | None,
        typer.Argument(help="Glob on the canonical name, e.g. 'django*'.", show_default=False),
    ] = None,
    json_: JsonOption = False,
    cache_dir: CacheDirOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """List the cached distributions."""
    from ..audit import output
    from ..audit.ls import list_archives
    from ..store import open_cache

    with open_cache(cache_dir, db_url) as cache:
        found = list_archives(cache, pattern)
    if json_:
        _dump_json([f.as_dict() for f in found])
        return
    columns = ["name", "version", "tags", "size", "last used", "pointers", "envs"]
    rows = [
        (
            f.name,
            f.version,
            f.tags,
            _human(f.unpacked_size),
            f.last_used_iso,
            f.pointer_count,
            f.environment_count,
        )
        for f in found
    ]
    output.render(columns, rows, "table", sys.stdout, tty=sys.stdout.isatty())


@app.command("info")
def info_command(
    json_: JsonOption = False,
    cache_dir: CacheDirOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Show where the cache is, its database and schema revision, and its size."""
    from ..audit import output
    from ..audit.info import cache_info
    from ..store import open_cache

    with open_cache(cache_dir, db_url) as cache:
        info = cache_info(cache)
    if json_:
        _dump_json(info)
        return
    typer.echo(f"cache dir:       {info['cache_dir']}")
    typer.echo(f"database:        {info['database_url']}")
    typer.echo(f"schema revision: {info['schema_revision']}")
    typer.echo(
        f"environments:    {info['environments']} living, {info['stale_environments']} stale"
    )
    typer.echo(f"events:          {info['events']}")
    typer.echo("")
    rows = [
        (b["bucket"], b["pointers"], b["archives"], _human(b["bytes"])) for b in info["buckets"]
    ]
    output.render(
        ["bucket", "pointers", "archives", "size"],
        rows,
        "table",
        sys.stdout,
        tty=sys.stdout.isatty(),
    )


@app.command("verify")
def verify_command(
    check_contents: Annotated[
        bool,
        typer.Option("--check-contents", help="Also hash every archived file against its row."),
    ] = False,
    repair: Annotated[
        bool, typer.Option("--repair", help="Fix what can be fixed and say what was done.")
    ] = False,
    json_: JsonOption = False,
    cache_dir: CacheDirOption = None,
    db_url: DbUrlOption = None,
) -> None:
    """Check the database against the disk; exit 1 if anything is wrong (or left unrepaired)."""
    from ..audit import verify
    from ..audit.repair import repair as repair_problem
    from ..store import open_cache

    errors: dict[int, str] = {}
    with open_cache(cache_dir, db_url) as cache:
        problems = verify.find_problems(cache, contents=check_contents)
        if repair:
            for i, problem in enumerate(problems):
                try:
                    repair_problem(cache, problem)
                except OSError as exc:
                    errors[i] = f"could not repair: {exc}"
    for i, problem in enumerate(problems):
        # Environments that shared a tampered archive's files are linked again, once the
        # cache is closed: each is an install run of its own.
        why_not = _relink_holders(problem, cache_dir, db_url)
        if why_not is not None:
            errors.setdefault(i, why_not)
    left = [p for p in problems if p.repaired is None or problems.index(p) in errors]
    if json_:
        report = [
            {**p.as_dict(), **({"error": errors[i]} if i in errors else {})}
            for i, p in enumerate(problems)
        ]
        _dump_json({"ok": not left, "problems": report})
    else:
        for i, p in enumerate(problems):
            suffix = f" -> {p.repaired}" if p.repaired else f" ({errors[i]})" if i in errors else ""
            typer.echo(p.line() + suffix)
            for env in p.environments:
                done = "re-linked" if env["relinked"] else f"NOT re-linked: {env['error']}"
                typer.echo(f"  environment {env['path']} ({env['link_mode']}): {done}")
        if not problems:
            typer.echo("ok: database and disk agree")
    if left:
        raise typer.Exit(1)


def _relink_holders(problem: Any, cache_dir: Path | None, db_url: str | None) -> str | None:
    """Link each environment that shared ``problem``'s archive again; why one failed, or None."""
    from .._process import host_id
    from ..errors import CachedbError
    from ..install.manage import reinstall

    why_not = None
    for holder in problem.holders:
        env: dict[str, Any] = {
            "path": holder.path,
            "name": holder.name,
            "version": holder.version,
            "link_mode": holder.link_mode,
            "relinked": False,
        }
        command = f"cachedb install --python {holder.python}"
        command += f" --reinstall-package {holder.name} {holder.name}=={holder.version}"
        if holder.host is not None and holder.host != host_id():
            # That path names another machine's environment, not anything on this one.
            env["error"] = f"on host {holder.host}: run `{command}` there"
            why_not = why_not or f"{holder.path} is on host {holder.host}"
            problem.environments.append(env)
            continue
        try:
            reinstall(
                holder.python, holder.name, holder.version, holder.link_mode, cache_dir, db_url
            )
            env["relinked"] = True
        except (CachedbError, OSError) as exc:
            env["error"] = f"{exc}; run `{command}`"
            why_not = why_not or f"could not re-link {holder.path}: {exc}"
        problem.environments.append(env)
    return why_not
