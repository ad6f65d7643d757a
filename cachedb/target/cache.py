"""The on-disk answers in ``<cache>/interpreters-v0``: one JSON file per executable path.

An answer is reused only while the executable (as given and as resolved) and the
environment's ``pyvenv.cfg`` are unchanged, so a warm install never spawns the
target, and an upgraded or recreated environment is asked again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cachedb.target.interpreter import Interpreter

# Bump when the probe's answer changes meaning, so older answers are asked again.
PROBE_FORMAT = 1


def cache_file(cache_dir: Path, executable: str) -> Path:
    import hashlib

    digest = hashlib.sha256(executable.encode("utf-8", "surrogateescape")).hexdigest()
    return cache_dir / f"{digest[:32]}.json"


def stamp_executable(executable: str) -> dict[str, Any] | None:
    """What identifies the executable's current contents; None if it cannot be stat'ed."""
    import packaging

    try:
        given = os.stat(executable, follow_symlinks=False)
        resolved_path = os.path.realpath(executable)
        resolved = os.stat(resolved_path)
    except OSError:
        return None
    return {
        "executable": executable,
        "given": [given.st_mtime_ns, given.st_size],
        "resolved": [resolved_path, resolved.st_mtime_ns, resolved.st_size],
        # The tags list is packaging's answer: a newer packaging may know more tags.
        "probe": [PROBE_FORMAT, packaging.__version__],
    }


def full_stamp(executable_stamp: dict[str, Any], prefix: str) -> dict[str, Any]:
    try:
        cfg: int | None = os.stat(os.path.join(prefix, "pyvenv.cfg")).st_mtime_ns
    except OSError:
        cfg = None
    return {**executable_stamp, "pyvenv_cfg": cfg}


def load(cache_dir: Path, executable: str, executable_stamp: dict[str, Any]) -> Interpreter | None:
    """The cached answer if it is still valid, else None (a missing or damaged file is a miss)."""
    try:
        record = json.loads(cache_file(cache_dir, executable).read_text(encoding="utf-8"))
        answer = Interpreter.from_dict(record["interpreter"])
        stored_stamp = record["stamp"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if stored_stamp != full_stamp(executable_stamp, answer.prefix):
        return None
    return answer


def store(cache_dir: Path, answer: Interpreter, executable_stamp: dict[str, Any]) -> None:
    """Write the answer atomically; a cache that cannot be written only costs speed."""
    record = {
        "stamp": full_stamp(executable_stamp, answer.prefix),
        "interpreter": json.loads(answer.to_json()),
    }
    target = cache_file(cache_dir, answer.executable)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(record, sort_keys=True), encoding="utf-8")
        os.replace(tmp, target)
    except OSError:
        tmp.unlink(missing_ok=True)
