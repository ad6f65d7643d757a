"""A build writes nothing outside the cache and the target environment: pyproject-hooks'
control directories, the hook server's output and whatever the backend puts in its
temporary directory all land in the build's workspace under the cache's ``tmp/``.

Watched from outside with strace, as ``test_writes_stay_inside`` watches a warm install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from buildtools import backend_wheel, make_sdist, write_project
from installtools import make_venv
from writewatch import outside, written_paths

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")


@pytest.mark.parametrize("backend", ["flit", "setuptools"])
def test_a_cold_sdist_install_writes_only_in_the_cache_and_the_environment(
    backend: str, tmp_path: Path
) -> None:
    links = tmp_path / "links"
    backend_wheel("flit_core" if backend == "flit" else "setuptools", links)
    project = write_project(tmp_path / "project", "inside-demo", backend=backend)
    make_sdist(project, links, "inside-demo", "1.0")
    shutil.rmtree(project)
    cache, venv = tmp_path / "cache", tmp_path / "venv"
    python = make_venv(venv)
    # The temporary directory a user set: nothing may appear in it either.
    user_tmp = tmp_path / "user-tmp"
    user_tmp.mkdir()
    work = tmp_path / "cwd"
    work.mkdir()
    log = tmp_path / "strace.log"
    cachedb = str(Path(sys.executable).parent / "cachedb")
    done = subprocess.run(
        ["strace", "-f", "-y", "-qq", "-o", str(log), "--", cachedb, "install", "-q"]
        + ["--python", str(python), "--cache-dir", str(cache), "--no-index"]
        + ["--find-links", str(links), "inside-demo==1.0"],
        env={**os.environ, "TMPDIR": str(user_tmp)},
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    written = written_paths(log.read_text(), str(work))
    assert any(p.startswith(str(venv) + os.sep) for p in written)
    assert outside(written, [cache, venv]) == set()
    assert list(user_tmp.iterdir()) == []
    assert list((cache / "tmp").iterdir()) == []  # the build's workspace went with it
