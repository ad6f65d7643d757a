"""The timeline of one cold install, cachedb or uv, from the index server's request log
and (``--strace``) the installer's own syscalls: where the wall time goes.

    python benchmarks/timeline.py --source remote --tool cachedb --tool uv [--strace]

Every tool gets the benchmark's command line (tools.py), an empty cache, a fresh venv
and the pinned requirements. Times are milliseconds after the tool's process started.
The remote-like index needs root (remoteindex.py); ``index`` is the one on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import indexserver  # noqa: E402
import remoteindex  # noqa: E402
import tools  # noqa: E402

WORK = HERE / "work"
# Syscalls that mark the phases: processes, the first connection, durable writes (the
# store's commit), links into the venv, the end. Filtered in the kernel (--seccomp-bpf).
TRACED = "execve,connect,fdatasync,fsync,linkat,exit_group"
BUCKET = 0.2  # seconds, for the throughput line
_LINE = re.compile(r"^(\d+)\s+(\d+\.\d+)\s+(\w+)\((.*)$")


@contextlib.contextmanager
def index(source: str, log: Path) -> Iterator[str]:
    wheels = WORK / "wheels"
    if source == "remote":
        with remoteindex.RemoteIndex(wheels, log=log) as remote:
            yield remote.url
    else:
        with indexserver.IndexServer(wheels, log=log) as server:
            yield server.url


def requests_of(log: Path) -> list[dict[str, Any]]:
    lines = log.read_text().splitlines() if log.exists() else []
    return sorted((json.loads(line) for line in lines), key=lambda r: r["start"])


def syscalls_of(trace: Path) -> list[tuple[int, float, str, str]]:
    out = []
    for line in trace.read_text().splitlines():
        m = _LINE.match(line)
        if m:
            out.append((int(m[1]), float(m[2]), m[3], m[4]))
    return out


def run_once(tool: str, bin_dir: Path, url: str, root: Path, strace: bool) -> dict[str, Any]:
    target, cache = root / f"{tool}-venv", root / f"{tool}-cache"
    tools.make_venv(target)
    source = tools.Source("index", url)
    argv = tools.install_argv(tool, bin_dir, target, cache, source, HERE / "requirements.txt")
    trace = root / f"{tool}.strace"
    if strace:
        argv = ["strace", "-f", "-ttt", "-qq", "--seccomp-bpf", "-e", f"trace={TRACED}",
                "-o", str(trace), *argv]  # fmt: skip
    env = tools.clean_env(root)
    started = time.time()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    ended = time.time()
    if done.returncode:
        sys.exit(f"{tool} failed: {done.stderr[-2000:]}")
    return {
        "started": started,
        "ended": ended,
        "syscalls": syscalls_of(trace) if strace else [],
    }


def _ms(t: float, t0: float) -> str:
    return f"{(t - t0) * 1000:7.0f}"


def report(tool: str, run: dict[str, Any], requests: list[dict[str, Any]]) -> list[str]:
    calls = run["syscalls"]
    t0 = run["started"]
    execs = [c for c in calls if c[2] == "execve"]
    if execs:
        t0 = execs[0][1]  # the tool's own start, after strace's
    lines = [f"== {tool}: wall {(run['ended'] - t0) * 1000:.0f} ms after its execve"]

    def event(t: float, what: str) -> None:
        lines.append(f"  {_ms(t, t0)} ms  {what}")

    for pid, t, _, args in execs[1:]:
        event(t, f"execve [{pid}] {args.split(',')[0][:60]}")
    connects = [c for c in calls if c[2] == "connect" and "AF_INET" in c[3]]
    if connects:
        event(connects[0][1], f"first connect ({len(connects)} in all)")
    pages = [r for r in requests if "/simple/" in r["path"]]
    files = [r for r in requests if "/files/" in r["path"]]
    if pages:
        event(pages[0]["start"], f"first page asked ({pages[0]['path']})")
        event(max(r["end"] for r in pages), f"last page sent ({len(pages)} pages)")
    if files:
        event(files[0]["start"], f"first file asked ({len(files)} files)")
        event(max(r["end"] for r in files), "last file sent")
    ports = {r["port"] for r in requests}
    busy = max((sum(1 for o in requests if o["start"] <= r["start"] < o["end"]) for r in requests),
               default=0)  # fmt: skip
    syncs = [c for c in calls if c[2] in ("fsync", "fdatasync")]
    if syncs:
        event(syncs[0][1], f"first {syncs[0][2]} ({len(syncs)} in all)")
        event(syncs[-1][1], f"last {syncs[-1][2]}")
    links = [c for c in calls if c[2] == "linkat"]
    if links:
        event(links[0][1], f"first linkat ({len(links)} in all)")
        event(links[-1][1], "last linkat")
    exits = [c for c in calls if c[2] == "exit_group"]
    if exits:
        event(exits[-1][1], "last exit_group")
    event(run["ended"], "exit seen by the parent")
    lines.append(f"  connections: {len(ports)}; requests in flight at most: {busy}")
    sizes = {w.name: w.stat().st_size for w in (WORK / "wheels").glob("*.whl")}
    wheels = [r for r in files if r["path"].rsplit("/", 1)[-1] in sizes]
    if wheels:
        rates = _throughput(wheels, sizes, t0)
        lines.append(f"  wheel bytes served per {BUCKET * 1000:.0f} ms, in MiB/s: {rates}")
    big = sorted(wheels, key=lambda r: sizes[r["path"].rsplit("/", 1)[-1]], reverse=True)[:6]
    for r in sorted(big, key=lambda r: r["start"]):
        name = r["path"].rsplit("/", 1)[-1]
        mib = sizes[name] / 1024**2
        rate = mib / max(r["end"] - r["start"], 1e-6)
        lines.append(
            f"    {_ms(r['start'], t0)} - {_ms(r['end'], t0)} ms  {name[:40]} "
            f"({mib:.1f} MiB at {rate:.1f} MiB/s)"
        )
    return lines


def _throughput(files: list[dict[str, Any]], sizes: dict[str, int], t0: float) -> str:
    """Bytes served per bucket of time, each file's spread evenly over its request."""
    buckets: dict[int, float] = {}
    for r in files:
        size = sizes[r["path"].rsplit("/", 1)[-1]]
        span = max(r["end"] - r["start"], 1e-6)
        for k in range(int((r["start"] - t0) / BUCKET), int((r["end"] - t0) / BUCKET) + 1):
            low, high = max(r["start"], t0 + k * BUCKET), min(r["end"], t0 + (k + 1) * BUCKET)
            if high > low:
                buckets[k] = buckets.get(k, 0.0) + size * (high - low) / span
    last = max(buckets, default=-1)
    return " ".join(f"{buckets.get(k, 0.0) / 1024**2 / BUCKET:.0f}" for k in range(last + 1))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--source", choices=("index", "remote"), default="index")
    p.add_argument("--tool", action="append", choices=("cachedb", "uv"), required=True)
    p.add_argument("--bin", type=Path, default=WORK / "venv" / "bin",
                   help="directory holding the tools' executables")  # fmt: skip
    p.add_argument("--cachedb-bin", type=Path, default=None, help="cachedb's, if elsewhere")
    p.add_argument("--strace", action="store_true", help="also trace the tool's phases")
    p.add_argument("--json", type=Path, default=None, help="write the raw timeline here")
    args = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="timeline-"))
    raw: dict[str, Any] = {}
    try:
        for tool in args.tool:
            log = root / f"{tool}.requests"
            with index(args.source, log) as url:
                bin_dir = args.cachedb_bin if tool == "cachedb" and args.cachedb_bin else args.bin
                run = run_once(tool, bin_dir, url, root, args.strace)
            requests = requests_of(log)
            raw[tool] = {**run, "requests": requests}
            print("\n".join(report(tool, run, requests)), flush=True)
        if args.json is not None:
            args.json.write_text(json.dumps(raw))
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
