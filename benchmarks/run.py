"""Benchmark cachedb against uv and pip: ``python benchmarks/run.py [--quick]``.

The first part of this script runs under any Python >= 3.11: it creates its own
venv under ``benchmarks/work/``, installs this checkout of cachedb, the pinned
uv and pip and matplotlib into it, and re-runs itself there. Everything else
(fetching the pinned wheels, the local index, the measurements, the report)
happens inside that venv. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORK = HERE / "work"
BENCH_VENV = WORK / "venv"
RESULTS = HERE / "results"
REQUIREMENTS = HERE / "requirements.txt"
TOOL_REQUIREMENTS = HERE / "tool-requirements.txt"
INSIDE = "CACHEDB_BENCHMARK_VENV"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Benchmark cachedb against uv and pip.")
    p.add_argument("--quick", action="store_true", help="a ~3 minute smoke run (fewer repeats)")
    p.add_argument("--repeats", type=int, help="runs of each (tool, cold/warm) [5; quick: 2]")
    p.add_argument(
        "--sources",
        default=None,
        help="comma-separated: remote,index,find-links [all three; quick: remote]",
    )
    p.add_argument("--no-scaling", action="store_true", help="skip the files-scaling table")
    p.add_argument(
        "--scaling-only",
        action="store_true",
        help="only the files-scaling table (cachedb and uv); results go to work/scaling-only"
        " unless --out",
    )
    p.add_argument(
        "--installs-only",
        action="store_true",
        help="only the install table for --sources (no compile, nothing-to-do, host B, commands,"
        " venv, sdist or scaling sections); results go to work/installs-only unless --out",
    )
    p.add_argument(
        "--tools",
        default="cachedb,uv,pip",
        help="comma-separated tools of the install table [cachedb,uv,pip]",
    )
    p.add_argument(
        "--patience",
        type=float,
        default=30.0,
        help="seconds to wait before each run for other processes to go quiet [30]",
    )
    p.add_argument(
        "--wait-budget",
        type=float,
        default=240.0,
        help="total seconds of such waiting in the whole run [240]",
    )
    p.add_argument("--profile", action="store_true", help="only profile cachedb (see README)")
    p.add_argument("--lock", action="store_true", help="re-pin requirements.txt and stop")
    p.add_argument("--out", type=Path, default=None, help=f"results directory [{RESULTS}]")
    args = p.parse_args(argv)
    names = args.tools.split(",")
    unknown = sorted(set(names) - {"cachedb", "uv", "pip"})
    if unknown or not names:
        p.error(f"unknown tool(s) {', '.join(unknown)}: use cachedb, uv, pip")
    args.tools = tuple(t for t in ("cachedb", "uv", "pip") if t in names)
    if args.installs_only and args.scaling_only:
        p.error("--installs-only and --scaling-only exclude each other")
    if args.out is None:
        # A partial run must not overwrite the full run's results/latest.md.
        partial = "installs-only" if args.installs_only else "scaling-only"
        args.out = WORK / partial if args.installs_only or args.scaling_only else RESULTS
    return args


# -- the benchmark's own venv ------------------------------------------------------


def bootstrap(argv: list[str]) -> None:
    """Create or refresh ``work/venv`` with this checkout of cachedb, then re-run in it."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this part runs under any python3
        sys.exit("the benchmark needs Python 3.11 or newer")
    python = BENCH_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {BENCH_VENV}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    extra = ["py-spy==0.4.3"] if "--profile" in argv else []
    subprocess.run([*pip, "-r", str(TOOL_REQUIREMENTS), *extra], check=True)
    # Always reinstall cachedb (not editable): what is measured is this checkout as users get it.
    print("installing cachedb from this checkout", flush=True)
    subprocess.run([*pip, str(REPO)], check=True)
    subprocess.run([*pip, "--no-deps", "--force-reinstall", str(REPO)], check=True)
    env = dict(os.environ, **{INSIDE: "1"})
    os.execve(str(python), [str(python), str(Path(__file__).resolve()), *argv], env)


# -- pinned wheels -----------------------------------------------------------------


def pinned() -> dict[str, str]:
    out = {}
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            out[name.strip()] = version.strip()
    return out


