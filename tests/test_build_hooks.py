"""Hooks forked from one process that imported the backend (cachedb/build/hooks.py) build
what a fresh process per hook builds: the same requirements, wheel bytes and output, with
each hook's changes to process state (environment, module globals, cwd, atexit) unseen
by the next — and the server declines where a fork could differ from a fresh process."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import venv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from buildtools import write_project
from test_target_pythons import find_python

from cachedb.build.hooks import HookServer
from cachedb.build.pep517 import Backend
from cachedb.errors import BuildError

# A backend that changes every kind of process state in its first hook and writes what
# its second hook sees into the wheel; its import registers an atexit handler.
STATEFUL = """\
import atexit, base64, hashlib, os, sys, zipfile
{prelude}
CALLS = []


def _bye():
    with open(os.environ["HOOK_LOG"], "a") as fh:
        fh.write("exit %s\\n" % (CALLS,))


atexit.register(_bye)


def get_requires_for_build_wheel(config_settings=None):
    CALLS.append("requires")
    os.environ["STATEFUL_SEEN"] = "1"
    sys.path.append("/nowhere")
    os.chdir("/")
    print("requires said this")
    print("and this on stderr", file=sys.stderr)
    return ["something-extra>=1; python_version < '3'"]


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    CALLS.append("build")
    main = sys.modules["__main__"]
    seen = "calls=%s env=%s path=%s cwd=%s argv=%s main=%s/%s/%s/%s modules=%s" % (
        CALLS, os.environ.get("STATEFUL_SEEN"), "/nowhere" in sys.path,
        os.path.basename(os.getcwd()), len(sys.argv), main.__name__,
        os.path.basename(main.__file__), main.__package__, main.__spec__,
        sorted(sys.modules),
    )
    print("building", seen)
    files = {{
        "stateful/__init__.py": seen.encode(),
        "stateful-1.0.dist-info/METADATA":
            b"Metadata-Version: 2.1\\nName: stateful\\nVersion: 1.0\\n",
        "stateful-1.0.dist-info/WHEEL":
            b"Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
    }}
    rows = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        rows.append("%s,sha256=%s,%d" % (name, digest, len(data)))
    rows.append("stateful-1.0.dist-info/RECORD,,")
    files["stateful-1.0.dist-info/RECORD"] = ("\\n".join(rows) + "\\n").encode()
    name = "stateful-1.0-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as zf:
        for member, data in files.items():
            zf.writestr(zipfile.ZipInfo(member, (2020, 1, 1, 0, 0, 0)), data)
    return name
