"""``--color`` with NO_COLOR / FORCE_COLOR, and shell completion (typer's)."""

from __future__ import annotations

from pathlib import Path

import pytest
from installtools import cachedb
from wheelbuilder import make_wheel

ESC = "\033["
RED_ERROR = "\033[1;31merror:\033[0m "


def _fail(tmp_path: Path, *flags: str, env: dict[str, str] | None = None) -> str:
    """stderr (a pipe, not a terminal) of an install that fails."""
    out = cachedb(
        *flags, "install", "--venv", tmp_path / "v", "--no-index", "--no-config", "nothing",
        env={"NO_COLOR": "", "FORCE_COLOR": "", "CLICOLOR_FORCE": "", **(env or {})},
    )  # fmt: skip
    assert out.returncode == 1
    return out.stderr


@pytest.mark.parametrize(
    ("flags", "env", "colored"),
    [
        ((), {}, False),  # auto, and stderr is a pipe
        ((), {"FORCE_COLOR": "1"}, True),
        ((), {"CLICOLOR_FORCE": "1"}, True),
        ((), {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
        (("--color", "always"), {}, True),
        (("--color=always",), {"NO_COLOR": "1"}, True),
        (("--color", "never"), {"FORCE_COLOR": "1"}, False),
        ((), {"CACHEDB_COLOR": "always"}, True),
        (("--color", "never"), {"CACHEDB_COLOR": "always"}, False),
    ],
)
def test_color_choice(
    tmp_path: Path, flags: tuple[str, ...], env: dict[str, str], colored: bool
) -> None:
    err = _fail(tmp_path, *flags, env=env)
    if colored:
        assert err.startswith(RED_ERROR), err
    else:
        assert err.startswith("error: ") and ESC not in err


def test_color_after_the_command_name_too(tmp_path: Path) -> None:
    out = cachedb("install", "--color", "always", "--venv", tmp_path / "v", "--no-index", "x")
    assert out.stderr.startswith(RED_ERROR)


def test_the_summary_is_green_and_red(tmp_path: Path) -> None:
    make_wheel(tmp_path / "w", "lib", "1.0")
    make_wheel(tmp_path / "w", "lib", "2.0")
    base = ["install", "--cache-dir", tmp_path / "c", "--venv", tmp_path / "v", "--no-index"]
    cachedb(*base, "-f", tmp_path / "w", "lib==1.0")
    out = cachedb("--color", "always", *base, "-f", tmp_path / "w", "lib==2.0")
    assert out.returncode == 0, out.stderr
    assert " \033[31m- lib==1.0\033[0m\n" in out.stderr
    assert " \033[32m+ lib==2.0\033[0m\n" in out.stderr


def test_a_bad_color_is_a_usage_error(tmp_path: Path) -> None:
    out = cachedb("--color", "sometimes", "dir")
    assert out.returncode == 2
    assert out.stderr == "error: --color must be one of auto, always, never, not 'sometimes'\n"


def test_completion_of_commands_and_options() -> None:
    words = {"COMP_WORDS": "cachedb ins", "COMP_CWORD": "1", "_CACHEDB_COMPLETE": "complete_bash"}
    assert cachedb(env=words).stdout.split() == ["install"]
    words = {**words, "COMP_WORDS": "cachedb install --link", "COMP_CWORD": "2"}
    assert cachedb(env=words).stdout.split() == ["--link-mode"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_script_for_each_shell(shell: str) -> None:
    out = cachedb("--show-completion", shell)
    assert out.returncode == 0, out.stderr
    assert "_CACHEDB_COMPLETE" in out.stdout
