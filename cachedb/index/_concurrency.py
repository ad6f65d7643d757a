"""How many requests go to the indexes at once: it depends on where they are."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from urllib.parse import urlsplit

from cachedb.fetch._urls import local_path

# Requests at once to an index across a network: enough to hide its latency.
REMOTE_CONCURRENCY = 8
# To one on this machine there is no latency to hide; more threads only take
# turns at the interpreter lock (measured: 8 cost 50 ms more than 2 on a cold
# install of 46 wheels from 127.0.0.1).
LOOPBACK_CONCURRENCY = 2
# Page requests at once per download thread, to an index across a network. A page is
# a few KiB: its time is the index's latency, so a pinned set's pages (and the
# downloads each one starts) are asked for in one or two round trips, not six.
PAGES_PER_DOWNLOAD = 4


def requests_at_once(locations: Sequence[str], concurrency: int | None) -> tuple[int, int]:
    """(downloads, page requests) at once: ``concurrency`` for both where it is given;
    else ``LOOPBACK_CONCURRENCY`` for both when every index and find-links location is on
    this machine, and ``REMOTE_CONCURRENCY`` downloads with ``PAGES_PER_DOWNLOAD`` times
    as many page requests when any is across a network."""
    if concurrency is not None:
        return max(1, concurrency), max(1, concurrency)
    if locations and all(_on_this_machine(location) for location in locations):
        return LOOPBACK_CONCURRENCY, LOOPBACK_CONCURRENCY
    return REMOTE_CONCURRENCY, REMOTE_CONCURRENCY * PAGES_PER_DOWNLOAD


def _on_this_machine(location: str) -> bool:
    if "://" not in location or local_path(location) is not None:
        return True  # a path, or a file: URL
    host = urlsplit(location).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
