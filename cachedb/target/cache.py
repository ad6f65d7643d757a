"""The on-disk answers in ``<cache>/interpreters-v0``: one JSON file per executable path.

An answer is reused only while the executable (as given and as resolved) and the
environment's ``pyvenv.cfg`` are unchanged, so a warm install never spawns the
target, and an upgraded or recreated environment is asked again. An answer is
kept only when the interpreter that ran is the executable itself (its resolved
path is the resolved ``sys.executable``): a shim or wrapper script that execs
another Python can lead elsewhere next time without changing, so it is asked
on every run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from cachedb._digest import sha256_hex
from cachedb._memo import read_memo
from cachedb.target.interpreter import Interpreter

TYPE_CHECKING = False  # typing's, without importing typing (about 12M instructions)
if TYPE_CHECKING:
    from typing import Any

# Bump when the probe's answer changes meaning, so older answers are asked again.
PROBE_FORMAT = 2


def cache_file(cache_dir: Path, executable: str) -> Path:
    digest = sha256_hex(executable.encode("utf-8", "surrogateescape"))
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
        # Tags are computed here by packaging from the probe's facts: a newer one may know more.
        "probe": [PROBE_FORMAT, packaging.__version__],
    }


def ran_itself(executable_stamp: dict[str, Any], ran: str) -> bool:
    """Whether the interpreter that answered (``ran``: its resolved ``sys.executable``)
    is the executable stamped, rather than one a shim or wrapper led to."""
    return bool(ran) and ran == executable_stamp["resolved"][0]


def full_stamp(executable_stamp: dict[str, Any], prefix: str) -> dict[str, Any]:
    try:
        cfg: int | None = os.stat(os.path.join(prefix, "pyvenv.cfg")).st_mtime_ns
    except OSError:
        cfg = None
    return {**executable_stamp, "pyvenv_cfg": cfg}


def load(cache_dir: Path, executable: str, executable_stamp: dict[str, Any]) -> Interpreter | None:
    """The cached answer if it is still valid, else None (a missing or damaged file is a miss)."""
    try:
        record: Any = read_memo(cache_file(cache_dir, executable))
        answer = Interpreter.from_dict(record["interpreter"])
        stored_stamp = record["stamp"]
        ran = record["ran"]["executable"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if stored_stamp != full_stamp(executable_stamp, answer.prefix):
        return None
    if not ran_itself(executable_stamp, ran):
        return None
    return answer


def identity(answer: Interpreter, ran: str) -> dict[str, str]:
    """What actually ran: the resolved ``sys.executable``, its version and platform."""
    markers = answer.markers
    return {
        "executable": ran,
        "version": answer.version,
        "implementation": markers.get("implementation_name", ""),
        "platform": f"{markers.get('sys_platform', '')}-{markers.get('platform_machine', '')}",
    }


def store(cache_dir: Path, answer: Interpreter, executable_stamp: dict[str, Any], ran: str) -> None:
    """Write the answer atomically; a cache that cannot be written only costs speed.

    Nothing is written for a shim (``ran`` is not the executable stamped).
    """
    if not ran_itself(executable_stamp, ran):
        return
    record = {
        "stamp": full_stamp(executable_stamp, answer.prefix),
        "ran": identity(answer, ran),
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


# -- fresh virtual environments ------------------------------------------------------
#
# Every new venv has a new executable path, so the per-path answer above always
# misses for it. But a venv answers exactly like any other venv of the same base
# interpreter, apart from its prefix; so one answer per base interpreter, with the
# scheme stored relative to the prefix, serves every fresh venv without a spawn.

_PREFIX = "{prefix}"


def venv_prefix(executable: str) -> str | None:
    """The venv directory holding ``executable`` (``<venv>/bin/python``), or None."""
    prefix = os.path.dirname(os.path.dirname(executable))
    return prefix if os.path.isfile(os.path.join(prefix, "pyvenv.cfg")) else None


def _template_file(cache_dir: Path, executable_stamp: dict[str, Any]) -> Path:
    base = executable_stamp["resolved"][0].encode("utf-8", "surrogateescape")
    return cache_dir / f"venv-{sha256_hex(base)[:32]}.json"


def store_template(
    cache_dir: Path, answer: Interpreter, executable_stamp: dict[str, Any], ran: str
) -> None:
    """Keep a venv's answer with its prefix abstracted, for other venvs of the same base."""
    if not ran_itself(executable_stamp, ran):
        return
    prefix = answer.prefix.rstrip(os.sep)
    inside = all(p == prefix or p.startswith(prefix + os.sep) for p in answer.scheme.values())
    if not answer.is_venv or not inside:
        return
    scheme = {k: _PREFIX + v[len(prefix) :] for k, v in answer.scheme.items()}
    record = {
        "base": [executable_stamp["resolved"], executable_stamp["probe"]],
        "executable_name": os.path.relpath(answer.executable, answer.prefix),
        "interpreter": {**json.loads(answer.to_json()), "scheme": scheme},
    }
    target = _template_file(cache_dir, executable_stamp)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        tmp.write_text(json.dumps(record, sort_keys=True), encoding="utf-8")
        os.replace(tmp, target)
    except OSError:
        tmp.unlink(missing_ok=True)


def derive(
    cache_dir: Path, executable: str, executable_stamp: dict[str, Any]
) -> Interpreter | None:
    """The answer for a venv never asked before, from its base interpreter's template."""
    prefix = venv_prefix(executable)
    if prefix is None:
        return None
    try:
        record: Any = read_memo(_template_file(cache_dir, executable_stamp))
        if record["base"] != [executable_stamp["resolved"], executable_stamp["probe"]]:
            return None
        if os.path.relpath(executable, prefix) != record["executable_name"]:
            return None
        data = record["interpreter"]
        data["scheme"] = {k: prefix + v[len(_PREFIX) :] for k, v in data["scheme"].items()}
        data.update(executable=executable, prefix=prefix)
        return Interpreter.from_dict(data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
