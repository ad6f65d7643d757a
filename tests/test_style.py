"""The house style: ruff and mypy --strict are clean over the package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_is_clean() -> None:
    out = _run("ruff", "check", "cachedb", "alembic", "tests", "benchmarks")
    assert out.returncode == 0, out.stdout + out.stderr
    out = _run("ruff", "format", "--check", "cachedb", "alembic", "tests", "benchmarks")
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_strict_is_clean() -> None:
    out = _run("mypy")
    assert out.returncode == 0, out.stdout + out.stderr
