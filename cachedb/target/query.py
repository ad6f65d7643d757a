"""Asking a target interpreter what it is, once per executable thanks to ``cache``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cachedb.errors import UsageError
from cachedb.target import cache
from cachedb.target.interpreter import Interpreter
from cachedb.target.tags import target_tags

if TYPE_CHECKING:
    # Loaded only when an interpreter is asked: a cached answer (the warm path) needs none.
    import subprocess

_PROBE = Path(__file__).with_name("_probe.py")
_EXIT_UNSUPPORTED = 3  # mirrors _probe.EXIT_UNSUPPORTED
_TIMEOUT = 60.0


def query_interpreter(executable: str | Path, cache_dir: Path | None = None) -> Interpreter:
    """Markers, tags and scheme paths of ``executable``, computed by it.

    With ``cache_dir`` (``<cache>/interpreters-v0``) a valid earlier answer is
    returned without spawning anything.
    """
    return start_query(executable, cache_dir).result()


class Query:
    """An answer about an interpreter, maybe still being computed by it."""

    def __init__(
        self,
        exe: str,
        cache_dir: Path | None,
        stamp: dict[str, Any] | None,
        answer: Interpreter | None = None,
    ) -> None:
        self._exe = exe
        self._cache_dir = cache_dir
        self._stamp = stamp
        self._answer = answer
        self._proc: subprocess.Popen[bytes] | OSError | None = None
        if answer is None and not os.path.isdir(exe):
            self._proc = _spawn(exe)

    @property
    def answered(self) -> bool:
        """Whether ``result`` returns without waiting for the interpreter."""
        return self._answer is not None

    def result(self) -> Interpreter:
        """The answer, waiting for the interpreter if it is still working on it."""
        if self._answer is not None:
            return self._answer
        answer, ran = _answer(self._exe, self._proc)
        if self._cache_dir is not None and self._stamp is not None:
            # Kept only if what ran is the executable itself: a shim may lead elsewhere.
            cache.store(self._cache_dir, answer, self._stamp, ran)
            cache.store_template(self._cache_dir, answer, self._stamp, ran)
        self._answer = answer
        return answer

    def __enter__(self) -> Query:
        return self

    def __exit__(self, *exc: object) -> None:
        """An answer never asked for: the interpreter is stopped, not left behind."""
        proc = self._proc
        if proc is not None and not isinstance(proc, OSError) and proc.returncode is None:
            proc.kill()
            proc.communicate()


def start_query(executable: str | Path, cache_dir: Path | None = None) -> Query:
    """``query_interpreter``, with the interpreter left to answer while the caller goes on.

    Asking takes the interpreter some 40 ms; the caller has other things to do
    meanwhile. A bad executable is reported by ``result``.
    """
    exe = str(Path(executable).expanduser().absolute())
    if cache_dir is None:
        return Query(exe, None, None)
    # Stat before asking: if the interpreter changes while it answers, the
    # stored stamp is already stale and the next call asks again.
    stamp = cache.stamp_executable(exe)
    if stamp is None:
        return Query(exe, None, None)  # result raises the user-facing error for a missing path
    hit = cache.load(cache_dir, exe, stamp)
    if hit is not None:
        return Query(exe, cache_dir, stamp, hit)
    derived = cache.derive(cache_dir, exe, stamp)
    if derived is not None:
        cache.store(cache_dir, derived, stamp, stamp["resolved"][0])
        return Query(exe, cache_dir, stamp, derived)
    return Query(exe, cache_dir, stamp)


def _spawn(exe: str) -> subprocess.Popen[bytes] | OSError:
    """The probe running in ``exe``, or why it could not be started."""
    import subprocess

    try:
        # -I: no PYTHON* variables, no user site, no script directory on sys.path.
        # -B: no bytecode written next to the probe by a target of another version.
        return subprocess.Popen(
            [exe, "-I", "-B", str(_PROBE)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except OSError as exc:
        return exc


def _answer(exe: str, proc: subprocess.Popen[bytes] | OSError | None) -> tuple[Interpreter, str]:
    """The answer, and the resolved path of the executable that actually ran."""
    if proc is None:
        raise UsageError(f"{exe} is a directory, not a Python interpreter")
    if isinstance(proc, OSError):
        raise UsageError(f"{exe} is not a Python interpreter ({proc.strerror or proc})")
    import subprocess

    try:
        stdout, stderr = proc.communicate(timeout=_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise UsageError(
            f"{exe} is not a Python interpreter (no answer within {_TIMEOUT:.0f} s)"
        ) from None
    reason = _last_line(stderr)
    if proc.returncode == _EXIT_UNSUPPORTED and reason:
        raise UsageError(f"{exe} {reason}")
    if proc.returncode != 0:
        detail = f": {reason}" if reason else ""
        raise UsageError(
            f"{exe} is not a Python interpreter (exit status {proc.returncode}{detail})"
        )
    try:
        data = json.loads(stdout)
        ran = data["ran"]
        data["tags"] = list(target_tags(data["tag_facts"], ran or exe))
        data["executable"] = exe
        return Interpreter.from_dict(data), ran
    except (ValueError, KeyError, TypeError):
        raise UsageError(f"{exe} is not a Python interpreter (unexpected answer)") from None


def _last_line(output: bytes) -> str:
    lines = output.decode("utf-8", "replace").strip().splitlines()
    return lines[-1].strip() if lines else ""
