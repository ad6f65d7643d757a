"""Core metadata read out of a wheel file: the wheel model's reader, where the index
client (and the install finder) look for it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from cachedb.errors import UsageError
from cachedb.wheel.metadata import MAX_METADATA, wheel_metadata

__all__ = ["MAX_METADATA", "downloaded_metadata", "wheel_metadata"]


def downloaded_metadata(
    download: Callable[[Path], Path], filename: str, scratch: Path | None
) -> bytes:
    """The METADATA of the wheel ``filename`` that ``download(directory)`` fetches into
    ``directory`` (returning its path): a temporary directory in ``scratch``, the cache's
    ``tmp/``, so that nothing is written outside the cache; removed after."""
    if scratch is None:  # a client without a cache (remote push) reads no metadata
        raise UsageError(f"cannot read the metadata of {filename} without a cache")
    import tempfile

    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="meta-", dir=scratch) as tmp:
        return wheel_metadata(download(Path(tmp)), filename)
