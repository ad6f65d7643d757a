"""cachedb reads a tree's ``[build-system]`` table (build/buildsystem.py) as pypa/build's
ProjectBuilder does: the same requirements, backend and backend-path for a good table, the
same error message for a bad one, the same typo warnings — and a build never imports
``build``."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from cachedb.build.buildsystem import InvalidBuildSystem, read_build_system
from cachedb.build.pep517 import Backend
from cachedb.errors import BuildError

TABLES = [
    None,  # no pyproject.toml, a setup.py
    "",
    "[project]\nname = 'x'\n",
    "[build_system]\nrequires = []\n",
    "[build-sytem]\nrequires = []\n",
    "build-system = 1\n",
    "build-system = [1]\n",
    "[build-system]\n",
    "[build-system]\nrequire = ['a']\n",
    "[build-system]\nrequires = 'a'\n",
    "[build-system]\nrequires = ['a', 1]\n",
    "[build-system]\nrequires = []\n",
    "[build-system]\nrequires = ['a', 'b>=1', 'a']\n",
    "[build-system]\nrequires = ['flit_core']\nbuild-backend = 'flit_core.buildapi'\n",
    "[build-system]\nrequires = ['a']\nbuild-backend = 3\n",
    "[build-system]\nrequires = ['a']\nbuild_backend = 'x'\n",
    "[build-system]\nrequires = ['a']\nbuild-backends = 'x'\nbuild-backend = 'y'\n",
    "[build-system]\nrequires = ['a']\nbuild-backend = 'y'\nbackend-path = 'in'\n",
    "[build-system]\nrequires = ['a']\nbuild-backend = 'y'\nbackend-path = ['in']\n",
    "[build-system]\nrequires = ['a']\nbuild-backend = 'y'\nbackend-path = ['in', 'gone']\n",
    "[build-system]\nrequires = ['a']\nbuild-backend = 'y'\nbackend-path = []\n",
    "[build-system]\nrequires = ['a']\nbuild-backend = 'y'\nbackend-path = [2]\n",
    "[build-system]\nrequires = ['a']\nbuild-backend = 'y'\nother = 1\n",
    "[build-system]\nrequires = []\nbuild-backend = 'y'\nother = 1\nmore = 2\nbackend-path = []\n",
    "[build-system]\nrequires = ['a']\nbuild-backend = 'y'\nbackend-path = ['in']\nx = 1\n",
    "[build-system\nrequires = ['a']\n",
    "[build-system]\nrequires = ['a'\n",
    "[build-system]\nrequires = ['a']\nrequires = ['b']\n",
    "[build-system]\nrequires = ['a']\n[build-system.extra]\nx = 1\n",
]


def _tree(tmp_path: Path, text: str | None) -> Path:
    tree = tmp_path / "tree"
    (tree / "in").mkdir(parents=True)
    if text is None:
        (tree / "setup.py").write_text("")
    else:
        (tree / "pyproject.toml").write_text(text)
    return tree


def _unordered(message: str) -> object:
    # build lists unknown keys in a set's order; compare them as a set
    head, sep, tail = message.partition("Unknown properties: ")
    return (head, sep, set(tail.split(", "))) if sep else message


def _outcome(read: object, tree: Path) -> tuple[object, ...]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            answer: object = read(tree)  # type: ignore[operator]
        except Exception as exc:  # the message is what the user sees
            answer = ("error", _unordered(str(exc)))
    seen = [(type(w.message).__name__, str(w.message)) for w in caught]
    return answer, seen


def _build_reads(tree: Path) -> object:
    from build import ProjectBuilder

    builder = ProjectBuilder(tree)
    table = builder._build_system  # what the hooks are called with
    return sorted(builder.build_system_requires), table["build-backend"], table.get("backend-path")


def _cachedb_reads(tree: Path) -> object:
    found = read_build_system(str(tree))
    return sorted(set(found.requires)), found.backend, found.backend_path


@pytest.mark.parametrize("text", TABLES)
def test_a_table_is_read_as_pypa_build_reads_it(tmp_path: Path, text: str | None) -> None:
    tree = _tree(tmp_path, text)
    assert _outcome(_cachedb_reads, tree) == _outcome(_build_reads, tree)


def test_a_tree_that_is_no_project_is_refused_as_pypa_build_refuses_it(tmp_path: Path) -> None:
    for tree in (tmp_path / "missing", tmp_path):
        assert _outcome(_cachedb_reads, tree) == _outcome(_build_reads, tree)
        assert _outcome(_cachedb_reads, tree)[0][0] == "error"  # type: ignore[index]


def test_an_unreadable_pyproject_is_refused_as_pypa_build_refuses_it(tmp_path: Path) -> None:
    tree = _tree(tmp_path, "[build-system]\nrequires = []\n")
    (tree / "pyproject.toml").chmod(0)
    try:
        (tree / "pyproject.toml").read_bytes()
        pytest.skip("running as a user who reads any file")
    except PermissionError:
        pass
    try:
        assert _outcome(_cachedb_reads, tree) == _outcome(_build_reads, tree)
    finally:
        (tree / "pyproject.toml").chmod(0o644)


@pytest.mark.parametrize("text", [t for t in TABLES if t is not None])
def test_the_backend_refuses_a_bad_table_with_one_line(tmp_path: Path, text: str) -> None:
    tree = _tree(tmp_path, text)
    try:
        read_build_system(str(tree))
    except InvalidBuildSystem as exc:
        with pytest.raises(BuildError) as caught:
            Backend(tree, Path(sys.executable), "the project")
        assert str(caught.value) == f"cannot build the project: {exc}"
        assert "\n" not in str(caught.value)
    else:
        Backend(tree, Path(sys.executable), "the project").close()


def test_a_backend_does_not_import_pypa_build(tmp_path: Path) -> None:
    tree = _tree(tmp_path, TABLES[13])
    code = (
        "import sys; from pathlib import Path; from cachedb.build.pep517 import Backend;"
        f"Backend(Path({str(tree)!r}), Path(sys.executable), 'x').close();"
        "print(sorted(m for m in sys.modules if m == 'build' or m.startswith(('build.',"
        " 'importlib.metadata', 'email'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
