"""Where a source's hooks run: each in a fresh subprocess, or forked from one that imported
the backend once (``_hook_server.py``).

PEP 517 asks for a fresh process per hook, so that a backend may change any process
state: a forked child is one, but it starts after the backend's import instead of
before, which spares every hook after the first an interpreter start and the import
(for flit_core about as much as the build itself). The server is used only for hooks
that would run with the same interpreter, directory and environment as the one it
was started for, and declines (every hook then runs plain) wherever a fork could tell
itself apart from a fresh process (see the server's docstring).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

_SERVER = str(Path(__file__).with_name("_hook_server.py"))
# ``python _hook_server.py ARGS`` but for its code, read from its bytecode cache where
# that is current for the interpreter (a script's never is: it is compiled every time).
_START = """\
import os, sys
from importlib.machinery import SourceFileLoader
del sys.argv[0]
sys.path[0] = os.path.dirname(os.path.realpath(sys.argv[0]))
_w, sys.dont_write_bytecode = sys.dont_write_bytecode, True
_code = SourceFileLoader("__main__", sys.argv[0]).get_code("__main__")
sys.dont_write_bytecode = _w
__file__ = sys.argv[0]
del os, SourceFileLoader, _w
exec(_code)
"""
FORKS = hasattr(os, "fork")  # elsewhere every hook runs in a fresh process


def run_plain(cmd: Sequence[str], cwd: str | None, env: dict[str, str]) -> tuple[int, bytes]:
    """Run one hook in a fresh subprocess: its exit status and its merged output."""
    proc = subprocess.run(
        list(cmd),
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
    )
    return proc.returncode, proc.stdout


class HookServer:
    """One source's hook server, started on the first hook (``cmd`` is pyproject-hooks'
    ``[python, IN_PROCESS, HOOK, CONTROL_DIR]``); ``scratch`` holds the hooks' output.

    A ``held`` server is started earlier, while its build environment is still being
    installed: its interpreter starts meanwhile, and it imports the backend on ``release``.
    """

    def __init__(
        self,
        cmd: Sequence[str],
        cwd: str | None,
        env: dict[str, str],
        scratch: Path,
        *,
        held: bool = False,
    ) -> None:
        self._key = (cmd[0], cmd[1], cwd, env)
        self._scratch = scratch
        self._calls = 0
        scratch.mkdir(parents=True, exist_ok=True)
        self._proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            [cmd[0], "-c", _START, _SERVER, cmd[1], str(scratch / "preload.out")]
            + (["held"] if held else []),
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.declined = False
        self.held = held
        if not held:
            self.release()

    def release(self) -> bool:
        """Let the server import the backend. False where it must not serve: its start saw
        other ``.pth`` files or customize modules than a start now would (it has ended)."""
        assert self._proc is not None and self._proc.stdin is not None
        if self.held:
            self.held = False
            try:
                self._proc.stdin.write(b"go\n")
                self._proc.stdin.flush()
            except OSError:
                pass  # it has ended: its answer is empty
        answer = self._answer()
        if answer == b"stale":
            self.close()
            return False
        self.declined = answer != b"ready"
        if self.declined:
            self.close()
        return True

    def moved(self, cmd: Sequence[str], cwd: str | None, env: dict[str, str]) -> bool:
        """Whether the hook ``cmd`` runs elsewhere than the server does (a new one could
        serve it); a server that declined stays declined."""
        return not self.declined and self._key != (cmd[0], cmd[1], cwd, env)

    def serves(self, cmd: Sequence[str], cwd: str | None, env: dict[str, str]) -> bool:
        return self._proc is not None and self._key == (cmd[0], cmd[1], cwd, env)

    def run(self, cmd: Sequence[str]) -> tuple[int, bytes] | None:
        """Run the hook ``cmd`` names in a child of the server, as ``run_plain`` would;
        None where the server could not take it (it has ended: nothing ran)."""
        assert self._proc is not None and self._proc.stdin is not None
        self._calls += 1
        out = self._scratch / f"hook-{self._calls}.out"
        fields = [cmd[2], cmd[3], str(out)]
        if any("\0" in f or "\n" in f for f in fields):
            return None  # not sayable in a request line (a cache path with a newline)
        request = "\0".join(fields) + "\n"
        try:
            self._proc.stdin.write(request.encode("utf-8", "surrogateescape"))
            self._proc.stdin.flush()
        except OSError:
            self.close()
            return None
        answer = self._answer()
        try:
            output = out.read_bytes()
        except OSError:
            output = b""
        if not answer.lstrip(b"-").isdigit():
            self.close()
            return 1, output + b"\nthe build hook's process ended unexpectedly\n"
        return int(answer), output

    def _answer(self) -> bytes:
        assert self._proc is not None and self._proc.stdout is not None
        return self._proc.stdout.readline().rstrip(b"\n")

    def close(self, *, wait: bool = True) -> subprocess.Popen[bytes] | None:
        """End the server; with ``wait=False`` its process is returned for the caller to reap
        (the server is done once its input ends: only the exit is left)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        assert proc.stdin is not None and proc.stdout is not None
        with contextlib.suppress(OSError):
            proc.stdin.close()  # the server ends at the end of its input
        proc.stdout.close()
        if not wait:
            return proc
        proc.wait()
        return None


def hook_env(extra: dict[str, str] | None, dropped: Sequence[str]) -> dict[str, str]:
    """The environment a hook runs with: ours without ``dropped``, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(extra or {})
    env["PYTHONNOUSERSITE"] = "1"
    return env