def lock() -> None:
    """Pin the closure of requirements.in for this interpreter (CPython 3.11, manylinux)."""
    import json
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "-q",
             "--only-binary=:all:", "--report", str(report), "-r", str(HERE / "requirements.in")],
            check=True,
        )  # fmt: skip
        items = json.loads(report.read_text())["install"]

    def canonical(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    pins = sorted(f"{canonical(i['metadata']['name'])}=={i['metadata']['version']}" for i in items)
    header = (
        "# Pinned closure of requirements.in for CPython 3.11 on manylinux x86_64 (wheels only).\n"
        "# Generated by: python benchmarks/run.py --lock\n"
    )
    REQUIREMENTS.write_text(header + "\n".join(pins) + "\n")
    print(f"pinned {len(pins)} distributions in {REQUIREMENTS}")


def fetch_wheels(directory: Path) -> list[Path]:
    """Download the pinned wheels once (``pip download``); later runs reuse them."""
    from packaging.utils import canonicalize_name, parse_wheel_filename

    want = {canonicalize_name(n): v for n, v in pinned().items()}

    def have() -> dict[str, Path]:
        found: dict[str, Path] = {}
        for path in directory.glob("*.whl"):
            name, version, _, _ = parse_wheel_filename(path.name)
            if want.get(name) == str(version):
                found[name] = path
            else:
                path.unlink()  # not pinned (any more): the index must serve exactly the pins
        return found

    directory.mkdir(parents=True, exist_ok=True)
    if set(have()) != set(want):
        print(f"fetching {len(want)} pinned wheels into {directory}", flush=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
             "--only-binary=:all:", "--no-deps", "-d", str(directory), "-r", str(REQUIREMENTS)],
            check=True,
        )  # fmt: skip
    found = have()
    missing = sorted(set(want) - set(found))
    if missing:
        sys.exit(f"pip download did not produce wheels for: {', '.join(missing)}")
    return sorted(found.values())


# -- machine -----------------------------------------------------------------------


def filesystem_of(path: Path) -> str:
    best, fstype = "", "unknown"
    real = str(path.resolve())
    with open("/proc/mounts") as fh:
        for line in fh:
            _dev, mount, kind, *_ = line.split()
            inside = real == mount or real.startswith(mount.rstrip("/") + "/")
            if inside and len(mount) >= len(best):
                best, fstype = mount, kind
    return fstype


