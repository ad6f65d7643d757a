"""A warm install writes nothing outside the cache and the target environment.

Watched from outside with strace: every system call that creates, opens for
writing, links, renames or removes a path, wherever the path is spelled
(relative to a directory descriptor, to the working directory, or absolute).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from installtools import make_venv
from wheelbuilder import make_wheel

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")

_WRITING = ("O_WRONLY", "O_RDWR", "O_CREAT")
# syscall(args) with -y: a descriptor argument is shown as N</its/path>.
_CALL = re.compile(r"^\d+\s+(\w+)\((.*)\)\s+=\s+(-?\d+)")
_ARG = re.compile(r'(-?\d+|AT_FDCWD)(?:<([^>]*)>)?, "([^"]*)"|"([^"]*)"')


def _written_paths(log: str, cwd: str) -> list[str]:
    paths = []
    for line in log.splitlines():
        match = _CALL.match(line)
        if match is None or int(match[3]) < 0:
            continue
        call, args = match[1], match[2]
        if call in ("openat", "open") and not any(flag in args for flag in _WRITING):
            continue
        if call not in (
            "openat", "open", "creat", "mkdir", "mkdirat", "link", "linkat", "symlink",
            "symlinkat", "rename", "renameat", "renameat2", "unlink", "unlinkat", "rmdir",
        ):  # fmt: skip
            continue
        for fd, fd_path, rel, plain in _ARG.findall(args):
            name = rel or plain
            base = fd_path if fd and fd != "AT_FDCWD" else cwd
            paths.append(os.path.normpath(os.path.join(base, name)))
    return paths


def test_a_warm_install_writes_only_in_the_cache_and_the_environment(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    make_wheel(
        wheels,
        "app",
        "1.0",
        files={"app/__init__.py": "def main():\n    pass\n", "app/sub/x.py": ""},
        requires=["lib==1.0"],
        entry_points={"console_scripts": {"app": "app:main"}},
    )
    make_wheel(wheels, "lib", "1.0")
    # Enough distributions that one statement's changes outgrow SQLite's in-memory
    # statement journal (64 KiB): it then spills to a temporary file.
    names = [f"dist{i}" for i in range(80)]
    for name in names:
        make_wheel(wheels, name, "1.0")
    pins = ["app==1.0", *(f"{name}==1.0" for name in names)]
    cache = tmp_path / "cache"
    flags = ["--cache-dir", str(cache), "--no-index", "--find-links", str(wheels)]
    cachedb = str(Path(sys.executable).parent / "cachedb")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    # The cold install fills the cache. The environment's path was installed into before
    # (a venv made again where one was): its old installs are marked removed in the same
    # transaction.
    warm = tmp_path / "warm"
    for python in (make_venv(tmp_path / "cold"), make_venv(warm), make_venv(tmp_path / "other")):
        done = subprocess.run(
            [cachedb, "install", "-q", "--python", str(python), *flags, *pins],
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
    shutil.rmtree(warm)
    warm_python = make_venv(warm)
    work = tmp_path / "cwd"
    work.mkdir()
    log = tmp_path / "strace.log"
    done = subprocess.run(
        ["strace", "-f", "-y", "-qq", "-o", str(log), "--", cachedb, "install", "-q"]
        + ["--python", str(warm_python), *flags, *pins],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert (warm_python.parent / "app").exists()
    written = _written_paths(log.read_text(), str(work))
    assert any(p.startswith(str(warm) + os.sep) for p in written)
    inside = (str(cache), str(warm))
    outside = [p for p in written if not any(p == d or p.startswith(d + os.sep) for d in inside)]
    assert outside == []


def test_a_big_write_keeps_sqlite_temporary_files_out_of_tmp(tmp_path: Path) -> None:
    # One statement that changes many pages and may fail on a constraint needs a statement
    # journal; past 64 KiB SQLite spills it to a temporary file (in /var/tmp by default).
    script = (
        "import sys\n"
        "from cachedb.db.lite import LiteDatabase\n"
        "db = LiteDatabase(sys.argv[1])\n"
        "db.write(lambda run: run('CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT UNIQUE)'))\n"
        "def fill(run):\n"
        "    for i in range(5000):\n"
        "        run('INSERT INTO t (x) VALUES (?)', (f'row-{i}-' + 'z' * 50,))\n"
        "    run(\"UPDATE t SET x = x || 'a'\")\n"
        "db.write(fill)\n"
        "db.close()\n"
    )
    log = tmp_path / "strace.log"
    db_dir = tmp_path / "db"
    db_dir.mkdir()
    done = subprocess.run(
        ["strace", "-f", "-y", "-qq", "-o", str(log), "--", sys.executable, "-c", script]
        + [str(db_dir / "cache.sqlite3")],
        cwd=db_dir,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    written = _written_paths(log.read_text(), str(db_dir))
    assert str(db_dir / "cache.sqlite3") in written
    assert [p for p in written if not p.startswith(str(db_dir) + os.sep)] == []


def test_reading_a_wheels_metadata_without_a_metadata_file_writes_only_in_the_cache(
    tmp_path: Path,
) -> None:
    # An index without PEP 658 files: compile downloads each wheel to read its METADATA.
    from indexserver import IndexServer

    wheels = tmp_path / "wheels"
    make_wheel(wheels, "app", "1.0", requires=["lib>=1"])
    make_wheel(wheels, "lib", "1.0")
    work = tmp_path / "cwd"
    work.mkdir()
    (work / "requirements.in").write_text("app\n")
    cache = tmp_path / "cache"
    cachedb = str(Path(sys.executable).parent / "cachedb")
    log = tmp_path / "strace.log"
    with IndexServer() as index:
        for wheel in sorted(wheels.iterdir()):
            index.add(wheel, metadata=False)
        done = subprocess.run(
            ["strace", "-f", "-y", "-qq", "-o", str(log), "--", cachedb, "compile", "-q"]
            + ["-i", index.url, "--cache-dir", str(cache), "requirements.in"],
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            cwd=work,
            capture_output=True,
            text=True,
        )
    assert done.returncode == 0, done.stderr
    assert "lib==1.0" in done.stdout
    written = _written_paths(log.read_text(), str(work))
    inside = (str(cache), os.devnull)  # the interpreter probe's stdin is /dev/null
    outside = [p for p in written if not any(p == d or p.startswith(d + os.sep) for d in inside)]
    assert outside == []
