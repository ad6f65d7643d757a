"""What can go wrong with a remote, told apart by what the caller does next."""

from __future__ import annotations

from cachedb.errors import NetworkError


class RemoteError(NetworkError):
    """The remote answered, but not as asked (denied, missing bucket, bad reply)."""


class RemoteTooLarge(RemoteError):
    """An object larger than the caller allowed (its reading stopped there): that blob
    is refused, the remote stays in use."""


class RemoteUnavailable(RemoteError):
    """The remote cannot be reached or is failing (refused, timed out, 5xx): an
    install falls back to the index."""
