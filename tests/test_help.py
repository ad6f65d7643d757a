"""What a new user reads first: --help of each command, and README's first lines."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from installtools import cachedb

ROOT = Path(__file__).resolve().parent.parent


def _help(*args: str, columns: int = 80) -> str:
    out = cachedb(*args, "--help", env={"COLUMNS": str(columns)})
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_commands_are_listed_environment_first_then_cache() -> None:
    text = _help()
    listed = re.findall(r"^  (\w+) ", text.split("Commands:")[1], re.M)
    assert listed[:3] == ["install", "uninstall", "list"]
    cache = ["dir", "info", "ls", "gc", "clean", "verify", "sql"]
    assert [c for c in listed if c in cache] == cache
    assert listed.index("sql") > listed.index("list")


@pytest.mark.parametrize("columns", [80, 60, 200])
def test_no_description_is_cut(columns: int) -> None:
    text = _help(columns=columns).split("Commands:")[1]
    assert "..." not in text and "…" not in text
    # The whole first paragraph of each command's help is there, wrapped.
    assert "(or left unrepaired)." in " ".join(text.split())


@pytest.mark.parametrize("command", ["list", "uninstall"])
def test_commands_that_create_nothing_do_not_say_so(command: str) -> None:
    text = " ".join(_help(command).split())
    assert "to install into" not in text and "created if missing" not in text
    assert "VIRTUAL_ENV" in text  # where the environment comes from when not given


def test_install_help_shows_every_variable_and_no_zero_defaults() -> None:
    text = " ".join(_help("install", columns=200).split())
    assert "[default: 0]" not in text
    for var in ("CACHEDB_INDEX_URL", "CACHEDB_EXTRA_INDEX_URL", "CACHEDB_FIND_LINKS"):
        assert var in text


def test_readme_setup_line_does_not_use_the_test_venv() -> None:
    readme = (ROOT / "README.md").read_text()
    setup = readme.split("## Set up", 1)[1].split("<!-- test-command -->", 1)[0]
    command = next(line for line in setup.splitlines() if "cachedb install" in line)
    assert "--venv .venv" not in command and "./.venv" not in command


def test_readme_states_the_lowest_target_python_the_probe_enforces() -> None:
    from cachedb.target import _probe

    readme = " ".join((ROOT / "README.md").read_text().split())
    lowest = ".".join(map(str, _probe.MINIMUM))
    assert f"environments of Python {lowest} or newer" in readme