"""

PYPROJECT = """\
[build-system]
requires = []
build-backend = "{module}"
{backend_path}
[project]
name = "stateful"
version = "1.0"
"""


def build_twice(project: Path, python: Path, tmp: Path) -> list[tuple[object, ...]]:
    """(requirements, wheel name and bytes, output, hooks forked) without and with a server."""
    results: list[tuple[object, ...]] = []
    for forking in (False, True):
        tree = tmp / ("forked" if forking else "plain") / "tree"
        shutil.copytree(project, tree, symlinks=True)
        out = tmp / f"dist-{forking}"
        backend = Backend(
            tree, python, "the project", scratch=tmp / f"hooks-{forking}" if forking else None
        )
        try:
            requires = backend.requires_for("wheel")
            wheel = backend.build("wheel", out)
        finally:
            backend.close()
        # The same but for where it ran: the tree, the wheel's directory, a random name in it.
        output = [
            re.sub(r"\.tmp-\w+", ".tmp-X", line.replace(str(tree), "TREE").replace(str(out), "OUT"))
            for line in backend.output
        ]
        results.append((requires, wheel.name, wheel.read_bytes(), output, backend.forked))
    return results


@pytest.fixture
def env_python(tmp_path: Path) -> Path:
    """A bare venv whose site-packages the tests put build backends into."""
    venv.EnvBuilder(with_pip=False, symlinks=True).create(tmp_path / "env")
    return tmp_path / "env" / "bin" / "python"


def stateful_project(python: Path, tmp: Path, backend: str | None = None) -> Path:
    """A project built by ``stateful_backend`` (``STATEFUL`` unless ``backend`` is given),
    installed into the build environment of ``python``."""
    text = STATEFUL.format(prelude="") if backend is None else backend
    (site_packages(python) / "stateful_backend.py").write_text(text)
    project = tmp / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        PYPROJECT.format(module="stateful_backend", backend_path="")
    )
    return project


def site_packages(python: Path) -> Path:
    return next((python.parent.parent / "lib").glob("python*/site-packages"))


@pytest.fixture(autouse=True)
def reproducible(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1577836800")
    monkeypatch.setenv("HOOK_LOG", str(tmp_path / "hook.log"))


@pytest.mark.parametrize("backend", ["flit", "setuptools"])
def test_forked_hooks_build_the_same_wheel_as_fresh_processes(backend: str, tmp_path: Path) -> None:
    # This test's own interpreter has both backends installed.
    project = write_project(tmp_path / "project", "forked-demo", backend=backend)
    plain, forked = build_twice(project, Path(sys.executable), tmp_path)
    assert plain[:4] == forked[:4]
    assert (plain[4], forked[4]) == (0, 2)


@pytest.mark.parametrize("minor", ["3.8", "3.13", None])
def test_each_forked_hook_starts_from_the_state_after_the_import(
    minor: str | None, env_python: Path, tmp_path: Path
) -> None:
    # The server runs in the build environment's interpreter: the target's, 3.8 and up.
    if minor is not None:
        env = tmp_path / f"env-{minor}"
        subprocess.run([find_python(minor), "-m", "venv", "--without-pip", env], check=True)
        env_python = env / "bin" / "python"
    project = stateful_project(env_python, tmp_path)
    plain, forked = build_twice(project, env_python, tmp_path)
    assert plain[:4] == forked[:4]
    assert forked[4] == 2
    # The build hook saw none of what the requirements hook changed, in both ways.
    assert b"calls=['build'] env=None path=False cwd=tree argv=3" in forked[2]  # type: ignore[operator]
    assert "requires said this" in forked[3] and "and this on stderr" in forked[3]  # type: ignore[operator]
    # Every hook process ran the import's exit handler once, with its own state.
    log = (tmp_path / "hook.log").read_text().splitlines()
    assert log == ["exit ['requires']", "exit ['build']"] * 2


@pytest.mark.parametrize("where", ["prints", "warns", "in-tree"])
def test_a_backend_whose_import_a_fork_could_not_repeat_runs_every_hook_fresh(
    where: str, env_python: Path, tmp_path: Path
) -> None:
    prelude = {
        "prints": "print('importing the backend')",
        "warns": "import warnings; warnings.warn('old backend')",
        "in-tree": "",
    }[where]
    project = tmp_path / "project"
    project.mkdir()
    in_tree = where == "in-tree"
    home = project / "backend" if in_tree else site_packages(env_python)
    home.mkdir(exist_ok=True)
    (home / "stateful_backend.py").write_text(STATEFUL.format(prelude=prelude))
    path = 'backend-path = ["backend"]' if in_tree else ""
    (project / "pyproject.toml").write_text(
        PYPROJECT.format(module="stateful_backend", backend_path=path)
    )
    plain, forked = build_twice(project, env_python, tmp_path)
    assert plain[:4] == forked[:4]
    assert forked[4] == 0
    if where == "prints":
        assert plain[3].count("importing the backend") == 2  # type: ignore[union-attr]


@pytest.mark.parametrize("minor", [None, "3.8"])
@pytest.mark.parametrize("added", ["module", "pth", "sitecustomize"])
def test_a_server_started_while_its_environment_installs_serves_only_as_a_fresh_start_would(
    added: str, minor: str | None, tmp_path: Path
) -> None:
    # What the builder does: the server starts (held), then the build requirements install.
    # The backend is importable only through what the install adds: the module itself, or
    # a directory that a .pth file or sitecustomize puts on the path, which a start reads.
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        PYPROJECT.format(module="stateful_backend", backend_path="")
    )
    results = []
    for forking in (False, True):
        root = tmp_path / f"round-{forking}"
        if minor is None:
            venv.EnvBuilder(with_pip=False, symlinks=True).create(root / "env")
        else:
            venv_of = [find_python(minor), "-m", "venv", "--without-pip", root / "env"]
            subprocess.run(venv_of, check=True)
        python = root / "env" / "bin" / "python"
        site = site_packages(python)
        elsewhere = root / "elsewhere"
        elsewhere.mkdir()
        tree = root / "tree"
        shutil.copytree(project, tree)
        backend = Backend(tree, python, "the project", scratch=root / "hooks" if forking else None)
        started: list[HookServer] = []
        try:
            backend.prestart()
            if backend._server is not None:  # noqa: SLF001 - the server it started, held
                started.append(backend._server)  # noqa: SLF001
            home = site if added == "module" else elsewhere
            (home / "stateful_backend.py").write_text(STATEFUL.format(prelude=""))
            if added == "pth":
                (site / "elsewhere.pth").write_text(f"{elsewhere}\n")
            elif added == "sitecustomize":
                (site / "sitecustomize.py").write_text(
                    f"import sys\nsys.path.append({str(elsewhere)!r})\n"
                )
            requires = backend.requires_for("wheel")
            wheel = backend.build("wheel", root / "dist")
        finally:
            backend.close()
        output = [line.replace(str(tree), "TREE") for line in backend.output]
        results.append((requires, wheel.name, wheel.read_bytes(), output))
        if forking:
            assert len(started) == 1 and backend.forked == 2
            # The held server served unless the start it made reads differently now.
            assert backend._servers == (1 if added == "module" else 2)  # noqa: SLF001
    assert results[0] == results[1]


# A module the hook script imports, which takes an optional module where one is found.
OPTIONAL_IMPORT = """\
try:
    import optional_speedup
