"""The options saying where packages come from and how to reach them, and the one way
to turn them into ``InstallOptions``: ``install``, ``sync``, ``compile`` and ``venv``
share them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from ..install.options import InstallOptions

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
    """The options of every command that reads the sources: indexes, find-links, network
    (certificates, credentials) and the cache. Each command adds its own with
    ``dataclasses.replace``."""
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
