"""``cachedb uninstall`` and ``cachedb list``, keeping the database in step with the env."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from .report import Reporter

if TYPE_CHECKING:
    from typing import Any

    from ..store import Cache
    from ..target import Interpreter


def _target(python: str | None, venv: str | None) -> Path:
    from ..errors import UsageError
    from ..target import find_target

    if venv is not None and not Path(venv).exists():
        raise UsageError(f"virtual environment {venv} does not exist")
    return find_target(python=python, venv=venv)


def run_uninstall(
    names: list[str],
    python: str | None,
    venv: str | None,
    cache_dir: Path | None,
    db_url: str | None,
    reporter: Reporter,
    *,
    wait: bool = True,
) -> int:
    from ..store import open_cache
    from ..target import query_interpreter
    from ..target.lock import environment_lock

    exe = _target(python, venv)
    with open_cache(cache_dir, db_url) as cache:
        interp = query_interpreter(exe, cache.layout.interpreters)
        prefix = Path(interp.prefix)
        lock = environment_lock(prefix, cache.layout.locks, wait=wait, waiting=reporter.info)
        with lock:
            removed = _uninstall_locked(names, interp, cache, reporter)
    reporter.info(f"Uninstalled {len(removed)} package{'s' if len(removed) != 1 else ''}")
    for name, version in removed:
        reporter.change("-", f"{name}=={version}")
    return 0


def reinstall(
    python: str,
    name: str,
    version: str,
    link_mode: str,
    cache_dir: Path | None,
    db_url: str | None,
) -> None:
    """Link ``name==version`` into the environment of ``python`` again, from a clean archive
    (fetched anew if the cache has none), whatever the environment holds now."""
    from .options import InstallOptions
    from .pipeline import run_install

    opts = InstallOptions(
        requirements=[f"{name}=={version}"],
        python=python,
        link_mode=link_mode,
        no_deps=True,
        cache_dir=cache_dir,
        db_url=db_url,
        reinstall_packages=[name],
        **_configured_sources(),
    )
    run_install(opts, Reporter(verbosity=-1))


def _configured_sources() -> dict[str, Any]:
    """The sources ``cachedb install`` would read here without flags: the settings'
    variables and configuration files (the command that re-links has no source flags)."""
    from .._settings import value
    from .options import flag

    return {
        "index_url": value("index-url"),
        "extra_index_urls": (value("extra-index-url") or "").split(),
        "find_links": (value("find-links") or "").split(),
        "no_index": bool(flag("no-index")),
        "offline": bool(flag("offline")),
        "cert": value("cert"),
        "native_tls": bool(flag("native-tls")),
        "keyring_provider": value("keyring-provider") or "disabled",
    }


def _uninstall_locked(
    names: list[str], interp: Interpreter, cache: Cache, reporter: Reporter
) -> list[tuple[str, str]]:
    from ..link import installed_distributions, uninstall

    installed = installed_distributions(interp.scheme)
    removed: list[tuple[str, str]] = []
    for raw in names:
        name: str = canonicalize_name(raw)
        if name not in installed:
            reporter.warn(f"Skipping {raw} as it is not installed")
            continue
        uninstall(name, interp.scheme, Path(interp.prefix))
        removed.append((name, installed[name][0]))
    if removed:
        cache.record_install(interp.prefix, interp.executable, [], [n for n, _ in removed])
    return removed


def run_list(
    python: str | None, venv: str | None, cache_dir: Path | None, db_url: str | None, as_json: bool
) -> int:
    from ..link import installed_distributions
    from ..store import open_cache
    from ..store.environments import active_installs
    from ..target import query_interpreter

    exe = _target(python, venv)
    with open_cache(cache_dir, db_url) as cache:
        interp = query_interpreter(exe, cache.layout.interpreters)
        installed = installed_distributions(interp.scheme)
        modes = {
            row.name: (row.link_mode, row.archive_id, row.version)
            for row in cache.read_sql(lambda run: active_installs(run, interp.prefix))
        }
    rows = []
    for name, (version, dist_info) in sorted(installed.items()):
        installer_file = dist_info / "INSTALLER"
        installer = installer_file.read_text().strip() if installer_file.exists() else ""
        mode, archive, _ = modes.get(name, ("", "", ""))
        rows.append(
            {
                "name": name,
                "version": version,
                "installer": installer,
                "link_mode": mode,
                "archive": archive,
            }
        )
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return 0
    headers = ("Package", "Version", "Installer", "Link mode")
    table = [(r["name"], r["version"], r["installer"], r["link_mode"]) for r in rows]
    widths = [
        max(len(h), *(len(str(t[i])) for t in table)) if table else len(h)
        for i, h in enumerate(headers)
    ]
    lines = [
        " ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(),
        " ".join("-" * w for w in widths),
    ]
    lines += [
        " ".join(str(c).ljust(w) for c, w in zip(t, widths, strict=True)).rstrip() for t in table
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