except ImportError:
    optional_speedup = None
FOUND = "with" if optional_speedup else "without"
"""
HOOK_SCRIPT = """\
import helper


def _build_backend():
    return None


if __name__ == "__main__":
    print(helper.FOUND)
"""


@pytest.mark.parametrize("added", ["never", "before the start", "while held"])
def test_a_held_server_answers_as_a_fresh_start_whatever_the_install_adds_to_its_imports(
    added: str, env_python: Path, tmp_path: Path
) -> None:
    # While held, a server runs the hook script's own imports, never from the environment
    # being installed: a module found there only afterwards makes it stand aside.
    script = tmp_path / "hook" / "script.py"
    script.parent.mkdir()
    script.write_text(HOOK_SCRIPT)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "helper.py").write_text(OPTIONAL_IMPORT)
    cmd = [str(env_python), str(script), "hook", str(tmp_path / "control")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(elsewhere)
    optional = site_packages(env_python) / "optional_speedup.py"
    if added == "before the start":
        optional.write_text("")
    server = HookServer(cmd, str(tmp_path), env, tmp_path / "scratch", held=True)
    try:
        if added == "while held":
            optional.write_text("")
        served = server.release() and server.serves(cmd, str(tmp_path), env)
        ran = server.run(cmd) if served else None
    finally:
        server.close()
    fresh = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, check=True)
    assert fresh.stdout == (b"without\n" if added == "never" else b"with\n")
    assert ran is None or ran == (0, fresh.stdout)
    if added == "never":
        assert ran is not None  # nothing changed: it served


def test_a_held_server_for_another_command_is_closed_unused(
    env_python: Path, tmp_path: Path
) -> None:
    project = stateful_project(env_python, tmp_path)
    backend = Backend(project, env_python, "the project", scratch=tmp_path / "hooks")
    try:
        backend.prestart()
        held = backend._server  # noqa: SLF001
        assert held is not None and held.held and held._proc is not None  # noqa: SLF001
        pid = held._proc.pid  # noqa: SLF001
        held._key = ("another", *held._key[1:])  # noqa: SLF001 - as if the guess were wrong
        wheel = backend.build("wheel", tmp_path / "dist")
    finally:
        backend.close()
    assert backend.forked == 1 and b"calls=['build']" in wheel.read_bytes()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_failing_forked_hook_reports_what_a_fresh_one_does(
    env_python: Path, tmp_path: Path
) -> None:
    broken = (
        STATEFUL.format(prelude="")
        + "\n\ndef build_wheel(*args, **kwargs):\n    raise RuntimeError('no luck')\n"
    )
    project = stateful_project(env_python, tmp_path, broken)
    messages = []
    for forking in (False, True):
        backend = Backend(
            project, env_python, "the project", scratch=tmp_path / "hooks" if forking else None
        )
        try:
            with pytest.raises(BuildError) as caught:
                backend.build("wheel", tmp_path / f"dist-{forking}")
        finally:
            backend.close()
        messages.append(str(caught.value).splitlines()[0])
        assert backend.forked == forking
    assert messages[0] == messages[1]
    assert "no luck" in messages[0]


def test_the_server_ends_with_its_backend(env_python: Path, tmp_path: Path) -> None:
    project = stateful_project(env_python, tmp_path)
    backend = Backend(project, env_python, "the project", scratch=tmp_path / "hooks")
    backend.requires_for("wheel")
    server = backend._server  # noqa: SLF001 - the process this test checks is gone
    assert server is not None and server._proc is not None  # noqa: SLF001
    pid = server._proc.pid  # noqa: SLF001
    backend.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_after_a_restart_the_next_hook_imports_the_backend_in_a_new_process(
    env_python: Path, tmp_path: Path
) -> None:
    # What the builder does once it installed what get_requires_for_build_wheel added.
    project = stateful_project(env_python, tmp_path)
    backend = Backend(project, env_python, "the project", scratch=tmp_path / "hooks")
    try:
        backend.requires_for("wheel")
        first = backend._server._proc.pid  # type: ignore[union-attr]  # noqa: SLF001
        backend.restart()
        wheel = backend.build("wheel", tmp_path / "dist")
        second = backend._server._proc.pid  # type: ignore[union-attr]  # noqa: SLF001
    finally:
        backend.close()
    assert first != second and backend.forked == 2
    assert b"calls=['build']" in wheel.read_bytes()


def test_a_cache_path_with_a_newline_runs_the_hooks_fresh(env_python: Path, tmp_path: Path) -> None:
    project = stateful_project(env_python, tmp_path)
    backend = Backend(project, env_python, "the project", scratch=tmp_path / "odd\ncache")
    try:
        wheel = backend.build("wheel", tmp_path / "dist")
    finally:
        backend.close()
    assert backend.forked == 0
    assert b"calls=['build']" in wheel.read_bytes()


@pytest.mark.parametrize("backend", ["flit", "setuptools"])
def test_an_install_with_forked_hooks_is_the_install_with_fresh_ones(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from buildtools import backend_wheel, make_sdist
    from installtools import tree

    from cachedb.build import pep517
    from cachedb.cli import main

    links = tmp_path / "links"
    backend_wheel("flit_core" if backend == "flit" else "setuptools", links)
    project = write_project(tmp_path / "project", "forked-demo", backend=backend)
    make_sdist(project, links, "forked-demo", "1.0")
    forked: list[int] = []
    servers: list[bool] = []

    class Counting(HookServer):  # the real server, counting the servers and the hooks it ran
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            servers.append(bool(kwargs.get("held")))
            super().__init__(*args, **kwargs)

        def run(self, cmd: Sequence[str]) -> tuple[int, bytes] | None:
            ran = super().run(cmd)
            forked.extend([1] if ran is not None else [])
            return ran

    monkeypatch.setattr(pep517, "HookServer", Counting)
    trees = []
    for forks in (False, True):
        monkeypatch.setattr(pep517, "FORKS", forks)
        venv.EnvBuilder(with_pip=False, symlinks=True).create(tmp_path / f"venv-{forks}")
        argv = ["install", "-q", "--cache-dir", str(tmp_path / f"cache-{forks}"), "--no-index"]
        argv += ["--find-links", str(links), "--venv", str(tmp_path / f"venv-{forks}")]
        assert main([*argv, "forked-demo==1.0"]) == 0
        trees.append(tree(site_packages(tmp_path / f"venv-{forks}" / "bin" / "python")))
    assert trees[0] == trees[1]
    assert any("forked_demo/__init__.py" in path for path in trees[0])
    assert len(forked) == 2  # requirements and wheel, in the second install only
    # One server, started while the backend installed into the build environment; but
    # setuptools brings a .pth file, which the start of that server could not have read.
    assert servers == ([True] if backend == "flit" else [True, False])


def test_the_hook_script_is_run_as_python_compiles_it_and_no_bytecode_is_written(
    tmp_path: Path,
) -> None:
    import py_compile

    from cachedb.build._hook_server import script_code

    script = tmp_path / "script.py"
    script.write_text("from __future__ import annotations\n\ndef f(a: int) -> int:\n    return a\n")
    fresh = compile(script.read_bytes(), str(script), "exec", dont_inherit=True)
    code = script_code(str(script))  # no bytecode cache: compiled
    assert code == fresh and code.co_filename == str(script)
    assert not (tmp_path / "__pycache__").exists()
    py_compile.compile(str(script), doraise=True)  # as an installer compiles it
    cached = script_code(str(script))
    assert cached == fresh and cached.co_filename == str(script)
    # The cache is read as an import reads it: here one that says "never check the source".
    script.write_text("X = 1\n")
    py_compile.compile(
        str(script), doraise=True, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH
    )
    script.write_text("X = 2\n")
    namespace: dict[str, object] = {}
    exec(script_code(str(script)), namespace)
    assert namespace["X"] == 1
