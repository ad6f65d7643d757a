"""Running one command and measuring it: wall time, CPU time and peak memory of the child.

``os.wait4`` returns the child's own resource usage, which on Linux includes
the descendants it waited for (pip ``--python`` re-runs itself in a
subprocess): CPU is the sum over the tree, peak memory the largest single
process of the tree.
"""

from __future__ import annotations

import os
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
        out.flush()
        started = time.perf_counter()
        proc = subprocess.Popen(
            list(map(str, argv)), env=dict(env), cwd=cwd, stdout=out, stderr=subprocess.STDOUT
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    # We reaped the child ourselves; tell Popen so it does not try again.
    proc.returncode = os.waitstatus_to_exitcode(status)
    sample = Sample(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        user=usage.ru_utime,
        system=usage.ru_stime,
        maxrss_mib=_maxrss_mib(usage.ru_maxrss),
        returncode=proc.returncode,
    )
    if check and proc.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        raise CommandFailed(
            f"exit {proc.returncode}: {' '.join(map(str, argv))}\n  " + "\n  ".join(tail)
        )
    return sample


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
