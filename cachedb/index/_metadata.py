"""Core metadata read out of a wheel file: the wheel model's reader, where the index
client (and the install finder) look for it."""

from __future__ import annotations

from cachedb.wheel.metadata import MAX_METADATA, wheel_metadata

__all__ = ["MAX_METADATA", "wheel_metadata"]