def revision() -> str:
    """The checkout measured: commit, plus "+dirty" when the work tree has changes."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True)
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "cachedb")
    return commit + ("+dirty" if dirty else "")


def machine() -> dict[str, Any]:
    model = "unknown CPU"
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as fh:
        mem_kib = int(fh.readline().split()[1])
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    return {
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "nproc": int(nproc) if nproc.isdigit() else None,
        "cpu_model": model,
        "memory_gib": mem_kib / 1024**2,
        "kernel": platform.release(),
        "filesystem": filesystem_of(WORK),
    }


# -- the measurements --------------------------------------------------------------


class Scratch:
    """A new directory for every venv and cache, deleted only once the measuring is over.

    ext4 skips recently deleted inodes when it allocates new ones (``recently_deleted``
    in its inode allocator), so deleting a 10,000-file tree just before the next run
    makes that run's mkdir calls several times slower, and every later run slower
    still. Keeping the trees (~11 GB for a full run) until the end spares every
    measured run that; with too little free space they are deleted at once instead.
    """

    NEEDED = 30 * 1024**3

    def __init__(self, root: Path) -> None:
        self.root = root
        self.logs = root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.defer = shutil.disk_usage(root).free > self.NEEDED
        self._count = 0

    def new(self, name: str) -> Path:
        self._count += 1
        return self.root / f"{self._count:03d}-{name}"

    def done(self, path: Path) -> None:
        if not self.defer:
            shutil.rmtree(path, ignore_errors=True)


def bench_installs(
    sources: list[tuple[Any, Callable[[], int] | None]],
    repeats: int,
    wheels: list[Path],
    scratch: Scratch,
    env: dict[str, str],
    patience: float,
    names: tuple[str, ...],
) -> tuple[dict[str, Any], dict[str, str], int]:
    """Cold then warm install with each of ``names``, ``repeats`` times, in rotating order."""
    import measure
    import tools

    bin_dir = BENCH_VENV / "bin"
    out: dict[str, Any] = {}
    modes: dict[str, str] = {}
    installed_files = 0
    for source, counter in sources:
        phases: dict[str, dict[str, Any]] = {"cold": {}, "warm": {}}
        for by_tool in phases.values():
            for tool in names:
                by_tool[tool] = {"samples": [], "requests": [], "background": []}
        for rep in range(repeats):
            turn = rep % len(names)
            order = names[turn:] + names[:turn]  # no tool always runs first
            for tool in order:
                cache = scratch.new(f"{source.kind}-{tool}-cache")
                for phase in ("cold", "warm"):
                    target = scratch.new(f"{source.kind}-{tool}-{phase}-venv")
                    tools.make_venv(target)
                    entry = phases[phase][tool]
                    entry["background"].append(
                        round(measure.wait_until_quiet(patience=patience), 3)
                    )
                    if counter is not None:
                        counter()
                    argv = tools.install_argv(tool, bin_dir, target, cache, source, REQUIREMENTS)
                    log = scratch.logs / f"{source.kind}-{tool}-{phase}.log"
                    sample = measure.run(argv, env=env, log=log, cwd=scratch.root)
                    entry["samples"].append(sample)
                    entry["requests"].append(counter() if counter else 0)
                    print(
                        f"  {source.kind:10} {phase} {tool:7} #{rep + 1}: {sample.wall:6.2f} s "
                        f"wall, {sample.cpu:6.2f} s CPU, {sample.maxrss_mib:5.0f} MiB",
                        flush=True,
                    )
                    if rep == 0:
                        dists = len(list(tools.site_packages(target).glob("*.dist-info")))
                        if dists != len(wheels):
                            sys.exit(f"{tool} installed {dists} distributions, not {len(wheels)}")
                        installed_files = tools.count_files(tools.site_packages(target))
                        modes[tool] = tools.link_mode_seen(target, "django/__init__.py")
                    scratch.done(target)
                scratch.done(cache)
        out[source.kind] = {
            phase: {
                tool: {
                    "summary": measure.summarize(e["samples"]).to_json(),
                    "samples": [s.to_json() for s in e["samples"]],
                    "index_requests": e["requests"],
                    "background_load": e["background"],
                }
                for tool, e in by_tool.items()
            }
            for phase, by_tool in phases.items()
        }
    return out, modes, installed_files


def bench_commands(
    scratch: Scratch, env: dict[str, str], repeats: int, patience: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``cachedb --help``, and gc and sql on a large synthetic cache."""
    import measure
    import synthetic

    cachedb = str(BENCH_VENV / "bin" / "cachedb")
    root = scratch.new("synthetic") / "cache"
    print("building the synthetic cache (10,000 archives, 1,000,000 file rows)", flush=True)
    started = time.perf_counter()
    syn = synthetic.build_cache(root)
    built = time.perf_counter() - started
    sha_query = f"SELECT count(*) FROM archive_files WHERE sha256 = '{syn.probe_sha256}'"
    top_query = (
        "SELECT name, version, unpacked_size, pointer_count, environment_count "
        "FROM v_archives ORDER BY unpacked_size DESC LIMIT 10"
    )
    cache = ["--cache-dir", str(root)]
    commands: list[tuple[str, list[str], int]] = [
        ("python -c pass", [sys.executable, "-c", "pass"], 10),
        ("cachedb --help", [cachedb, "--help"], 10),
        ("cachedb --version", [cachedb, "--version"], 10),
        ("cachedb gc", [cachedb, "gc", *cache], repeats),
        ("cachedb sql <sha256 lookup>", [cachedb, "sql", *cache, sha_query], repeats),
        ("cachedb sql <v_archives top 10>", [cachedb, "sql", *cache, top_query], repeats),
    ]
    out: dict[str, Any] = {}
    for label, argv, n in commands:
        log = scratch.logs / "commands.log"
        measure.run(argv, env=env, log=log)  # one unmeasured run: page cache and pyc warm
        samples = []
        for _ in range(n):
            measure.wait_until_quiet(patience=patience)
            samples.append(measure.run(argv, env=env, log=log))
        summary = measure.summarize(samples)
        out[label] = {
            "argv": [Path(a).name if i == 0 else a for i, a in enumerate(argv)],
            "summary": summary.to_json(),
            "samples": [s.to_json() for s in samples],
        }
        print(f"  {label:34} {summary.wall * 1000:7.0f} ms (median of {n})", flush=True)
    info = {"archives": syn.archives, "files": syn.files, "build_seconds": round(built, 1)}
    scratch.done(root.parent)
    return out, info


