"""Running one command and measuring it: wall time, CPU time and peak memory of the child.

``os.wait4`` returns the child's own resource usage, which on Linux includes
the descendants it waited for (pip ``--python`` re-runs itself in a
subprocess): CPU is the sum over the tree, peak memory the largest single
process of the tree. The wall time includes fork and exec, as a shell's would.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    wall: float  # seconds
    cpu: float  # user + system seconds of the child and its waited-for descendants
    user: float
    system: float
    maxrss_mib: float  # peak resident set of the largest process in the tree
    returncode: int

    def to_json(self) -> dict[str, float]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


class CommandFailed(RuntimeError):
    pass


def _maxrss_mib(ru_maxrss: int) -> float:
    # Linux reports KiB, macOS bytes.
    return ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else ru_maxrss / 1024


# The tools are started by this small process, not by the benchmark itself: at exec,
# Linux records the peak RSS of the memory the child was forked with (its parent's)
# as the child's own, so a child of a 300 MiB benchmark would never report less.
_LAUNCHER = """
import json, os, sys, time
for line in sys.stdin:
    job = json.loads(line)
    fd = os.open(job["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            if job["cwd"]:
                os.chdir(job["cwd"])
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.execvpe(job["argv"][0], job["argv"], job["env"])
        finally:
            os._exit(127)
    os.close(fd)
    print(json.dumps({"pid": pid}), flush=True)
    _, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    print(json.dumps({"wall": wall, "status": status, "utime": ru.ru_utime,
                      "stime": ru.ru_stime, "maxrss": ru.ru_maxrss}), flush=True)
"""
_launcher: subprocess.Popen[str] | None = None


def _launch(job: Mapping[str, object]) -> dict[str, float]:
    global _launcher
    if _launcher is None or _launcher.poll() is not None:
        # -S: no site, so the launcher stays a few MiB (the floor of every peak we report).
        _launcher = subprocess.Popen(
            [sys.executable, "-S", "-c", _LAUNCHER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
    assert _launcher.stdin is not None and _launcher.stdout is not None
    _launcher.stdin.write(json.dumps(job) + "\n")
    _launcher.stdin.flush()
    pid = json.loads(_launcher.stdout.readline())["pid"]
    try:
        result: dict[str, float] = json.loads(_launcher.stdout.readline())
    except BaseException:
        # Interrupted (Ctrl-C, SIGTERM): leave no tool running behind us.
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _launcher.kill()
        raise
    return result


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str],
    log: Path,
    cwd: Path | None = None,
    check: bool = True,
) -> Sample:
    """Run ``argv`` to completion with output to ``log``; raise CommandFailed if it fails."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        out.write(f"$ {' '.join(map(str, argv))}\n".encode())
    job = {
        "argv": [str(a) for a in argv],
        "env": dict(env),
        "cwd": str(cwd) if cwd else None,
        "log": str(log),
    }
    got = _launch(job)
    returncode = os.waitstatus_to_exitcode(int(got["status"]))
    sample = Sample(
        wall=got["wall"],
        cpu=got["utime"] + got["stime"],
        user=got["utime"],
        system=got["stime"],
        maxrss_mib=_maxrss_mib(int(got["maxrss"])),
        returncode=returncode,
    )
    if check and returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise CommandFailed(
            f"exit {returncode}: {' '.join(map(str, argv))}\n  " + "\n  ".join(tail)
        )
    return sample


def _cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat.

    iowait counts as busy: it means another process is waiting on the disk,
    which an install (all mkdir, link and write) would then have to share.
    """
    with open("/proc/stat") as fh:
        fields = [float(x) for x in fh.readline().split()[1:]]
    idle = fields[3]
    return sum(fields) - idle, sum(fields)


def background_load(interval: float = 0.5) -> float:
    """Share of all CPUs busy over ``interval`` while we do nothing (0.0 when unknown)."""
    try:
        busy0, total0 = _cpu_times()
        time.sleep(interval)
        busy1, total1 = _cpu_times()
    except (OSError, ValueError, IndexError):
        return 0.0
    return (busy1 - busy0) / (total1 - total0) if total1 > total0 else 0.0


_wait_budget = [300.0]  # seconds of waiting left for the whole run


def set_wait_budget(seconds: float) -> None:
    _wait_budget[0] = seconds


def wait_until_quiet(threshold: float = 0.15, patience: float = 30.0) -> float:
    """Wait (up to ``patience`` seconds) until other processes leave the CPUs mostly idle.

    Returns the last measured background load, which the report keeps per sample:
    other work on a 2-core machine easily doubles an install's wall time. The
    waiting of a whole run is capped (``set_wait_budget``) so that a machine that
    never goes quiet still gets a result in bounded time.

    First the page cache is written back (``sync``): a cold install leaves some
    200 MB of dirty pages, and whichever tool ran next paid for writing them
    (measured: a warm install of uv or cachedb right after a cold one took 2-3x
    its usual time, all of it in the kernel).
    """
    started = time.monotonic()
    os.sync()
    deadline = started + min(patience, _wait_budget[0])
    load = background_load()
    while load > threshold and time.monotonic() < deadline:
        time.sleep(1.0)
        load = background_load()
    _wait_budget[0] = max(0.0, _wait_budget[0] - (time.monotonic() - started))
    return load


@dataclass(frozen=True)
class Summary:
    n: int
    wall: float  # medians
    cpu: float
    maxrss_mib: float
    wall_min: float
    wall_max: float

    def to_json(self) -> dict[str, float]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def summarize(samples: Sequence[Sample]) -> Summary:
    walls = [s.wall for s in samples]
    return Summary(
        n=len(samples),
        wall=statistics.median(walls),
        cpu=statistics.median(s.cpu for s in samples),
        maxrss_mib=statistics.median(s.maxrss_mib for s in samples),
        wall_min=min(walls),
        wall_max=max(walls),
    )
