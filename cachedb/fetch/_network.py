"""How this run talks to servers: CA certificates, the system trust store, the keyring.

Given to the ``HttpSession`` (through ``IndexClient``). Proxies come from the
environment (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``, ``NO_PROXY``) and
credentials from the URL, ``.netrc`` (``NETRC``) and the keyring; see ``_auth``
and ``_transport``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    # Not a dataclass: defining one costs every index install ~3.5M instructions.
    from cachedb._record import NamedTuple

KEYRING_PROVIDERS = ("disabled", "subprocess")


class NetworkSettings(NamedTuple):
    cert: str | None = None
    """A PEM file of CA certificates to trust instead of the bundled ones (``--cert``)."""
    native_tls: bool = False
    """Trust the operating system's store (via truststore) instead of the bundled one."""
    keyring_provider: str = "disabled"
    """``subprocess``: after a 401, ask the ``keyring`` command on PATH for credentials."""
