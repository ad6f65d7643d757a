"""Settings: flag > environment > project file > user file, each case on the real CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from installtools import cachedb
from wheelbuilder import make_wheel

from cachedb import _configfiles
from cachedb._settings import SETTINGS


def run(
    home: Path, cwd: Path, *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``cachedb`` with its own user directories under ``home``."""
    base = {
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
    }
    return cachedb(*args, env={**base, **(env or {})}, cwd=cwd)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "home" / "config" / "cachedb").mkdir(parents=True)
    return tmp_path / "home"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project directory whose working directory is a folder inside it."""
    (tmp_path / "project" / "src").mkdir(parents=True)
    return tmp_path / "project"


def _set(home: Path, project: Path, places: str, tmp_path: Path) -> None:
    if "P" in places:
        (project / "pyproject.toml").write_text(
            f'[project]\nname = "x"\n\n[tool.cachedb]\ncache-dir = "{tmp_path / "P"}"\n'
        )
    if "U" in places:
        (home / "config" / "cachedb" / "cachedb.toml").write_text(
            f'cache-dir = "{tmp_path / "U"}"\n'
        )


# places: F flag, E environment, P project pyproject.toml, U user cachedb.toml.
@pytest.mark.parametrize(
    ("places", "winner"),
    [
        ("FEPU", "F"),
        ("FPU", "F"),
        ("EPU", "E"),
        ("EU", "E"),
        ("EP", "E"),
        ("PU", "P"),
        ("P", "P"),
        ("U", "U"),
        ("", "default"),
    ],
)
def test_precedence(home: Path, project: Path, tmp_path: Path, places: str, winner: str) -> None:
    _set(home, project, places, tmp_path)
    args: list[str | Path] = ["dir"]
    if "F" in places:
        args += ["--cache-dir", tmp_path / "F"]
    env = {"CACHEDB_CACHE_DIR": str(tmp_path / "E")} if "E" in places else {}
    out = run(home, project / "src", *args, env=env)
    assert out.returncode == 0, out.stderr
    expected = home / "cache" / "cachedb" if winner == "default" else tmp_path / winner
    assert out.stdout.strip() == str(expected)


@pytest.mark.parametrize("how", ["flag-before", "flag-after", "env"])
def test_no_config_reads_no_file(home: Path, project: Path, tmp_path: Path, how: str) -> None:
    _set(home, project, "PU", tmp_path)
    args = {
        "flag-before": ["--no-config", "dir"],
        "flag-after": ["dir", "--no-config"],
        "env": ["dir"],
    }
    env = {"CACHEDB_NO_CONFIG": "1"} if how == "env" else {}
    out = run(home, project / "src", *args[how], env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(home / "cache" / "cachedb")


@pytest.mark.parametrize("how", ["flag", "env"])
def test_a_named_config_file_replaces_project_and_user(
    home: Path, project: Path, tmp_path: Path, how: str
) -> None:
    _set(home, project, "PU", tmp_path)
    named = tmp_path / "named.toml"
    named.write_text('cache-dir = "named-cache"\n')
    if how == "flag":
        out = run(home, project / "src", "--config-file", named, "dir")
    else:
        out = run(home, project / "src", "dir", env={"CACHEDB_CONFIG_FILE": str(named)})
    assert out.returncode == 0, out.stderr
    # A relative path is relative to the file that says it.
    assert out.stdout.strip() == str(tmp_path / "named-cache")


def test_a_project_cachedb_toml_is_found_too_and_wins_over_pyproject(
    home: Path, project: Path, tmp_path: Path
) -> None:
    _set(home, project, "PU", tmp_path)
    (project / "cachedb.toml").write_text(f'cache-dir = "{tmp_path / "T"}"\n')
    out = run(home, project / "src", "dir")
    assert out.stdout.strip() == str(tmp_path / "T")


def test_a_pyproject_without_our_table_is_passed_over(
    home: Path, project: Path, tmp_path: Path
) -> None:
    _set(home, project, "P", tmp_path)
    (project / "src" / "pyproject.toml").write_text('[project]\nname = "inner"\n')
    out = run(home, project / "src", "dir")
    assert out.stdout.strip() == str(tmp_path / "P")


def test_config_shows_each_value_and_where_it_came_from(
    home: Path, project: Path, tmp_path: Path
) -> None:
    _set(home, project, "PU", tmp_path)
    (home / "config" / "cachedb" / "cachedb.toml").write_text(
        'cache-dir = "/u"\nlink-mode = "copy"\nhttp-timeout = 5\noffline = true\n'
    )
    out = run(home, project / "src", "config", "--json", env={"CACHEDB_OFFLINE": "0"})
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    user = f"{home / 'config' / 'cachedb' / 'cachedb.toml'}"
    assert data["files"] == [f"{project / 'pyproject.toml'} [tool.cachedb]", user]
    shown = {s["name"]: (s["value"], s["source"]) for s in data["settings"]}
    assert shown["cache-dir"] == (
        str(tmp_path / "P"),
        f"{project / 'pyproject.toml'} [tool.cachedb]",
    )
    assert shown["link-mode"] == ("copy", user)
    assert shown["http-timeout"] == (5, user)
    assert shown["offline"] == ("0", "environment CACHEDB_OFFLINE")
    assert shown["index-url"] == (None, "default")
    text = run(home, project / "src", "config").stdout
    assert f'link-mode = "copy"  # {user}' in text.splitlines()


def test_a_setting_without_a_flag_is_read_from_the_file(
    home: Path, project: Path, tmp_path: Path
) -> None:
    (project / "pyproject.toml").write_text("[tool.cachedb]\nhttp-timeout = -1\n")
    out = run(home, project, "install", "--venv", tmp_path / "v", "--no-index", "x")
    assert out.returncode == 2
    assert "must be a positive number of seconds" in out.stderr


def test_unknown_keys_warn_in_pyproject_and_fail_in_cachedb_toml(
    home: Path, project: Path, tmp_path: Path
) -> None:
    (project / "pyproject.toml").write_text('[tool.cachedb]\nlink-mod = "copy"\n')
    out = run(home, project, "dir")
    assert out.returncode == 0
    assert out.stderr.startswith(
        f"warning: {project / 'pyproject.toml'} [tool.cachedb]: unknown setting 'link-mod'"
    )
    (project / "cachedb.toml").write_text('link-mod = "copy"\n')
    out = run(home, project, "dir")
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith(f"error: {project / 'cachedb.toml'}: unknown setting 'link-mod'")
    assert out.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("link-mode = \n", "is not valid TOML"),
        ("link-mode = 3\n", "link-mode must be a string, not 3"),
        ('offline = "yes"\n', "offline must be true or false"),
        ("extra-index-url = [1]\n", "extra-index-url must be a string or a list of strings"),
    ],
)
def test_a_bad_value_is_a_one_line_usage_error(
    home: Path, project: Path, text: str, message: str
) -> None:
    (home / "config" / "cachedb" / "cachedb.toml").write_text(text)
    out = run(home, project, "dir")
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and message in out.stderr, out.stderr


def test_a_missing_named_file_is_an_error(home: Path, project: Path, tmp_path: Path) -> None:
    out = run(home, project, "--config-file", tmp_path / "none.toml", "dir")
    assert out.returncode == 2
    assert out.stderr == f"error: configuration file {tmp_path / 'none.toml'} does not exist\n"


def test_install_takes_its_options_from_the_project(
    home: Path, project: Path, tmp_path: Path
) -> None:
    make_wheel(project / "wheels", "lib", "1.0", files={"lib/__init__.py": ""})
    (project / "pyproject.toml").write_text(
        '[tool.cachedb]\nlink-mode = "copy"\nno-index = true\nfind-links = ["wheels"]\n'
        f'cache-dir = "{tmp_path / "cache"}"\n'
    )
    venv = tmp_path / "venv"
    out = run(home, project, "install", "--venv", venv, "lib")
    assert out.returncode == 0, out.stderr
    listed = run(home, project, "list", "--venv", venv, "--json")
    assert [(d["name"], d["link_mode"]) for d in json.loads(listed.stdout)] == [("lib", "copy")]
    # The flag still wins over the file.
    out = run(home, project, "install", "--venv", venv, "--link-mode", "hardlink", "lib", "-U")
    assert out.returncode == 0, out.stderr


def test_every_option_with_a_variable_is_a_setting_of_the_same_name() -> None:
    """One table: an option's variable and its parameter name follow from its setting, in
    every command that has the option."""
    import typer.main

    from cachedb.cli import load_app

    command = typer.main.get_command(load_app())
    seen = set()
    for sub in command.commands.values():  # type: ignore[attr-defined]
        for param in sub.params:
            longs = [o[2:] for o in param.opts if o.startswith("--")]
            if not longs:
                continue
            long = longs[0]
            envvars = param.envvar if isinstance(param.envvar, list) else [param.envvar]
            where = f"{sub.name} --{long}"
            if not param.envvar:
                assert long not in SETTINGS, f"{where}: give it envvar={SETTINGS[long].envs}"
                continue
            assert long in SETTINGS, f"{where}: add it to cachedb._settings.SETTINGS"
            assert envvars == SETTINGS[long].envs, where
            assert param.name == long.replace("-", "_"), where
            seen.add(long)
    assert seen == {n for n, s in SETTINGS.items() if s.flag}


def test_user_config_dir_is_what_platformdirs_says(monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs

    for value in ("", "/somewhere/else"):
        monkeypatch.setenv("XDG_CONFIG_HOME", value)
        assert _configfiles.user_config_dir() == Path(
            platformdirs.user_config_dir("cachedb", appauthor=False)
        )
