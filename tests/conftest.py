"""Shared test set-up.

Helper modules import by name: pyproject.toml puts ``tests/`` and ``benchmarks/``
on pytest's ``pythonpath``, the latter for the one index server the tests and
the benchmark share (``benchmarks/indexserver.py``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from indexserver import IndexServer

# Fixtures shared by many test modules (the PostgreSQL and S3 servers).
pytest_plugins = ["pgserver", "s3server"]


@pytest.fixture
def index_server() -> Iterator[IndexServer]:
    """An empty index on 127.0.0.1; ``index_server.add(wheel)`` publishes a file."""
    with IndexServer() as server:
        yield server
