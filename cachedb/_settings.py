"""Every setting a user can give by flag, environment variable or configuration file: one table.

A setting is named by its long option (``link-mode``); its environment variable
is ``CACHEDB_`` and the name in capitals (``CACHEDB_LINK_MODE``), and a
configuration file sets it under the same name (``link-mode = "copy"``).
Precedence: flag > environment > project file > user file (``cachedb config``
shows which one won). A new option joins with one row in ``SETTINGS``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

TYPE_CHECKING = False  # typing's, without importing typing (about 12M instructions)
if TYPE_CHECKING:
    from typing import Literal, NamedTuple

    Kind = Literal["str", "path", "bool", "int", "float", "list"]
else:
    from ._record import NamedTuple

# Named tuples, not dataclasses: every command reads this table before it starts, and
# dataclasses (with the inspect module it loads) costs more than the rest of ``--help``.


class Setting(NamedTuple):
    name: str
    """The long option without ``--``, and the key in a configuration file."""
    kind: Kind
    aliases: tuple[str, ...] = ()
    """Further environment variables others define (``SSL_CERT_FILE``), after ours."""
    flag: bool = True
    """False: a variable and a key only (no command-line option)."""

    @property
    def env(self) -> str:
        return "CACHEDB_" + self.name.upper().replace("-", "_")

    @property
    def envs(self) -> list[str]:
        return [self.env, *self.aliases]


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in (
        Setting("cache-dir", "path"),
        Setting("db-url", "str"),
        Setting("index-url", "str"),
        Setting("extra-index-url", "list"),
        Setting("find-links", "list"),
        Setting("no-index", "bool"),
        Setting("link-mode", "str"),
        Setting("offline", "bool"),
        Setting("no-wait", "bool"),
        Setting("cert", "path", aliases=("SSL_CERT_FILE",)),
        Setting("native-tls", "bool"),
        Setting("keyring-provider", "str"),
        Setting("max-download-size", "str"),
        Setting("exclude-newer", "str"),
        Setting("resolution", "str"),
        Setting("prerelease", "str"),
        Setting("compile-bytecode", "bool"),
        Setting("seed", "bool"),
        Setting("clear", "bool"),
        Setting("index-strategy", "str"),
        # The remote tier (s3://bucket/prefix?endpoint=...) and what is pushed to it.
        Setting("remote", "str"),
        Setting("remote-push", "bool"),
        Setting("http-timeout", "float", flag=False),
        Setting("concurrent-downloads", "int", flag=False),
        Setting("pointer-kind", "str", flag=False),
        Setting("lease-ttl", "float", flag=False),
        # A flag of every command, taken by cli._configure rather than by each one.
        Setting("color", "str", flag=False),
    )
}


class Source(NamedTuple):
    """Where a configuration value came from: a file (and its table) and what it held."""

    path: str
    table: str
    """``[tool.cachedb]`` for a pyproject.toml, "" for a cachedb.toml."""
    values: Mapping[str, object] = {}  # never changed: a Source is read-only

    def describe(self) -> str:
        return f"{self.path} {self.table}".rstrip()


class Configuration(NamedTuple):
    """The configuration files in force, strongest first (project, then user)."""

    files: tuple[Source, ...] = ()

    def lookup(self, name: str) -> tuple[object, Source] | None:
        for source in self.files:
            if name in source.values:
                return source.values[name], source
        return None


_active = Configuration()


def use(configuration: Configuration) -> None:
    """Make ``configuration`` the one ``value`` reads (the CLI loads it once per run)."""
    global _active
    _active = configuration


def active() -> Configuration:
    return _active


def value(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """A setting without a flag, as text: its environment variable, else the configuration."""
    setting = SETTINGS[name]
    env = os.environ if environ is None else environ
    for var in setting.envs:
        raw = env.get(var)
        if raw:
            return raw
    found = _active.lookup(name)
    if found is None:
        return None
    return as_text(found[0])


def as_text(value: object) -> str:
    """A configuration value the way its environment variable would spell it."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return str(value)