def bench_venvs(
    bin_dir: Path, scratch: Scratch, env: dict[str, str], repeats: int, patience: float
) -> dict[str, Any]:
    """A new venv (no pip) for the same interpreter: ``cachedb venv``, ``uv venv``, the stdlib.

    cachedb's cache is warm (its template made by an unmeasured run), as uv's
    interpreter cache is: what is measured is a user's second and later venvs.
    """
    import measure

    base = os.path.realpath(sys.executable)
    cache = scratch.new("venv-cache")
    tools: dict[str, list[str]] = {
        "cachedb venv": [str(bin_dir / "cachedb"), "venv", "-q", "--python", base,
                         "--cache-dir", str(cache)],
        "uv venv": [str(bin_dir / "uv"), "venv", "-q", "--python", base, "--cache-dir",
                    str(cache / "uv")],
        "python -m venv --without-pip": [base, "-m", "venv", "--without-pip"],
    }  # fmt: skip
    out: dict[str, Any] = {}
    log = scratch.logs / "venv.log"
    for label, argv in tools.items():
        targets = scratch.new(f"venvs-{label.split()[0]}")
        measure.run([*argv, str(targets / "warm-up")], env=env, log=log)
        samples = []
        for i in range(repeats):
            measure.wait_until_quiet(patience=patience)
            samples.append(measure.run([*argv, str(targets / f"env-{i}")], env=env, log=log))
        summary = measure.summarize(samples)
        out[label] = {
            "argv": [Path(argv[0]).name, *argv[1:]],
            "summary": summary.to_json(),
            "samples": [s.to_json() for s in samples],
        }
        print(f"  {label:34} {summary.wall * 1000:7.0f} ms (median of {repeats})", flush=True)
        scratch.done(targets)
    scratch.done(cache)
    return out


def bench_compile(
    bin_dir: Path, url: str, scratch: Scratch, env: dict[str, str], repeats: int, patience: float
) -> dict[str, Any]:
    """Lock the workload's names, unpinned, from the local index with warm page caches:
    ``cachedb compile``, ``uv pip compile`` and pip-tools' ``pip-compile``.

    Each tool's own cache is filled by an unmeasured run first, so what is measured
    is a user's second compile of an unchanged input.
    """
    import measure

    work = scratch.new("compile")
    work.mkdir()
    source = work / "requirements.in"
    source.write_text("".join(f"{name}\n" for name in sorted(pinned())))
    time.sleep(2.5)  # an input file written this instant is not one cachedb remembers
    tools: dict[str, list[str]] = {
        "cachedb compile": [str(bin_dir / "cachedb"), "compile", "-q", str(source), "-i", url,
                            "--cache-dir", str(work / "cachedb-cache")],
        "uv pip compile": [str(bin_dir / "uv"), "pip", "compile", "-q", str(source),
                           "--index-url", url, "--cache-dir", str(work / "uv-cache")],
        "pip-compile": [str(bin_dir / "pip-compile"), "-q", str(source), "--index-url", url,
                        "--trusted-host", urlsplit(url).hostname or "127.0.0.1",
                        "--cache-dir", str(work / "pip-tools-cache"), "--no-strip-extras"],
    }  # fmt: skip
    out: dict[str, Any] = {}
    log = scratch.logs / "compile.log"
    for label, argv in tools.items():
        output = ["-o", str(work / f"{label.split()[0]}.txt")]
        measure.run([*argv, *output], env=env, log=log, cwd=work)  # fills the tool's cache
        # A second unmeasured run sees the output the first wrote (its pins are
        # preferences), as every later run does; cachedb remembers its answer there.
        measure.run([*argv, *output], env=env, log=log, cwd=work)
        out[label] = _timed(label, [[*argv, *output]] * repeats, env, log, patience, work)
        if label == "cachedb compile":
            # The same request with its memo removed first: the full compile, which is
            # what a run after any change to inputs, pages or target costs.
            fresh = _forgetting(work / "cachedb-cache", "compile-", [*argv, *output])
            name = "cachedb compile, not remembered"
            out[name] = _timed(name, [fresh] * repeats, env, log, patience, work)
    scratch.done(work)
    return out


