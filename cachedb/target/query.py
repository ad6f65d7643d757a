"""Asking a target interpreter what it is, once per executable thanks to ``cache``."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from cachedb.errors import UsageError
from cachedb.target import cache
from cachedb.target.interpreter import Interpreter

_PROBE = Path(__file__).with_name("_probe.py")
_EXIT_UNSUPPORTED = 3  # mirrors _probe.EXIT_UNSUPPORTED
_TIMEOUT = 60.0


def query_interpreter(executable: str | Path, cache_dir: Path | None = None) -> Interpreter:
    """Markers, tags and scheme paths of ``executable``, computed by it.

    With ``cache_dir`` (``<cache>/interpreters-v0``) a valid earlier answer is
    returned without spawning anything.
    """
    exe = str(Path(executable).expanduser().absolute())
    if cache_dir is None:
        return _ask(exe)
    # Stat before asking: if the interpreter changes while it answers, the
    # stored stamp is already stale and the next call asks again.
    stamp = cache.stamp_executable(exe)
    if stamp is None:
        return _ask(exe)  # raises the user-facing error for a missing path
    hit = cache.load(cache_dir, exe, stamp)
    if hit is not None:
        return hit
    derived = cache.derive(cache_dir, exe, stamp)
    if derived is not None:
        cache.store(cache_dir, derived, stamp)
        return derived
    answer = _ask(exe)
    cache.store(cache_dir, answer, stamp)
    cache.store_template(cache_dir, answer, stamp)
    return answer


def _ask(exe: str) -> Interpreter:
    import packaging

    # The target rarely has packaging; it imports cachedb's copy from here.
    location = os.path.dirname(os.path.dirname(os.path.abspath(packaging.__file__)))
    if os.path.isdir(exe):
        raise UsageError(f"{exe} is a directory, not a Python interpreter")
    try:
        # -I: no PYTHON* variables, no user site, no script directory on sys.path.
        # -B: a target of another version must not write bytecode into cachedb's packaging.
        proc = subprocess.run(
            [exe, "-I", "-B", str(_PROBE), location],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise UsageError(
            f"{exe} is not a Python interpreter (no answer within {_TIMEOUT:.0f} s)"
        ) from None
    except OSError as exc:
        raise UsageError(f"{exe} is not a Python interpreter ({exc.strerror or exc})") from None
    reason = _last_line(proc.stderr)
    if proc.returncode == _EXIT_UNSUPPORTED and reason:
        raise UsageError(f"{exe} {reason}")
    if proc.returncode != 0:
        detail = f": {reason}" if reason else ""
        raise UsageError(
            f"{exe} is not a Python interpreter (exit status {proc.returncode}{detail})"
        )
    try:
        data = json.loads(proc.stdout)
        if isinstance(data, dict):
            data["executable"] = exe
        return Interpreter.from_dict(data)
    except ValueError:
        raise UsageError(f"{exe} is not a Python interpreter (unexpected answer)") from None


def _last_line(output: bytes) -> str:
    lines = output.decode("utf-8", "replace").strip().splitlines()
    return lines[-1].strip() if lines else ""
