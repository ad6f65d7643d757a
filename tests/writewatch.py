"""Watching a real ``cachedb`` process from outside with strace: which paths it wrote.

Every system call that creates, opens for writing, links, renames, removes or changes
the mode, owner, times or size of a path counts, wherever the path is spelled (relative
to a directory descriptor, to the process's own working directory, or absolute). A
symlink's target is not written (only the link is). ``watched_env`` points the places a
program may write to on its own (``HOME``, ``TMPDIR``, the XDG directories) at empty
directories of the test, so a write there is seen even where strace's view is partial.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

CACHEDB = str(Path(sys.executable).parent / "cachedb")
HAVE_STRACE = shutil.which("strace") is not None

_WRITING = ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC")
_PATH_CALLS = frozenset(
    (
        "openat", "open", "openat2", "creat", "mkdir", "mkdirat", "link", "linkat",
        "symlink", "symlinkat", "rename", "renameat", "renameat2", "unlink", "unlinkat",
        "rmdir", "chmod", "fchmodat", "fchmodat2", "chown", "lchown", "fchownat",
        "truncate", "utime", "utimes", "utimensat", "futimesat", "mknod", "mknodat",
        "setxattr", "lsetxattr", "removexattr", "lremovexattr",
    )
)  # fmt: skip
# Calls on a descriptor: with -y its path is shown as N</its/path>.
_FD_CALLS = frozenset(("fchmod", "fchown", "ftruncate", "fsetxattr", "fremovexattr", "fallocate"))
# syscall(args) = result
_CALL = re.compile(r"^(\d+)\s+(\w+)\((.*)\)\s+=\s+(-?\d+)")
_ARG = re.compile(r'(-?\d+|AT_FDCWD)(?:<([^>]*)>)?, "([^"]*)"|"([^"]*)"')
_FD_ARG = re.compile(r"^\d+<([^>]*)>")
_LINK_TARGET = re.compile(r'^(\d+\s+symlink(?:at)?\()"[^"]*", ')
_FORK = re.compile(r"^(\d+)\s+(?:<\.\.\. )?(?:clone3?|fork|vfork)\b.*\)\s+=\s+(\d+)")
_CHDIR = re.compile(r'^(\d+)\s+chdir\("([^"]*)"\)\s+=\s+0')
_FCHDIR = re.compile(r"^(\d+)\s+fchdir\(\d+<([^>]*)>\)\s+=\s+0")


def _paths_of_line(line: str, cwd: str) -> list[str]:
    match = _CALL.match(_LINK_TARGET.sub(r"\1", line))
    if match is None or int(match[4]) < 0:
        return []
    call, args = match[2], match[3]
    if call in _FD_CALLS or (call == "utimensat" and args.split(", ", 2)[1] == "NULL"):
        fd = _FD_ARG.match(args)
        return [os.path.normpath(fd[1])] if fd else []
    if call not in _PATH_CALLS:
        return []
    if call in ("open", "openat", "openat2") and not any(f in args for f in _WRITING):
        return []
    paths = []
    for fd, fd_path, rel, plain in _ARG.findall(args):
        name = rel or plain
        base = fd_path if fd and fd != "AT_FDCWD" else cwd
        paths.append(os.path.normpath(os.path.join(base, name)))
    return paths


def written_paths(log: str, cwd: str) -> list[str]:
    """Paths written in an ``strace -f -y -qq`` log, each process's relative paths taken
    from its own working directory (a build's hooks run in the source tree)."""
    lines = log.splitlines()
    forks: dict[str, tuple[str, int]] = {}  # child pid: (parent pid, line of the fork)
    moves: dict[str, list[tuple[int, str]]] = {}  # pid: [(line, directory changed to)]
    for i, line in enumerate(lines):
        if (fork := _FORK.match(line)) is not None:
            forks[fork[2]] = (fork[1], i)
        elif (move := _CHDIR.match(line) or _FCHDIR.match(line)) is not None:
            moves.setdefault(move[1], []).append((i, move[2]))

    def cwd_of(pid: str, before: int) -> str:
        where = cwd_of(*forks[pid]) if pid in forks else cwd  # a child starts in its parent's
        for i, directory in moves.get(pid, []):
            if i < before:
                where = os.path.join(where, directory)
        return where

    written = []
    for i, line in enumerate(lines):
        pid = line.split(maxsplit=1)[0] if line else ""
        written += _paths_of_line(line, cwd_of(pid, i) if pid.isdigit() else cwd)
    return written


def outside(written: Iterable[str], inside: Iterable[Path | str]) -> set[str]:
    """The written paths that are none of ``inside`` nor below one of them."""
    roots = [os.path.normpath(str(d)) for d in inside]
    return {
        p
        for p in written
        # Opened read-write by subprocess for a child's DEVNULL: nothing is written there.
        if p != os.devnull and not any(p == d or p.startswith(d + os.sep) for d in roots)
    }


def watched_env(root: Path) -> dict[str, str]:
    """``HOME``, ``TMPDIR`` and the XDG directories as empty directories under ``root``."""
    names = ("HOME", "TMPDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME")
    names += ("XDG_STATE_HOME", "XDG_RUNTIME_DIR")
    env = {}
    for name in names:
        (root / name).mkdir(parents=True, exist_ok=True)
        env[name] = str(root / name)
    return env


def strace_run(
    args: Sequence[str | Path], log: Path, *, env: dict[str, str], cwd: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["strace", "-f", "-y", "-qq", "-o", str(log), "--", *map(str, args)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
