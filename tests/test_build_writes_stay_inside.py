"""A build writes nothing outside the cache and the target environment: pyproject-hooks'
control directories, the hook server's output and whatever the backend puts in its
temporary directory all land in the build's workspace under the cache's ``tmp/``.

Watched from outside with strace, as ``test_writes_stay_inside`` watches a warm install.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from buildtools import backend_wheel, make_sdist, write_project
from installtools import make_venv
from test_writes_stay_inside import _written_paths

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")

# Opened read-write by subprocess for a child's DEVNULL: not a file anything is written to.
_NOT_FILES = (os.devnull,)
# A symlink's target is not written: only the link is (venvs and pointers are symlinks).
_LINK_TARGET = re.compile(r'^(\d+\s+symlink(?:at)?\()"[^"]*", ')
_FORK = re.compile(r"^(\d+)\s+(?:<\.\.\. )?(?:clone3?|fork|vfork)\b.*\)\s+=\s+(\d+)")
_CHDIR = re.compile(r'^(\d+)\s+chdir\("([^"]*)"\)\s+=\s+0')


def _written(log: str, cwd: str) -> list[str]:
    """``_written_paths``, but each process's relative paths taken from its own working
    directory: the hooks run in the source tree (a setuptools build writes ``build/``)."""
    lines = log.splitlines()
    forks: dict[str, tuple[str, int]] = {}  # child pid: (parent pid, line of the fork)
    moves: dict[str, list[tuple[int, str]]] = {}  # pid: [(line, directory changed to)]
    for i, line in enumerate(lines):
        if (fork := _FORK.match(line)) is not None:
            forks[fork[2]] = (fork[1], i)
        elif (move := _CHDIR.match(line)) is not None:
            moves.setdefault(move[1], []).append((i, move[2]))

    def cwd_of(pid: str, before: int) -> str:
        where = cwd_of(*forks[pid]) if pid in forks else cwd  # a child starts in its parent's
        for i, directory in moves.get(pid, []):
            if i < before:
                where = os.path.join(where, directory)
        return where

    written = []
    for i, line in enumerate(lines):
        line = _LINK_TARGET.sub(r"\1", line)
        pid = line.split(maxsplit=1)[0] if line else ""
        written += _written_paths(line, cwd_of(pid, i) if pid.isdigit() else cwd)
    return written


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
    written = _written(log.read_text(), str(work))
    assert any(p.startswith(str(venv) + os.sep) for p in written)
    inside = (str(cache), str(venv))
    outside = {
        p
        for p in written
        if p not in _NOT_FILES and not any(p == d or p.startswith(d + os.sep) for d in inside)
    }
    assert outside == set()
    assert list(user_tmp.iterdir()) == []
    assert list((cache / "tmp").iterdir()) == []  # the build's workspace went with it
