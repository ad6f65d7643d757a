"""Where a cold install's CPU goes: user and kernel time per process, and the kernel's by entry.

    python benchmarks/cpusplit.py [--rounds N] [--tool cachedb --tool uv] [--cachedb-bin DIR]
                                  [--work DIR] [--scratch DIR] [--perf]

Each round runs one cold install of the pinned set from the local index per tool
(alternating, the order turned every round), each into a new cache and venv under
``--scratch`` (default: ``WORK/cpusplit``, the disk the benchmark uses; ``/dev/shm``
takes the file system's state out of the numbers). Nothing is deleted until all
rounds are done: on a file system without a journal, every new inode skips the
inodes freed in the minutes before, so a delete between runs charges the next run.

Without ``--perf`` it prints each run's wall, user and sys (the whole process
tree's rusage) and the medians. With ``--perf`` each run is sampled instead
(``perf record -g -e cpu-clock``, kernel symbols readable as root): per process
(``main``, then its children in the order they were forked, named by command),
user and kernel milliseconds, and the kernel's split by system call or fault.
Sampling costs a little CPU itself, so take totals from a run without it.
``--work`` is the benchmark's input directory (``wheels/``, ``venv/`` with uv), as
``run.py`` made it (default ``benchmarks/work``).
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
FREQ = 999  # samples per second and CPU
_ENTRY = re.compile(r"^(?:__x64_sys_|__do_sys_|__se_sys_)(\w+)|^(asm_exc_page_fault)$")
_FRAME = re.compile(r"^\s*[0-9a-f]+\s+(\S+?)(?:\+0x[0-9a-f]+)?\s+\((.*)\)\s*$")
_FORK = re.compile(r"PERF_RECORD_FORK\((\d+):\d+\):\((\d+):\d+\)")
_COMM = re.compile(r"PERF_RECORD_COMM(?: exec)?: (\S+):(\d+)/")


def _kernel_entry(frames: list[tuple[str, str]]) -> str:
    """The outermost kernel function that names what the process asked for."""
    label = "other"
    for symbol, dso in frames:
        if "kernel" not in dso:
            break
        m = _ENTRY.match(symbol)
        if m:
            label = m.group(1) or "page fault"
        elif symbol == "ksys_write" and label == "other":
            label = "write"
        elif symbol == "ksys_read" and label == "other":
            label = "read"
    return label


def split(data: Path) -> list[tuple[str, float, float, Counter[str]]]:
    """(process, user ms, kernel ms, kernel ms by entry) for each process of a perf file."""
    text = subprocess.run(
        ["perf", "script", "-i", str(data), "--show-task-events", "-F", "pid,tid,ip,sym,dso"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    parent: dict[str, str] = {}
    comm: dict[str, str] = {}
    order: list[str] = []
    user: Counter[str] = Counter()
    kernel: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for block in text.split("\n\n"):
        lines = [line for line in block.splitlines() if line.strip()]
        for line in lines:
            if m := _FORK.search(line):
                child, par = m.groups()
                if child != par and child not in parent:
                    parent[child] = par
                    order.append(child)
            elif m := _COMM.search(line):
                comm[m.group(2)] = m.group(1)  # an exec: the child's new command
        if len(lines) < 2 or "PERF_RECORD" in lines[0]:
            continue
        pid = lines[0].split()[0].split("/")[0]
        frames = [(m.group(1), m.group(2)) for line in lines[1:] if (m := _FRAME.match(line))]
        if not frames:
            continue
        if "kernel" in frames[0][1]:
            kernel[pid][_kernel_entry(frames)] += 1
        else:
            user[pid] += 1
    pids = set(user) | set(kernel)
    roots = [p for p in pids if parent.get(p) not in pids]
    named = {p: "main" for p in roots}
    for i, pid in enumerate([p for p in order if p in pids and p not in named], 1):
        forked = comm.get(pid) or comm.get(parent[pid], "?")  # a fork keeps the command
        named[pid] = f"child {i} ({forked})"
    ms = 1000 / FREQ
    rows = [
        (
            named.get(pid, pid),
            user[pid] * ms,
            sum(kernel[pid].values()) * ms,
            Counter({k: v * ms for k, v in kernel[pid].items()}),
        )
        for pid in pids
    ]
    return sorted(rows, key=lambda r: (r[0] != "main", -(r[1] + r[2])))


def main() -> None:
    sys.path.insert(0, str(HERE))
    import indexserver
    import tools

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tool", action="append", choices=("cachedb", "uv"))
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument("--cachedb-bin", type=Path)
    parser.add_argument("--scratch", type=Path)
    parser.add_argument("--perf", action="store_true", help="sample each run (perf record -g)")
    args = parser.parse_args()
    names = tuple(args.tool or ("cachedb", "uv"))
    work = args.work.resolve()
    bins = {
        "cachedb": (args.cachedb_bin or work / "venv" / "bin").absolute(),
        "uv": work / "venv" / "bin",
    }
    scratch = args.scratch or work / "cpusplit"
    scratch.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(dir=scratch))
    env = tools.clean_env(root)
    totals: defaultdict[str, list[tuple[float, float, float]]] = defaultdict(list)
    with indexserver.IndexServer(work / "wheels") as index:
        source = tools.Source("index", index.url)
        for r in range(args.rounds):
            turn = r % len(names)
            for name in names[turn:] + names[:turn]:
                target, cache = root / f"{name}-{r}-venv", root / f"{name}-{r}-cache"
                tools.make_venv(target)
                argv = tools.install_argv(
                    name, bins[name], target, cache, source, HERE / "requirements.txt"
                )
                data = root / f"{name}-{r}.perf"
                if args.perf:
                    argv = ["perf", "record", "-q", "-g", "-F", str(FREQ), "-e", "cpu-clock",
                            "-o", str(data), "--", *argv]  # fmt: skip
                os.sync()  # the previous run's dirty pages are not this run's to write
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                started = time.perf_counter()
                done = subprocess.run(argv, env=env, capture_output=True, text=True)
                wall = time.perf_counter() - started
                if done.returncode:
                    sys.exit(f"{name} failed ({done.returncode}):\n{done.stderr[-2000:]}")
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime)
                totals[name].append((wall, *cpu))
                load = os.getloadavg()[0]
                print(f"{name} #{r + 1}: wall {wall:.2f} s, user {cpu[0]:.2f} s, "
                      f"sys {cpu[1]:.2f} s (load {load:.1f})")  # fmt: skip
                if args.perf:
                    for process, u, k, entries in split(data):
                        top = ", ".join(f"{e} {v:.0f}" for e, v in entries.most_common(8))
                        print(f"  {process:22} user {u:5.0f} ms  kernel {k:5.0f} ms: {top}")
    for name, runs in totals.items():
        wall, user, sys_ = (statistics.median(x[i] for x in runs) for i in range(3))
        print(
            f"{name} median of {len(runs)}: wall {wall:.2f} s, user {user:.2f} s, sys {sys_:.2f} s"
        )
    print(f"kept {root} (delete it when you are done)")


if __name__ == "__main__":
    main()