def _forgetting(cache: Path, prefix: str, argv: list[str]) -> list[str]:
    """``argv`` run after deleting cachedb's remembered answers (``<prefix>*.json``) in
    ``cache``, by a shell (a millisecond of its own start-up is counted)."""
    script = 'rm -f "$0"/interpreters-v0/*/' + prefix + '*.json && exec "$@"'
    return ["/bin/sh", "-c", script, str(cache), *argv]


def _timed(
    label: str,
    argvs: list[list[str]],
    env: dict[str, str],
    log: Path,
    patience: float,
    cwd: Path | None = None,
) -> dict[str, Any]:
    """One measured run per argv (each after the machine went quiet), as a commands entry."""
    import measure

    samples = []
    for argv in argvs:
        measure.wait_until_quiet(patience=patience)
        samples.append(measure.run(argv, env=env, log=log, cwd=cwd))
    summary = measure.summarize(samples)
    print(f"  {label:34} {summary.wall * 1000:7.0f} ms (median of {len(argvs)})", flush=True)
    first = argvs[0]
    return {
        "argv": [Path(first[0]).name, *first[1:]],
        "summary": summary.to_json(),
        "samples": [s.to_json() for s in samples],
    }


def bench_nothing_to_do(
    source: Any, scratch: Scratch, env: dict[str, str], repeats: int, patience: float
) -> dict[str, Any]:
    """``install`` of one package the environment already has, from a filled cache.

    The environment holds the whole pinned set (installed by the tool itself, whose
    cache is then warm); what is measured is the user's "is it there?" run.
    """
    import measure
    import tools

    bin_dir = BENCH_VENV / "bin"
    name, version = next(iter(sorted(pinned().items())))
    one = scratch.new("nothing.txt")
    one.write_text(f"{name}=={version}\n")
    log = scratch.logs / "nothing.log"
    out: dict[str, Any] = {}
    for tool in ("cachedb", "uv"):
        cache = scratch.new(f"nothing-{tool}-cache")
        target = scratch.new(f"nothing-{tool}-venv")
        tools.make_venv(target)
        measure.run(tools.install_argv(tool, bin_dir, target, cache, source, REQUIREMENTS),
                    env=env, log=log, cwd=scratch.root)  # fmt: skip
        argv = tools.install_argv(tool, bin_dir, target, cache, source, one)
        # A user's check comes later than 2 s after the install: cachedb remembers a
        # nothing-to-do answer only on an environment that has settled that long.
        time.sleep(2.5)
        measure.run(argv, env=env, log=log, cwd=scratch.root)  # page cache and pyc warm
        label = f"{tool} install, nothing to do"
        out[label] = _timed(label, [argv] * repeats, env, log, patience, scratch.root)
        if tool == "cachedb":
            fresh = _forgetting(cache, "noop-", argv)
            name = "cachedb install, nothing to do, not remembered"
            out[name] = _timed(name, [fresh] * repeats, env, log, patience, scratch.root)
    return out


