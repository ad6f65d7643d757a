"""What ``cachedb install`` was asked to do."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .._settings import value
from ..errors import UsageError

if TYPE_CHECKING:
    from ..fetch import NetworkSettings

DEFAULT_INDEX_URL = "https://pypi.org/simple"
INDEX_URL_ENV = "CACHEDB_INDEX_URL"
HTTP_TIMEOUT_ENV = "CACHEDB_HTTP_TIMEOUT"
DEFAULT_HTTP_TIMEOUT = 30.0
CONCURRENT_DOWNLOADS_ENV = "CACHEDB_CONCURRENT_DOWNLOADS"
MAX_DOWNLOAD_SIZE_ENV = "CACHEDB_MAX_DOWNLOAD_SIZE"
INDEX_STRATEGY_ENV = "CACHEDB_INDEX_STRATEGY"
# As cachedb.index's (not imported here: a warm install never loads the index client).
INDEX_STRATEGIES = ("first-index", "unsafe-first-match", "unsafe-best-match")


def http_timeout() -> float:
    """Seconds to wait for a connection or for the next bytes of a reply (like UV_HTTP_TIMEOUT)."""
    raw = (value("http-timeout") or "").strip()
    if not raw:
        return DEFAULT_HTTP_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise UsageError(f"{HTTP_TIMEOUT_ENV} must be a positive number of seconds, not {raw!r}")
    return seconds


def concurrent_downloads() -> int | None:
    """Requests at once (like UV_CONCURRENT_DOWNLOADS); None leaves it to the index client."""
    raw = (value("concurrent-downloads") or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise UsageError(f"{CONCURRENT_DOWNLOADS_ENV} must be a positive whole number, not {raw!r}")
    return int(raw)


def max_download_size(option: str | None = None) -> int | None:
    """The cap on a download whose index declares no size: ``--max-download-size``, else
    ``CACHEDB_MAX_DOWNLOAD_SIZE`` (``500MB``, ``2GiB``, ...); None for the default."""
    raw = option if option is not None else (value("max-download-size") or "").strip()
    if not raw:
        return None
    from ..gc.units import parse_size

    where = f"--max-download-size ({MAX_DOWNLOAD_SIZE_ENV})"
    try:
        size = parse_size(raw)
    except UsageError as exc:
        raise UsageError(f"{where}: {exc}") from None
    if size < 1:
        raise UsageError(f"{where} must be at least one byte, not {raw!r}")
    return size


def remote_push() -> bool | None:
    """``CACHEDB_REMOTE_PUSH`` (or ``remote-push`` in a configuration file)."""
    return flag("remote-push")


def flag(name: str) -> bool | None:
    """A boolean setting from its variable or a configuration file, as click reads a
    boolean flag's variable; None where it is not set."""
    raw = (value(name) or "").strip().lower()
    if not raw:
        return None
    if raw in ("1", "true", "t", "yes", "y", "on"):
        return True
    if raw in ("0", "false", "f", "no", "n", "off"):
        return False
    from .._settings import SETTINGS

    raise UsageError(f"{SETTINGS[name].env} must be true or false, not {raw!r}")


def index_strategy(option: str | None = None) -> str:
    """``--index-strategy``, else ``CACHEDB_INDEX_STRATEGY``, else uv's safe default."""
    raw = option if option is not None else (value("index-strategy") or "").strip()
    if not raw:
        return INDEX_STRATEGIES[0]
    if raw not in INDEX_STRATEGIES:
        raise UsageError(
            f"unknown --index-strategy ({INDEX_STRATEGY_ENV}) {raw!r}; "
            "use first-index, unsafe-first-match or unsafe-best-match"
        )
    return raw


@dataclass
class InstallOptions:
    requirements: list[str] = field(default_factory=list)
    editables: list[str] = field(default_factory=list)  # -e: project directories (PEP 660)
    requirement_files: list[str] = field(default_factory=list)
    constraint_files: list[str] = field(default_factory=list)
    python: str | None = None
    venv: str | None = None
    seed: bool = False
    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)
    find_links: list[str] = field(default_factory=list)
    no_index: bool = False
    offline: bool = False
    refresh: bool = False
    upgrade: bool = False
    no_deps: bool = False
    require_hashes: bool = False
    pre: bool = False
    link_mode: str | None = None
    cache_dir: Path | None = None
    db_url: str | None = None
    timeout: float = field(default_factory=http_timeout)
    concurrency: int | None = field(default_factory=concurrent_downloads)
    max_download_size: int | None = field(default_factory=max_download_size)
    index_strategy: str = field(default_factory=index_strategy)
    no_build: bool = False  # never build from source; cached builds are still used
    no_binary: list[str] = field(default_factory=list)  # names, ":all:", ":none:" (as pip)
    only_binary: list[str] = field(default_factory=list)
    refresh_packages: list[str] = field(default_factory=list)  # rebuild these from source
    # Link these again even when the environment has the version asked for (uv's
    # --reinstall-package); canonical names.
    reinstall_packages: list[str] = field(default_factory=list)
    cert: str | None = None  # CA certificates to trust (PEM), instead of the bundled ones
    native_tls: bool = False  # trust the system's store (truststore)
    keyring_provider: str = "disabled"  # or "subprocess": the keyring command, after a 401
    # The remote tier's URL (s3://bucket/prefix?endpoint=...); what is pushed to it (None:
    # built wheels only; True: downloaded ones too; False: nothing). Commands without the
    # flags (sync, venv --seed) still follow CACHEDB_REMOTE and the configuration files.
    remote: str | None = field(default_factory=lambda: value("remote"))
    remote_push: bool | None = field(default_factory=lambda: remote_push())

    def network(self) -> NetworkSettings:
        """Certificates and credentials for the index client; a bad provider is refused."""
        from ..fetch import KEYRING_PROVIDERS, NetworkSettings

        if self.keyring_provider not in KEYRING_PROVIDERS:
            raise UsageError(
                f"--keyring-provider must be one of {', '.join(KEYRING_PROVIDERS)}, "
                f"not {self.keyring_provider!r}"
            )
        return NetworkSettings(
            cert=self.cert, native_tls=self.native_tls, keyring_provider=self.keyring_provider
        )

    def network_args(self) -> list[str]:
        """These three as options, for a child ``cachedb install`` (build requirements)."""
        args = ["--cert", self.cert] if self.cert else []
        if self.native_tls:
            args.append("--native-tls")
        return [*args, "--keyring-provider", self.keyring_provider]

    wait: bool = True  # for another writer of the environment; False: fail at once (--no-wait)
    dry_run: bool = False  # resolve and say what would change; write nothing to the environment
    report: str | None = None  # pip's installation report (JSON) to this file; "-": stdout
    compile_bytecode: bool = False  # compile the environment's .py files once linked
    reinstall: bool = False  # relink every resolved package, installed or not
    exact: bool = False  # uninstall what the requirements do not resolve to (sync, --exact)
    target: str | None = None  # pip's --target: a flat directory of packages
    prefix: str | None = None  # pip's --prefix: an installation prefix (lib/pythonX.Y/...)
