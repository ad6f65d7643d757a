"""``freeze``, ``show``, ``check`` against pip's, ``tree`` against uv's, on one environment.

The environment is made by cachedb from a local index: dependencies with a
specifier, an extra and a marker that is false here, an editable project (a real
flit build), a wheel installed by path (PEP 610 archive_info), and a package
installed with --no-deps whose dependencies are missing or conflict.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from buildtools import backend_wheel, write_project
from indexserver import IndexServer
from installtools import cachedb, pip
from wheelbuilder import make_wheel

UV = shutil.which("uv", path=str(Path(sys.executable).parent))


class Env:
    def __init__(self, venv: Path, cache: Path, project: Path, index: str) -> None:
        self.venv = venv
        self.cache = cache
        self.project = project
        self.index = index

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return cachedb(*args, "--venv", self.venv, "--cache-dir", self.cache)


def _ok(out: subprocess.CompletedProcess[str]) -> None:
    assert out.returncode == 0, out.stderr


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    root = tmp_path_factory.mktemp("inspect")
    wheels = root / "wheels"
    with IndexServer() as server:
        server.add(backend_wheel("flit_core", wheels))
        for wheel in [
            make_wheel(
                wheels,
                "App",
                "1.0",
                requires=[
                    "lib-a>=1",
                    "lib-b[x]<3",
                    "Shared",
                    'winonly; sys_platform == "win32"',
                ],
            ),
            make_wheel(wheels, "lib_a", "1.5", requires=["shared==2.0"]),
            make_wheel(
                wheels,
                "lib-b",
                "2.0",
                requires=['extra-dep; extra == "x"', "shared"],
                extras=["x"],
            ),
            make_wheel(
                wheels,
                "shared",
                "2.0",
                summary="shared things",
                headers=[
                    "Author: A. Person",
                    "Author-email: a@example.org",
                    "License: MIT",
                    "Project-URL: Home Page, https://example.org/shared",
                    "Project-URL: Source, https://example.org/src",
                ],
            ),
            make_wheel(wheels, "extra_dep", "0.1"),
            make_wheel(wheels, "needy", "1.0", requires=["absent>=1", "shared<2", "lib_a"]),
        ]:
            server.add(wheel)
        direct = make_wheel(root / "direct", "direct-pkg", "3.0")
        project = write_project(root / "proj", "edit-me", "0.5", backend="flit")
        venv = root / "venv"
        cache = root / "cache"
        common = ["--cache-dir", cache, "-i", server.url, "--venv", venv]
        _ok(cachedb("install", *common, "App"))
        _ok(cachedb("install", *common, "--no-deps", "needy"))
        _ok(cachedb("install", *common, direct))
        _ok(cachedb("install", *common, "-e", project))
        yield Env(venv, cache, project, server.url)


def test_freeze_equals_pip_freeze_all(env: Env) -> None:
    ours = env.run("freeze")
    theirs = pip(env.venv, "freeze", "--all")
    _ok(ours)
    _ok(theirs)
    assert ours.stdout == theirs.stdout
    assert "# Editable install with no version control (edit-me==0.5)" in ours.stdout
    assert "direct-pkg @ file://" in ours.stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_freeze_of_an_editable_git_checkout_equals_pips(env: Env, tmp_path: Path) -> None:
    from buildtools import git

    repo = tmp_path / "repo"
    project = write_project(repo / "sub", "in-git", "0.1", backend="flit")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    venv = tmp_path / "v"
    common = ["--cache-dir", env.cache, "-i", env.index, "--venv", venv]
    _ok(cachedb("install", *common, "-e", project))
    ours = cachedb("freeze", "--venv", venv, "--cache-dir", env.cache)
    assert ours.stdout == pip(venv, "freeze", "--all").stdout
    assert "with no remote (in-git==0.1)" in ours.stdout
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    ours = cachedb("freeze", "--venv", venv, "--cache-dir", env.cache)
    assert ours.stdout == pip(venv, "freeze", "--all").stdout
    assert ours.stdout.startswith(f"-e git+{bare.as_uri()}@")
    assert ours.stdout.rstrip().endswith("#egg=in_git&subdirectory=sub")


def test_freeze_exclude_editable_equals_pips(env: Env) -> None:
    ours = env.run("freeze", "--exclude-editable")
    theirs = pip(env.venv, "freeze", "--all", "--exclude-editable")
    assert ours.stdout == theirs.stdout
    assert "edit-me" not in ours.stdout and "App==1.0" in ours.stdout


@pytest.mark.parametrize(
    "names",
    [["App"], ["shared", "lib-b", "EDIT_ME"], ["direct-pkg", "needy"]],
)
@pytest.mark.parametrize("files", [False, True])
def test_show_equals_pip_show(env: Env, names: list[str], files: bool) -> None:
    flags = ["--files"] if files else []
    ours = env.run("show", *names, *flags)
    theirs = pip(env.venv, "show", *names, *flags)
    _ok(ours)
    assert ours.stdout == theirs.stdout


def test_show_of_nothing_installed_fails_like_pip(env: Env) -> None:
    ours = env.run("show", "nope")
    theirs = pip(env.venv, "show", "nope")
    assert (ours.returncode, ours.stdout) == (theirs.returncode, theirs.stdout) == (1, "")
    assert "Package(s) not found: nope" in ours.stderr


def test_check_equals_pip_check(env: Env) -> None:
    ours = env.run("check")
    theirs = pip(env.venv, "check")
    assert ours.returncode == theirs.returncode == 1
    assert ours.stdout == theirs.stdout
    assert ours.stdout.splitlines() == [
        "needy 1.0 requires absent, which is not installed.",
        "needy 1.0 has requirement shared<2, but you have shared 2.0.",
    ]


def test_check_of_a_sound_environment(env: Env, tmp_path: Path) -> None:
    venv = tmp_path / "v"
    assert cachedb("venv", venv, "--cache-dir", env.cache).returncode == 0
    ours = cachedb("check", "--venv", venv, "--cache-dir", env.cache)
    theirs = pip(venv, "check")
    assert ours.returncode == theirs.returncode == 0
    assert ours.stdout == theirs.stdout == "No broken requirements found.\n"


@pytest.mark.skipif(UV is None, reason="uv is not installed next to this python")
@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--reverse"],
        ["--depth", "1"],
        ["--package", "lib-b"],
        ["--reverse", "--package", "shared", "--depth", "1"],
    ],
)
def test_tree_equals_uv_pip_tree(env: Env, args: list[str]) -> None:
    ours = env.run("tree", *args)
    _ok(ours)
    uv_args = ["--invert" if a == "--reverse" else a for a in args]
    theirs = subprocess.run(
        [str(UV), "pip", "tree", "--show-version-specifiers", "--python",
         str(env.venv / "bin" / "python"), "--no-config", *uv_args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert theirs.returncode == 0, theirs.stderr
    assert ours.stdout == theirs.stdout


def test_tree_draws_packages_only_a_cycle_reaches(tmp_path: Path) -> None:
    from packaging.utils import canonicalize_name

    from cachedb.inspect.installed import Distribution, Environment
    from cachedb.inspect.tree import tree_lines

    def dist(name: str, requires: list[str]) -> Distribution:
        meta = "".join(f"Requires-Dist: {r}\n" for r in requires)
        data = f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n{meta}\n".encode()
        where = tmp_path / f"{name}-1.0.dist-info"
        return Distribution(name, canonicalize_name(name), "1.0", where, data)

    a, b = canonicalize_name("a"), canonicalize_name("b")
    env = Environment({a: dist("a", ["b"]), b: dist("b", ["a"])}, {})
    assert list(tree_lines(env)) == [
        "a v1.0",
        "└── b v1.0 [required: *]",
        "    └── a v1.0 [required: *] (*)",
        "(*) Package tree already displayed",
    ]
