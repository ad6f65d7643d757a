"""Credentials for a host that its URL does not carry: ``.netrc`` first, then the keyring.

Like uv: ``.netrc`` (``NETRC`` names another file) answers before the first
request; the ``keyring`` command (``--keyring-provider subprocess``) is asked
only once a server answers 401, and its answer is reused for that host. A
credential is only ever sent to the host it was found for (httpx drops the
header on a redirect elsewhere), and kept in memory only.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
from collections.abc import Generator

import httpx

log = logging.getLogger(__name__)

KEYRING_TIMEOUT = 30.0

Pair = tuple[str, str]


class Credentials:
    """Lookups of one command, remembered per host (the keyring may prompt or be slow)."""

    def __init__(self, *, keyring: bool) -> None:
        self.keyring = keyring
        self._lock = threading.Lock()
        self._netrc: dict[str, Pair | None] | None = None
        self._keyring: dict[tuple[str, str | None], Pair | None] = {}

    def from_netrc(self, host: str) -> Pair | None:
        with self._lock:
            if self._netrc is None:
                self._netrc = {}
            if host not in self._netrc:
                self._netrc[host] = _netrc_lookup(host)
            return self._netrc[host]

    def from_keyring(self, host: str, username: str | None) -> Pair | None:
        if not self.keyring:
            return None
        key = (host, username)
        with self._lock:
            if key not in self._keyring:
                self._keyring[key] = _keyring_lookup(host, username)
            return self._keyring[key]


def _netrc_lookup(host: str) -> Pair | None:
    import netrc

    path = os.environ.get("NETRC") or os.path.join(os.path.expanduser("~"), ".netrc")
    if not os.path.isfile(path):
        return None
    try:
        found = netrc.netrc(path).authenticators(host)
    except (OSError, netrc.NetrcParseError) as exc:
        # Never the file's text: a parse error message may quote a password.
        log.debug("cannot read %s: %s", path, type(exc).__name__)
        return None
    if found is None:
        return None
    login, _, password = found
    return (login, password or "") if login or password else None


def _keyring_lookup(host: str, username: str | None) -> Pair | None:
    """``keyring get HOST USER`` with a user name, else ``keyring --mode creds get HOST``."""
    exe = shutil.which("keyring")
    if exe is None:
        log.debug("--keyring-provider subprocess: no keyring command on PATH")
        return None
    if username is not None:
        cmd = [exe, "get", host, username]
    else:
        cmd = [exe, "--mode", "creds", "get", host, ""]
    try:
        done = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=KEYRING_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.debug("keyring for %s failed: %s", host, type(exc).__name__)
        return None
    lines = done.stdout.splitlines()
    if done.returncode != 0 or not lines:
        return None
    if username is not None:
        return username, lines[0]
    return (lines[0], lines[1]) if len(lines) >= 2 else None


def _basic(pair: Pair) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{pair[0]}:{pair[1]}".encode()).decode("ascii")


class StoredAuth(httpx.Auth):
    """Basic auth from ``Credentials`` for requests whose URL carries none.

    ``username``: the URL named a user but no password (``https://token@host/``),
    which the keyring is asked about.
    """

    def __init__(self, credentials: Credentials, username: str | None = None) -> None:
        self._credentials = credentials
        self._username = username

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        host = request.url.host
        found = self._credentials.from_netrc(host)
        if found is not None and self._username in (None, found[0]):
            request.headers["Authorization"] = _basic(found)
        elif self._username is not None:
            request.headers["Authorization"] = _basic((self._username, ""))
        response = yield request
        if response.status_code != 401:
            return
        found = self._credentials.from_keyring(host, self._username)
        if found is not None:
            request.headers["Authorization"] = _basic(found)
            yield request
