"""Shared test set-up: tests/ on sys.path so helper modules import by name."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

# Fixtures shared by many test modules (the local HTTP index, PostgreSQL, S3 servers).
pytest_plugins = ["indexserver", "pgserver", "s3server"]
