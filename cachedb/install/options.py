"""What ``cachedb install`` was asked to do."""

from __future__ import annotations

from .._record import Fields
from .._settings import value
from ..errors import UsageError

TYPE_CHECKING = False  # typing's, without importing typing (about 12M instructions)
if TYPE_CHECKING:
    from pathlib import Path

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
LINK_MODES = ("clone", "hardlink", "copy", "symlink")  # what --link-mode accepts


def http_timeout() -> float:
    """Seconds to wait for a connection or for the next bytes of a reply (like UV_HTTP_TIMEOUT)."""
    raw = (value("http-timeout") or "").strip()
    if not raw:
        return DEFAULT_HTTP_TIMEOUT
    import math  # an extension module: loaded only when the variable is set

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


class _Unset:
    """The default of a field whose own default is read from a setting, where None is a
    value of its own (``max_download_size=None``: no cap)."""


_UNSET = _Unset()
# The setting readers, under names the constructor's keywords do not shadow.
_max_download_size = max_download_size
_remote_push = remote_push
_index_strategy = index_strategy


def _list(items: list[str] | None) -> list[str]:
    return [] if items is None else items


class InstallOptions(Fields):
    """What ``cachedb install`` was asked to do: every field a keyword of the constructor.

    Not a dataclass: every install builds one, and ``dataclasses`` (with the ``inspect``
    it loads) costs more than a remembered nothing-to-do install does itself. ``replace``,
    equality and ``repr`` are a dataclass's (``Fields``).
    """

    def __init__(
        self,
        *,
        requirements: list[str] | None = None,
        editables: list[str] | None = None,  # -e: project directories (PEP 660)
        requirement_files: list[str] | None = None,
        constraint_files: list[str] | None = None,
        python: str | None = None,
        venv: str | None = None,
        seed: bool = False,
        index_url: str | None = None,
        extra_index_urls: list[str] | None = None,
        find_links: list[str] | None = None,
        no_index: bool = False,
        offline: bool = False,
        refresh: bool = False,
        upgrade: bool = False,
        no_deps: bool = False,
        require_hashes: bool = False,
        pre: bool = False,
        link_mode: str | None = None,
        cache_dir: Path | None = None,
        db_url: str | None = None,
        timeout: float | None = None,  # None: CACHEDB_HTTP_TIMEOUT or its default
        concurrency: int | None | _Unset = _UNSET,
        max_download_size: int | None | _Unset = _UNSET,
        index_strategy: str | None = None,  # None: CACHEDB_INDEX_STRATEGY or first-index
        no_build: bool = False,
        no_binary: list[str] | None = None,
        only_binary: list[str] | None = None,
        refresh_packages: list[str] | None = None,
        reinstall_packages: list[str] | None = None,
        cert: str | None = None,
        native_tls: bool = False,
        keyring_provider: str = "disabled",
        remote: str | None | _Unset = _UNSET,
        remote_push: bool | None | _Unset = _UNSET,
        wait: bool = True,
        dry_run: bool = False,
        report: str | None = None,
        compile_bytecode: bool = False,
        reinstall: bool = False,
        exact: bool = False,
        target: str | None = None,
        prefix: str | None = None,
    ) -> None:
        self.requirements = _list(requirements)
        self.editables = _list(editables)
        self.requirement_files = _list(requirement_files)
        self.constraint_files = _list(constraint_files)
        self.python = python
        self.venv = venv
        self.seed = seed
        self.index_url = index_url
        self.extra_index_urls = _list(extra_index_urls)
        self.find_links = _list(find_links)
        self.no_index = no_index
        self.offline = offline
        self.refresh = refresh
        self.upgrade = upgrade
        self.no_deps = no_deps
        self.require_hashes = require_hashes
        self.pre = pre
        self.link_mode = link_mode
        self.cache_dir = cache_dir
        self.db_url = db_url
        self.timeout = http_timeout() if timeout is None else timeout
        self.concurrency = (
            concurrent_downloads() if isinstance(concurrency, _Unset) else concurrency
        )
        self.max_download_size = (
            _max_download_size() if isinstance(max_download_size, _Unset) else max_download_size
        )
        self.index_strategy = _index_strategy() if index_strategy is None else index_strategy
        self.no_build = no_build  # never build from source; cached builds are still used
        self.no_binary = _list(no_binary)  # names, ":all:", ":none:" (as pip)
        self.only_binary = _list(only_binary)
        self.refresh_packages = _list(refresh_packages)  # rebuild these from source
        # Link these again even when the environment has the version asked for (uv's
        # --reinstall-package); canonical names.
        self.reinstall_packages = _list(reinstall_packages)
        self.cert = cert  # CA certificates to trust (PEM), instead of the bundled ones
        self.native_tls = native_tls  # trust the system's store (truststore)
        self.keyring_provider = (
            keyring_provider  # or "subprocess": the keyring command, after a 401
        )
        # The remote tier's URL (s3://bucket/prefix?endpoint=...); what is pushed to it (None:
        # built wheels only; True: downloaded ones too; False: nothing). Commands without the
        # flags (sync, venv --seed) still follow CACHEDB_REMOTE and the configuration files.
        self.remote = value("remote") if isinstance(remote, _Unset) else remote
        self.remote_push = _remote_push() if isinstance(remote_push, _Unset) else remote_push
        self.wait = wait  # for another writer of the environment; False: fail at once (--no-wait)
        self.dry_run = (
            dry_run  # resolve and say what would change; write nothing to the environment
        )
        self.report = report  # pip's installation report (JSON) to this file; "-": stdout
        self.compile_bytecode = compile_bytecode  # compile the environment's .py files once linked
        self.reinstall = reinstall  # relink every resolved package, installed or not
        self.exact = exact  # uninstall what the requirements do not resolve to (sync, --exact)
        self.target = target  # pip's --target: a flat directory of packages
        self.prefix = prefix  # pip's --prefix: an installation prefix (lib/pythonX.Y/...)

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
