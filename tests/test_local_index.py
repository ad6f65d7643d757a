"""Indexes on disk (PEP 503 layout), ``-i DIR`` or ``-i file:///DIR``, as pip and uv take them."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from cachestate import snapshot
from installtools import cachedb, run_in, tree
from wheelbuilder import make_wheel


def simple_index(root: Path, wheels: list[Path], *, with_pages: bool = True) -> Path:
    """``root/simple/<name>/index.html`` linking to ``root/files/<wheel>`` (or the files inside)."""
    simple = root / "simple"
    for wheel in wheels:
        name = wheel.name.split("-")[0].replace("_", "-").lower()
        project = simple / name
        project.mkdir(parents=True, exist_ok=True)
        if not with_pages:
            os.replace(wheel, project / wheel.name)
            continue
        files = root / "files"
        files.mkdir(exist_ok=True)
        os.replace(wheel, files / wheel.name)
        digest = hashlib.sha256((files / wheel.name).read_bytes()).hexdigest()
        page = project / "index.html"
        old = page.read_text() if page.exists() else ""
        page.write_text(
            f'{old}<a href="../../files/{wheel.name}#sha256={digest}">{wheel.name}</a>\n'
        )
    return simple


@pytest.fixture
def local_index(tmp_path: Path) -> Path:
    w = tmp_path / "build"
    wheels = [
        make_wheel(w, "app", "1.0", files={"app/__init__.py": "X = 1\n"}, requires=["lib>=1"]),
        make_wheel(w, "lib", "1.0", files={"lib/__init__.py": "VALUE = 1\n"}),
        make_wheel(w, "lib", "2.0", files={"lib/__init__.py": "VALUE = 2\n"}),
    ]
    return simple_index(tmp_path / "repo", wheels)


@pytest.mark.parametrize("form", ["path", "relative", "file-url"])
def test_an_index_on_disk_installs_like_one_served(
    local_index: Path, tmp_path: Path, form: str
) -> None:
    location = {
        "path": str(local_index),
        "relative": os.path.relpath(local_index, tmp_path),
        "file-url": local_index.as_uri(),
    }[form]
    venv = tmp_path / "venv"
    out = cachedb(
        "install", "--cache-dir", tmp_path / "cache", "-i", location, "--venv", venv, "app",
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert " + lib==2.0" in out.stderr
    assert run_in(venv, "import app, lib; print(lib.VALUE)").stdout.strip() == "2"


def test_a_project_directory_without_a_page_lists_its_files(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "build", "lib", "1.0", files={"lib/__init__.py": "VALUE = 1\n"})
    simple = simple_index(tmp_path / "repo", [wheel], with_pages=False)
    venv = tmp_path / "venv"
    out = cachedb(
        "install", "--cache-dir", tmp_path / "cache", "--index-url", tmp_path / "nowhere",
        "--extra-index-url", simple, "--venv", venv, "lib",
    )  # fmt: skip
    assert out.returncode == 2
    assert out.stderr.startswith("error: index directory") and out.stderr.count("\n") == 1
    out = cachedb(
        "install", "--cache-dir", tmp_path / "cache", "--index-url", simple, "--venv", venv, "lib"
    )
    assert out.returncode == 0, out.stderr
    assert run_in(venv, "import lib; print(lib.VALUE)").stdout.strip() == "1"


def test_a_missing_index_directory_is_a_one_line_error_that_changes_nothing(
    tmp_path: Path, local_index: Path
) -> None:
    cache = tmp_path / "cache"
    venv = tmp_path / "venv"
    ok = cachedb("install", "--cache-dir", cache, "-i", local_index, "--venv", venv, "lib==1.0")
    assert ok.returncode == 0, ok.stderr
    before = snapshot(cache), tree(venv)
    missing = tmp_path / "no-such-index"
    out = cachedb("install", "--cache-dir", cache, "-i", missing, "--venv", venv, "app")
    assert out.returncode == 2
    assert out.stderr == f"error: index directory {missing} does not exist\n"
    assert (snapshot(cache), tree(venv)) == before