def bench_sdist(
    scratch: Scratch, env: dict[str, str], repeats: int, patience: float
) -> dict[str, Any]:
    """Cold install (empty cache, fresh venv) of a pure-Python package that has only an sdist.

    Both tools build it in an isolated environment with its backend (flit_core),
    installed from the same find-links directory.
    """
    import measure
    import synthetic
    import tools

    bin_dir = BENCH_VENV / "bin"
    directory = WORK / "sdist-only"
    synthetic.build_sdist(directory)
    if not list(directory.glob("flit_core-*.whl")):
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
             "--only-binary=:all:", "--no-deps", "-d", str(directory), synthetic.FLIT_CORE],
            check=True,
        )  # fmt: skip
    source = tools.Source("find-links", str(directory))
    req = scratch.new("sdist.txt")
    req.write_text(f"{synthetic.SDIST_NAME}=={synthetic.SDIST_VERSION}\n")
    log = scratch.logs / "sdist.log"
    out: dict[str, Any] = {}
    runs: dict[str, list[list[str]]] = {"cachedb": [], "uv": []}
    for _ in range(repeats + 1):
        for tool in runs:
            target = scratch.new(f"sdist-{tool}-venv")
            tools.make_venv(target)
            cache = scratch.new(f"sdist-{tool}-cache")
            runs[tool].append(tools.install_argv(tool, bin_dir, target, cache, source, req))
    for tool, argvs in runs.items():
        measure.run(argvs[0], env=env, log=log, cwd=scratch.root)  # pyc and page cache warm
        label = f"{tool} install, sdist only, cold"
        out[label] = _timed(label, argvs[1:], env, log, patience, scratch.root)
    return out


def fit(xs: list[float], ys: list[float]) -> dict[str, float]:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    intercept = my - slope * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - intercept - slope * x) ** 2 for x, y in zip(xs, ys, strict=True))
    return {"slope": slope, "intercept": intercept, "r2": 1 - ss_res / ss_tot if ss_tot else 1.0}


def scaling_turns(
    sizes: list[int], repeats: int, names: tuple[str, ...]
) -> list[tuple[int, str, str]]:
    """(files, phase, tool) of every run of the scaling table, in the order they run.

    First every cold install (each fills the cache its warm runs use), then
    ``repeats`` rounds of one warm install of every (size, tool): the sizes up in
    one round and down in the next, the tools taking turns at going first. Whatever
    state of the machine comes and goes (new inodes made dear by files deleted
    shortly before, write-back, other processes' load) then falls on one run of
    many points, which the median drops, and on both tools alike. Run as blocks
    (all runs of one size, and of one tool within it, cachedb first), such a
    state moved one tool's whole point and bent its line.
    """
    turns = []
    for i, n in enumerate(sizes):
        turn = i % len(names)
        turns += [(n, "cold", tool) for tool in names[turn:] + names[:turn]]
    for r in range(repeats):
        for n in sizes if r % 2 == 0 else sizes[::-1]:
            turn = (r + sizes.index(n)) % len(names)
            turns += [(n, "warm", tool) for tool in names[turn:] + names[:turn]]
    return turns


# ext4 without a journal (the benchmark machine's root filesystem) skips, for every inode
# it allocates, each free inode of the group deleted less than 60 s ago (its inode table
# written back; 360 s while not) one by one: a cold install of the 5,000-file wheel right
# after 5,000 deletes spent 2.7x its system time. The sections before this one delete
# (the build environments of the sdist line); its own runs delete a few temporary files each.
RECENTLY_DELETED = 61.0


