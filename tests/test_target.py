"""The target interpreter: query (and its cache), venv creation, discovery order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from installtools import make_venv
from packaging.markers import default_environment

from cachedb.errors import UsageError
from cachedb.target import (
    Interpreter,
    create_venv,
    find_target,
    query_interpreter,
    start_query,
)

posix_only = pytest.mark.skipif(os.name == "nt", reason="uses a /bin/sh wrapper")
BIN = "Scripts" if os.name == "nt" else "bin"
PYTHON = "python.exe" if os.name == "nt" else "python"


def logged_venv(venv: Path, log: Path) -> Path:
    """A new venv whose python logs each run (a ``.pth`` line in its site-packages).

    The executable stays the real interpreter: a wrapper script would be a shim,
    which is asked on every run by design.
    """
    exe = make_venv(venv)
    (site_packages(venv) / "zz_log_runs.pth").write_text(
        f"import os; open({str(log)!r}, 'a').write(str(os.getpid()) + '\\n')\n"
    )
    return exe


def runs(log: Path) -> int:
    # One line per process and site-packages directory scanned (lib64 may repeat lib).
    return len(set(log.read_text().splitlines())) if log.exists() else 0


def answers(cache_dir: Path) -> list[Path]:
    """Per-executable answer files (not the per-base venv templates)."""
    return [p for p in cache_dir.iterdir() if not p.name.startswith("venv-")]


def drop_templates(cache_dir: Path) -> None:
    for path in cache_dir.glob("venv-*.json"):
        path.unlink()


def site_packages(venv: Path) -> Path:
    return Path(query_interpreter(venv / BIN / PYTHON).scheme["purelib"])


# --- query -------------------------------------------------------------------


def test_query_describes_the_venv(tmp_path: Path) -> None:
    venv = tmp_path / "env"
    exe = make_venv(venv)
    info = query_interpreter(exe)
    assert info.executable == str(exe)  # as given, not resolved to the base interpreter
    assert os.path.realpath(info.prefix) == os.path.realpath(venv)
    assert info.is_venv and info.base_prefix != info.prefix
    assert info.version == ".".join(map(str, sys.version_info[:3]))
    assert info.markers["python_version"] == f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert info.markers["python_full_version"] == info.version
    # The probe computes PEP 508's variables itself: they must be packaging's.
    assert info.markers == default_environment()
    abi = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    assert info.tags[0].startswith(f"{abi}-{abi}-")
    assert "py3-none-any" in info.tags
    assert set(info.scheme) == {"purelib", "platlib", "scripts", "headers", "data"}
    for key, path in info.scheme.items():
        assert os.path.isabs(path), key
        assert os.path.realpath(path).startswith(os.path.realpath(venv) + os.sep) or (
            os.path.realpath(path) == os.path.realpath(venv)
        ), key
    assert info.scheme["purelib"].endswith("site-packages")
    assert Path(info.scheme["headers"]).parts[-3:-1] == ("include", "site")
    assert Interpreter.from_json(info.to_json()) == info


def test_query_uses_cachedbs_packaging_even_if_the_target_has_a_broken_one(
    tmp_path: Path,
) -> None:
    venv = tmp_path / "env"
    make_venv(venv)
    broken = site_packages(venv) / "packaging"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise ImportError('the target packaging was used')\n")
    info = query_interpreter(venv / BIN / PYTHON)
    assert info.markers["python_version"] == f"{sys.version_info[0]}.{sys.version_info[1]}"


def test_query_ignores_the_users_python_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv = tmp_path / "env"
    exe = make_venv(venv)
    poison = tmp_path / "poison"
    poison.mkdir()
    (poison / "sitecustomize.py").write_text("raise SystemExit('PYTHONPATH leaked in')\n")
    (poison / "json.py").write_text("raise SystemExit('PYTHONPATH leaked in')\n")
    # Real variables, inherited by the child like a user's shell would pass them.
    monkeypatch.setenv("PYTHONPATH", str(poison))
    monkeypatch.setenv("PYTHONSTARTUP", str(poison / "json.py"))
    assert os.path.realpath(query_interpreter(exe).prefix) == os.path.realpath(venv)


def test_query_answers_for_the_target_not_for_cachedbs_interpreter(tmp_path: Path) -> None:
    other = Path("/usr/bin/python3")
    if not other.exists() or os.path.realpath(other) == os.path.realpath(sys.executable):
        pytest.skip("no second interpreter here")
    probe = [str(other), "-c", "import platform; print(platform.python_version())"]
    version = subprocess.run(probe, capture_output=True, text=True, check=True).stdout.strip()
    info = query_interpreter(other)
    assert info.version == version
    assert info.markers["python_full_version"] == version
    assert (
        info.prefix
        == subprocess.run(
            [str(other), "-c", "import sys; print(sys.prefix)"], capture_output=True, text=True
        ).stdout.strip()
    )


@posix_only
def test_warm_query_does_not_spawn_the_interpreter(tmp_path: Path) -> None:
    venv = tmp_path / "env"
    log = tmp_path / "runs.log"
    exe = logged_venv(venv, log)
    cache_dir = tmp_path / "cache" / "interpreters-v0"

    cold = query_interpreter(exe, cache_dir)
    assert runs(log) == 1
    warm = query_interpreter(exe, cache_dir)
    assert runs(log) == 1
    assert warm == cold
    assert warm.executable == str(exe)
    # One answer file, written atomically: no temporary file left behind.
    assert sorted(p.suffix for p in cache_dir.iterdir()) == [".json", ".json"]


@posix_only
def test_cache_is_invalidated_when_the_interpreter_or_pyvenv_cfg_changes(
    tmp_path: Path,
) -> None:
    venv = tmp_path / "env"
    log = tmp_path / "runs.log"
    exe = logged_venv(venv, log)
    cache_dir = tmp_path / "interpreters-v0"
    query_interpreter(exe, cache_dir)
    assert runs(log) == 1

    # The venv's python is a symlink: touch the link, never the base interpreter it names.
    st = exe.lstat()
    os.utime(exe, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000), follow_symlinks=False)
    drop_templates(cache_dir)  # else the unchanged base interpreter answers for the venv
    query_interpreter(exe, cache_dir)
    assert runs(log) == 2
    query_interpreter(exe, cache_dir)
    assert runs(log) == 2

    cfg = venv / "pyvenv.cfg"
    st = cfg.stat()
    os.utime(cfg, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    (answer_file,) = answers(cache_dir)
    before = answer_file.read_text()
    drop_templates(cache_dir)  # else the unchanged base interpreter answers for the venv
    query_interpreter(exe, cache_dir)
    assert runs(log) == 3
    assert answer_file.read_text() != before


@posix_only
def test_damaged_cache_file_is_a_miss_and_is_rewritten(tmp_path: Path) -> None:
    venv = tmp_path / "env"
    log = tmp_path / "runs.log"
    exe = logged_venv(venv, log)
    cache_dir = tmp_path / "interpreters-v0"
    good = query_interpreter(exe, cache_dir)
    (answer_file,) = answers(cache_dir)

    answer_file.write_text('{"stamp": ')
    drop_templates(cache_dir)  # else the unchanged base interpreter answers for the venv
    assert query_interpreter(exe, cache_dir) == good
    assert runs(log) == 2
    json.loads(answer_file.read_text())  # rewritten whole
    assert query_interpreter(exe, cache_dir) == good
    assert runs(log) == 2


def test_cache_is_per_executable(tmp_path: Path) -> None:
    cache_dir = tmp_path / "interpreters-v0"
    one = query_interpreter(make_venv(tmp_path / "one"), cache_dir)
    two = query_interpreter(make_venv(tmp_path / "two"), cache_dir)
    assert one.prefix != two.prefix
    assert len(answers(cache_dir)) == 2
    assert query_interpreter(tmp_path / "one" / BIN / PYTHON, cache_dir) == one


@pytest.mark.parametrize("kind", ["missing", "directory", "text", "script", "old"])
def test_a_path_that_is_not_a_working_python_is_a_usage_error(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "python"
    if kind == "directory":
        path.mkdir()
    elif kind == "text":
        path.write_text("not a program\n")
    elif kind in ("script", "old"):
        if os.name == "nt":
            pytest.skip("uses a /bin/sh script")
        body = "echo hello" if kind == "script" else 'exec python3 -c "import sys; sys.exit(2)"'
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)
    with pytest.raises(UsageError) as caught:
        query_interpreter(path, tmp_path / "interpreters-v0")
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message
    assert "not a Python interpreter" in message


def test_importing_cachedb_target_is_cheap() -> None:
    code = (
        "import sys, cachedb.target; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'packaging', 'sqlalchemy', 'httpx', 'rich', 'resolvelib', 'alembic', 'typer'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- create_venv -------------------------------------------------------------


def test_create_venv_without_pip(tmp_path: Path) -> None:
    exe = create_venv(tmp_path / "new")
    assert exe == tmp_path / "new" / BIN / PYTHON and exe.exists()
    assert not (site_packages(tmp_path / "new") / "pip").exists()


def test_create_venv_reuses_a_venv_and_fills_an_empty_dir(tmp_path: Path) -> None:
    existing = tmp_path / "existing"
    make_venv(existing)
    marker = existing / "marker"
    marker.write_text("kept")
    assert create_venv(existing, python=sys.executable) == existing / BIN / PYTHON
    assert marker.exists()

    empty = tmp_path / "empty"
    empty.mkdir()
    assert create_venv(empty).exists()


def test_create_venv_refuses_a_directory_with_other_files(tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "setup.py").write_text("")
    with pytest.raises(UsageError, match="not a virtual environment"):
        create_venv(tmp_path / "project")
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="not a directory"):
        create_venv(tmp_path / "file")


def test_create_venv_with_a_base_python_that_cannot_run(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        create_venv(tmp_path / "new", python=str(tmp_path / "nope"))
    assert "\n" not in str(caught.value)


# --- find_target ---------------------------------------------------------------


def test_find_target_python_option(tmp_path: Path) -> None:
    venv = tmp_path / "env"
    exe = make_venv(venv)
    other = make_venv(tmp_path / "active")
    environ = {"VIRTUAL_ENV": str(other.parent.parent)}
    # An executable wins over VIRTUAL_ENV and is returned as given (symlink kept).
    assert find_target(python=str(exe), environ=environ, cwd=tmp_path) == exe
    # A directory means a venv; relative paths are taken from cwd.
    assert find_target(python="env", environ=environ, cwd=tmp_path) == exe
    # A bare name is looked up on the given PATH.
    path_env = {"PATH": str(venv / BIN)}
    assert find_target(python=PYTHON, environ=path_env, cwd=tmp_path) == exe
    with pytest.raises(UsageError, match="no such file"):
        find_target(python="missing/python", environ={}, cwd=tmp_path)
    (tmp_path / "plain").mkdir()
    with pytest.raises(UsageError, match="not a virtual environment"):
        find_target(python="plain", environ={}, cwd=tmp_path)


def test_find_target_venv_option_creates_a_missing_venv_without_pip(tmp_path: Path) -> None:
    exe = find_target(venv="made", environ={}, cwd=tmp_path)
    assert exe == tmp_path / "made" / BIN / PYTHON and exe.exists()
    assert not (site_packages(tmp_path / "made") / "pip").exists()
    # The second time it is found, not recreated.
    (tmp_path / "made" / "marker").write_text("")
    assert find_target(venv=str(tmp_path / "made"), environ={}, cwd=tmp_path) == exe
    assert (tmp_path / "made" / "marker").exists()


def test_find_target_venv_option_with_seed_installs_pip(tmp_path: Path) -> None:
    exe = find_target(venv="seeded", seed=True, environ={}, cwd=tmp_path)
    assert (site_packages(tmp_path / "seeded") / "pip").is_dir()
    pip = subprocess.run([str(exe), "-m", "pip", "--version"], capture_output=True, text=True)
    assert pip.returncode == 0, pip.stderr


def test_find_target_venv_option_uses_python_option_as_base(tmp_path: Path) -> None:
    base = make_venv(tmp_path / "base")
    exe = find_target(python=str(base), venv="child", environ={}, cwd=tmp_path)
    assert exe == tmp_path / "child" / BIN / PYTHON and exe.exists()


def test_find_target_virtual_env_then_dot_venv(tmp_path: Path) -> None:
    active = make_venv(tmp_path / "active")
    project = tmp_path / "project"
    project.mkdir()
    local = make_venv(project / ".venv")
    environ = {"VIRTUAL_ENV": str(tmp_path / "active")}
    assert find_target(environ=environ, cwd=project) == active
    assert find_target(environ={}, cwd=project) == local
    assert find_target(environ={"VIRTUAL_ENV": ""}, cwd=project) == local
    with pytest.raises(UsageError, match="VIRTUAL_ENV"):
        find_target(environ={"VIRTUAL_ENV": str(tmp_path / "gone")}, cwd=project)


def test_find_target_without_any_environment(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        find_target(environ={}, cwd=tmp_path)
    assert str(caught.value) == (
        "No virtual environment found; run `python -m venv .venv` or pass --venv/--python"
    )
    assert caught.value.exit_code == 2


def test_a_fresh_venv_of_a_known_base_is_answered_without_spawning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cachedb.target import query

    cache_dir = tmp_path / "interpreters"
    first, second = make_venv(tmp_path / "a"), make_venv(tmp_path / "b")
    expected = query_interpreter(second)  # asked directly, no cache: the truth
    query_interpreter(first, cache_dir)

    def no_spawn(exe: str) -> subprocess.Popen[bytes]:
        raise AssertionError(f"spawned {exe}")

    monkeypatch.setattr(query, "_spawn", no_spawn)
    derived = query_interpreter(second, cache_dir)
    assert derived == expected
    assert derived.prefix == str(tmp_path / "b")
    assert derived.scheme["purelib"].startswith(str(tmp_path / "b"))


@posix_only
def test_a_started_query_lets_the_caller_go_on_and_answers_once(tmp_path: Path) -> None:
    venv = tmp_path / "env"
    log = tmp_path / "runs.log"
    exe = logged_venv(venv, log)
    cache_dir = tmp_path / "cache" / "interpreters-v0"

    pending = start_query(exe, cache_dir)
    answer = pending.result()
    assert answer == query_interpreter(exe)
    assert pending.result() is answer
    assert runs(log) == 2  # this query and the uncached one above
    assert start_query(exe, cache_dir).result() == answer  # stored: not asked again
    assert runs(log) == 2


def test_a_bad_interpreter_is_reported_by_the_answer_not_the_start(tmp_path: Path) -> None:
    pending = start_query(tmp_path / "no-python", tmp_path / "interpreters")
    with pytest.raises(UsageError, match="is not a Python interpreter"):
        pending.result()
    pending = start_query(tmp_path, tmp_path / "interpreters")
    with pytest.raises(UsageError, match="is a directory"):
        pending.result()


@posix_only
def test_an_answer_never_asked_for_stops_the_interpreter(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    slow = tmp_path / "slow-python"
    slow.write_text(f'#!/bin/sh\necho $$ > "{pid_file}"\nexec sleep 30\n')
    slow.chmod(0o755)
    with start_query(slow, tmp_path / "interpreters"):
        # e.g. the cache could not be opened: the answer is never asked for
        while not pid_file.exists() or not pid_file.read_text().strip():
            time.sleep(0.01)
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped, not left running