def bench_scaling(
    sizes: list[int], repeats: int, scratch: Scratch, env: dict[str, str], patience: float
) -> dict[str, Any]:
    """Cold and warm install of one wheel of N files (cachedb and uv; pip has no warm path)."""
    import measure
    import synthetic
    import tools

    bin_dir = BENCH_VENV / "bin"
    wheel_dir = WORK / "scaling-wheels"
    names = ("cachedb", "uv")
    reqs: dict[int, Path] = {}
    sources: dict[int, Any] = {}
    caches: dict[tuple[int, str], Path] = {}
    for n in sizes:
        wheel = synthetic.build_wheel(wheel_dir / str(n), n)
        reqs[n] = scratch.root / f"scale-{n}.txt"
        reqs[n].write_text(f"{synthetic.scaling_name(n)}==1.0\n")
        sources[n] = tools.Source("find-links", str(wheel.parent))
    # Files deleted before this section must no longer slow the inodes its runs make.
    os.sync()
    time.sleep(RECENTLY_DELETED)
    runs: dict[tuple[int, str], dict[str, list[Any]]] = {
        (n, tool): {"cold": [], "warm": [], "warm_cpu": [], "background": []}
        for n in sizes
        for tool in names
    }
    for n, phase, tool in scaling_turns(sizes, repeats, names):
        cache = caches.setdefault((n, tool), scratch.new(f"scale-{n}-{tool}-cache"))
        target = scratch.new(f"scale-{n}-{tool}-venv")
        tools.make_venv(target)
        argv = tools.install_argv(tool, bin_dir, target, cache, sources[n], reqs[n])
        log = scratch.logs / f"scaling-{tool}.log"
        load = measure.wait_until_quiet(patience=patience)
        sample = measure.run(argv, env=env, log=log, cwd=scratch.root)
        got = runs[n, tool]
        got[phase].append(sample.wall)
        print(f"  {n:6} files {tool:7} {phase}: {sample.wall:6.2f} s", flush=True)
        if phase == "warm":
            # CPU (user, system) and the background load of each warm run, to tell a
            # slower run from a busier machine.
            got["warm_cpu"].append((round(sample.user, 4), round(sample.system, 4)))
            got["background"].append(round(load, 3))
        scratch.done(target)
    rows = []
    for n in sizes:
        row: dict[str, Any] = {"files": n, "tools": {}}
        for tool in names:
            got = runs[n, tool]
            scratch.done(caches[n, tool])
            warm = sorted(got["warm"])[len(got["warm"]) // 2]
            row["tools"][tool] = {
                "cold": got["cold"][0],
                "warm": warm,
                "warm_samples": got["warm"],
                "warm_cpu": got["warm_cpu"],
                "background": got["background"],
            }
        rows.append(row)
    files = [r["files"] for r in rows]
    fits = {tool: fit(files, [r["tools"][tool]["warm"] for r in rows]) for tool in names}
    # The same fit of CPU time (user + system): what each tool did, whatever else ran.
    cpu_fits = {
        tool: fit(files, [statistics.median(map(sum, r["tools"][tool]["warm_cpu"])) for r in rows])
        for tool in names
    }
    return {"rows": rows, "fits": fits, "cpu_fits": cpu_fits, "repeats": repeats}


def scaling_only(
    args: argparse.Namespace,
    scratch: Scratch,
    env: dict[str, str],
    started: float,
    load_start: list[float],
) -> None:
    """``--scaling-only``: the files-scaling table alone, reported in ``args.out``."""
    import report
    import tools

    sizes = [1000, 5000, 10000] if args.quick else [1000, 5000, 10000, 20000]
    repeats = args.repeats or (2 if args.quick else 5)
    versions = tools.versions(BENCH_VENV / "bin", env)
    print(f"tools: {versions}\nscaling: {sizes}", flush=True)
    scaling = bench_scaling(sizes, repeats, scratch, env, args.patience)
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "revision": revision(),
        "loadavg_start": load_start,
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "command": "python benchmarks/run.py " + " ".join(sys.argv[1:]),
        "machine": machine(),
        "versions": versions,
        "cleanup": "deferred to the end" if scratch.defer else "after each run (low disk)",
        "scaling": scaling,
        "elapsed": time.perf_counter() - started,
    }
    report.write_scaling(results, args.out)
    print(f"removing {scratch.root}", flush=True)
    shutil.rmtree(scratch.root, ignore_errors=True)
    print(f"\n{report.scaling_markdown(results)}")
    print(f"wrote {args.out}/latest.md, latest.json")


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    if args.lock:
        lock()
        return
    if os.environ.get(INSIDE) != "1":
        bootstrap(argv)  # does not return
    sys.path.insert(0, str(HERE))
    import indexserver
    import report
    import tools

    if args.profile:
        import profile_install

        profile_install.main(WORK, fetch_wheels(WORK / "wheels"), REQUIREMENTS, args.out)
        return
    # SIGTERM unwinds like Ctrl-C, so the tool being measured is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    import measure

    measure.set_wait_budget(args.wait_budget)
    started = time.perf_counter()
    # Other work on the machine skews every number: the report shows the load around the run.
    load_start = [round(x, 2) for x in os.getloadavg()]
    repeats = args.repeats or (2 if args.quick else 5)
    few = 3 if args.quick else 5
    kinds = (args.sources or ("remote" if args.quick else "remote,index,find-links")).split(",")
    shutil.rmtree(WORK / "run", ignore_errors=True)
    scratch = Scratch(WORK / "run")
    env = tools.clean_env(scratch.root)
    if args.scaling_only:
        scaling_only(args, scratch, env, started, load_start)
        return
    wheels = fetch_wheels(WORK / "wheels")
    bin_dir = BENCH_VENV / "bin"
    versions = tools.versions(bin_dir, env)
    print(f"tools: {versions}", flush=True)

    import remoteindex

    no_remote = remoteindex.available() if "remote" in kinds else None
    if no_remote:
        print(f"no remote-like index ({no_remote}): measuring the local one only", flush=True)
        kinds = [k for k in kinds if k != "remote"] or ["index"]
    remote_info = None
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(indexserver.IndexServer(WORK / "wheels"))
        remote = None
        if "remote" in kinds:
            remote = stack.enter_context(remoteindex.RemoteIndex(WORK / "wheels"))
            remote_info = remote.describe()
            print(f"remote-like index: {remote.url} ({remote_info})", flush=True)
        sources: list[tuple[tools.Source, Callable[[], int] | None]] = []
        for kind in kinds:
            if kind == "remote" and remote is not None:
                sources.append((tools.Source("remote", remote.url), remote.take_count))
            elif kind == "index":
                sources.append((tools.Source("index", server.url), server.take_count))
            elif kind == "find-links":
                sources.append((tools.Source("find-links", str(WORK / "wheels")), None))
            else:
                sys.exit(f"unknown source {kind!r}: use remote, index or find-links")
        print(f"installing {len(wheels)} distributions, {repeats} runs each", flush=True)
        installs, modes, files = bench_installs(
            sources, repeats, wheels, scratch, env, args.patience, args.tools
        )
        compiles: dict[str, Any] = {}
        nothing: dict[str, Any] = {}
        if not args.installs_only:
            # The users' path: the remote-like index where there is one.
            url = remote.url if remote is not None else server.url
            print("compile", flush=True)
            compiles = bench_compile(bin_dir, url, scratch, env, few, args.patience)
            print("nothing to do", flush=True)
            nothing = bench_nothing_to_do(sources[0][0], scratch, env, few, args.patience)
            print("remote", flush=True)
            import remote_line  # cold install on host B from the remote vs from the index

            compiles.update(
                remote_line.bench_remote(
                    bin_dir,
                    server.url,
                    REQUIREMENTS,
                    scratch.new("remote"),
                    env,
                    few,
                    args.patience,
                    keep=scratch.defer,
                )  # fmt: skip
            )

    commands: dict[str, Any] = {}
    synthetic_info = None
    scaling = None
    if not args.installs_only:
        print("commands", flush=True)
        commands, synthetic_info = bench_commands(scratch, env, few, args.patience)
        print("venv", flush=True)
        commands.update(bench_venvs(bin_dir, scratch, env, few, args.patience))
        commands.update(compiles)
        commands.update(nothing)
        print("sdist only", flush=True)
        commands.update(bench_sdist(scratch, env, few, args.patience))
        if not args.no_scaling:
            sizes = [1000, 5000, 10000] if args.quick else [1000, 5000, 10000, 20000]
            print(f"scaling: {sizes}", flush=True)
            scaling = bench_scaling(sizes, 2 if args.quick else 5, scratch, env, args.patience)

    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "revision": revision(),
        "loadavg_start": load_start,
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
        "command": "python benchmarks/run.py " + " ".join(argv),
        "machine": machine(),
        "versions": versions,
        "repeats": repeats,
        "link_modes": ", ".join(f"{t} {m}" for t, m in modes.items()),
        "cleanup": "deferred to the end" if scratch.defer else "after each run (low disk)",
        "remote_index": remote_info or (f"not measured: {no_remote}" if no_remote else None),
        "workload": {
            "distributions": len(wheels),
            "installed_files": files,
            "wheel_mib": sum(w.stat().st_size for w in wheels) / 1024**2,
        },
        "install": installs,
        "commands": commands,
        "synthetic": synthetic_info,
        "scaling": scaling,
    }
    results["elapsed"] = time.perf_counter() - started
    report.write(results, args.out)
    print(f"removing {scratch.root}", flush=True)
    shutil.rmtree(scratch.root, ignore_errors=True)
    print(f"\n{report.markdown(results)}")
    print(f"wrote {args.out}/latest.md, latest.json, latest.png")


if __name__ == "__main__":
    main(sys.argv[1:])
