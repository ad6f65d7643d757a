"""Where a cachedb install spends its time: ``python benchmarks/run.py --profile``.

One cold and one warm install of the pinned set from the local index, each
looked at three ways, in separate runs so that one tool does not distort the
other's numbers:

- py-spy samples every thread (the link and unpack pools included) without
  slowing the interpreter much: inclusive samples per cachedb function, self
  samples per function, and the share spent importing;
- an audit hook counts the operations that cost system calls or round trips:
  files opened, links, directories, renames, subprocesses, SQLite
  connections, and every SQL statement (a trace callback on each connection);
- ``-X importtime`` (warm run) lists what the warm path imports and its cost.

Writes ``results/profile.md`` (the summary) and the raw data under
``work/profile/``. This file is also the counting driver: ``python
profile_install.py --count OUT.json -- ARGS...`` runs ``cachedb ARGS`` counted.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

AUDITED = {
    "open": "files opened",
    "os.link": "hard links",
    "os.symlink": "symlinks",
    "os.mkdir": "directories created",
    "os.rename": "renames/replaces",
    "os.remove": "files removed",
    "os.rmdir": "directories removed",
    "os.listdir": "directory listings",
    "os.scandir": "directory scans",
    "os.chmod": "chmods",
    "shutil.copyfile": "file copies",
    "subprocess.Popen": "subprocesses",
    "sqlite3.connect": "SQLite connections",
}
WATCH_MODULES = ("httpx", "rich", "resolvelib", "alembic", "sqlalchemy", "pydantic", "typer")


# -- the counting driver (runs inside the child) ------------------------------------


def count_main(out: Path, args: list[str]) -> None:
    """Run ``cachedb *args`` in this process, counting audited operations and SQL."""
    counts: Counter[str] = Counter()
    sql: Counter[str] = Counter()

    def on_sql(statement: str) -> None:
        sql[statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"] += 1

    def hook(event: str, hook_args: tuple[Any, ...]) -> None:
        if event in AUDITED:
            counts[event] += 1

    import sqlite3

    connect = sqlite3.connect

    def traced_connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        # Both SQLAlchemy's dialect and plain sqlite3 users look sqlite3.connect up per call.
        conn: sqlite3.Connection = connect(*args, **kwargs)
        conn.set_trace_callback(on_sql)
        return conn

    sqlite3.connect = traced_connect  # type: ignore[assignment]
    sys.addaudithook(hook)
    sys.argv = ["cachedb", *args]
    started = time.perf_counter()
    code: object = 0
    try:
        from cachedb.cli import main

        main()
    except SystemExit as exc:
        code = exc.code
    wall = time.perf_counter() - started
    loaded = sorted({m.split(".")[0] for m in sys.modules})
    out.write_text(
        json.dumps(
            {
                "exit": code,
                "wall": wall,
                "operations": dict(counts),
                "sql": dict(sql),
                "watched_modules_loaded": [m for m in WATCH_MODULES if m in loaded],
                "modules_loaded": len(sys.modules),
            },
            indent=2,
        )
    )


# -- reading the data ---------------------------------------------------------------


def read_pyspy(path: Path) -> dict[str, Any]:
    """Inclusive samples per cachedb function, self samples per function, import share."""
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    total = imports = 0
    for line in path.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        samples = int(n)
        frames = [_frame(f) for f in stack.split(";")]
        total += samples
        if any(f.startswith("_find_and_load ") for f in frames):
            imports += samples
        leaf[frames[-1]] += samples
        for frame in set(frames):
            if "cachedb/" in frame:
                inclusive[frame] += samples
    return {"total": total, "imports": imports, "inclusive": inclusive, "leaf": leaf}


def _frame(raw: str) -> str:
    # "func (path/to/site-packages/cachedb/x.py:12)" -> "func (cachedb/x.py)"
    func, _, where = raw.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "lib/python3.11/"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{func} ({where})"


def read_importtime(stderr: str) -> tuple[list[tuple[float, str]], float]:
    """(cumulative ms, module) of the imports no other import caused, and their total."""
    top: list[tuple[float, str]] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        _, cumulative, name = line[len("import time:") :].split("|")
        if not name.startswith("  "):  # one space: nested imports are indented further
            top.append((int(cumulative) / 1000, name.strip()))
    return sorted(top, reverse=True), sum(ms for ms, _ in top)


# -- orchestration ------------------------------------------------------------------


def main(work: Path, wheels: list[Path], requirements: Path, out_dir: Path) -> None:
    import indexserver
    import tools

    del wheels  # fetched by the caller; the index serves the directory they are in
    prof = work / "profile"
    shutil.rmtree(prof, ignore_errors=True)
    prof.mkdir(parents=True)
    bin_dir = work / "venv" / "bin"
    python = str(bin_dir / "python")
    env = tools.clean_env(prof)
    pyspy = shutil.which("py-spy", path=str(bin_dir))
    sections: dict[str, dict[str, Any]] = {}
    with indexserver.IndexServer(work / "wheels") as server:
        source = tools.Source("index", server.url)

        def install_args(target: Path, cache: Path) -> list[str]:
            argv = tools.install_argv("cachedb", bin_dir, target, cache, source, requirements)
            return argv[1:]  # without the cachedb executable itself

        def run(
            label: str, phase: str, wrap: list[str], args_from: str
        ) -> subprocess.CompletedProcess[str]:
            # A cold run gets an empty cache, a warm one the cache of the previous cold run.
            cache = prof / "trees" / f"cache-{args_from}"
            if phase == "cold":
                shutil.rmtree(cache, ignore_errors=True)
            # New directories, deleted at the end: ext4 makes allocating inodes right after
            # deleting many slow (see run.Scratch), which would distort the next run.
            target = prof / "trees" / f"venv-{label}"
            tools.make_venv(target)
            argv = [*wrap, *install_args(target, cache)]
            started = time.perf_counter()
            done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
            took = time.perf_counter() - started
            (prof / f"{label}.log").write_text(done.stdout + done.stderr)
            if done.returncode != 0:
                sys.exit(f"{label} failed:\n{done.stdout}{done.stderr}")
            sections.setdefault(phase, {})[label] = took
            return done

        for phase in ("cold", "warm"):
            if pyspy is not None:
                raw = prof / f"pyspy-{phase}.txt"
                wrap = [pyspy, "record", "--format", "raw", "-r", "400", "-o", str(raw), "--"]
                run(f"pyspy-{phase}", phase, [*wrap, str(bin_dir / "cachedb")], "pyspy")
            counts = prof / f"counts-{phase}.json"
            driver = [python, str(Path(__file__).resolve()), "--count", str(counts), "--"]
            run(f"counts-{phase}", phase, driver, "counts")
        trace = [python, "-X", "importtime", str(Path(__file__).resolve()), "--plain", "--"]
        done = run("importtime-warm", "warm", trace, "counts")
        (prof / "importtime-warm.txt").write_text(done.stderr)
        split = phase_split(prof, bin_dir, source, requirements, env)
    shutil.rmtree(prof / "trees", ignore_errors=True)

    lines = _summary(prof, pyspy is not None, done.stderr)
    lines += ["", *split]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "profile.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwrote {out_dir / 'profile.md'}; raw data in {prof}")


_PHASE_LINE = re.compile(r"^\s*(Resolved|Prepared|Installed|Audited) .* in ([\d.]+)(ms|s)\s*$")


def phase_split(
    prof: Path,
    bin_dir: Path,
    source: Any,
    requirements: Path,
    env: dict[str, str],
    rounds: int = 3,
) -> list[str]:
    """cachedb and uv both print "Resolved/Prepared/Installed N packages in T": compare them."""
    import statistics

    import tools

    seen: dict[tuple[str, str], dict[str, list[float]]] = {}
    for n in range(rounds):
        for tool in ("cachedb", "uv"):
            cache = prof / "trees" / f"split-cache-{tool}-{n}"
            for phase in ("cold", "warm"):
                target = prof / "trees" / f"split-venv-{tool}-{phase}-{n}"
                tools.make_venv(target)
                argv = tools.install_argv(tool, bin_dir, target, cache, source, requirements)
                argv.remove("-q")  # the summary lines are what we want here
                started = time.perf_counter()
                done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
                found = seen.setdefault((tool, phase), {})
                found.setdefault("total", []).append(time.perf_counter() - started)
                for line in (done.stdout + done.stderr).splitlines():
                    m = _PHASE_LINE.match(line)
                    if m:
                        seconds = float(m[2]) / (1000 if m[3] == "ms" else 1)
                        found.setdefault(m[1], []).append(seconds)
    steps = ("Resolved", "Prepared", "Installed", "total")
    lines = [
        f"## Phases against uv (each tool's own summary lines, median of {rounds} runs)",
        "",
        "| tool | cache | resolve | prepare (fetch + unpack) | install (link) | wall |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for (tool, phase), found in seen.items():
        cells = [
            f"{statistics.median(found[s]) * 1000:.0f} ms" if s in found else "–" for s in steps
        ]
        lines.append(f"| {tool} | {phase} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "cachedb's resolve time counts from the start of `run_install` (after the CLI's",
        "imports), so it includes opening the cache and querying the interpreter. The wall",
        "column is the whole process, start-up and imports included.",
    ]
    return lines


def _summary(prof: Path, have_pyspy: bool, importtime: str) -> list[str]:
    lines = ["# Where a cachedb install spends its time", ""]
    lines += ["Pinned set from the local index; see benchmarks/profile_install.py.", ""]
    for phase in ("cold", "warm"):
        counts = json.loads((prof / f"counts-{phase}.json").read_text())
        lines += [f"## {phase} install", ""]
        lines.append(f"- wall (with counting hooks): {counts['wall']:.2f} s")
        ops = ", ".join(
            f"{AUDITED[k]} {v:,}"
            for k, v in sorted(counts["operations"].items(), key=lambda i: -i[1])
        )
        lines.append(f"- operations: {ops}")
        sql = counts["sql"]
        lines.append(
            f"- SQL statements: {sum(sql.values()):,} ("
            + ", ".join(f"{k} {v:,}" for k, v in sorted(sql.items(), key=lambda i: -i[1]))
            + ")"
        )
        lines.append(
            f"- heavy modules loaded: {', '.join(counts['watched_modules_loaded']) or 'none'}"
            f" ({counts['modules_loaded']} modules in all)"
        )
        if have_pyspy:
            spy = read_pyspy(prof / f"pyspy-{phase}.txt")
            total = max(spy["total"], 1)
            lines.append(
                f"- py-spy: {spy['total']:,} samples at 400 Hz over all threads; "
                f"{spy['imports'] / total:.0%} in imports"
            )
            lines += ["", "| cachedb function (inclusive) | share |", "| --- | ---: |"]
            for frame, n in spy["inclusive"].most_common(25):
                lines.append(f"| `{frame}` | {n / total:.0%} |")
            lines += ["", "| function (self) | share |", "| --- | ---: |"]
            for frame, n in spy["leaf"].most_common(15):
                lines.append(f"| `{frame}` | {n / total:.0%} |")
        lines.append("")
    top, total_ms = read_importtime(importtime)
    lines += [
        "## Imports on the warm path (`-X importtime`)",
        "",
        f"Top-level imports: {total_ms:.0f} ms in all (cumulative, with the interpreter's own).",
        "",
        "| module | cumulative |",
        "| --- | ---: |",
    ]
    lines += [f"| `{name}` | {ms:.1f} ms |" for ms, name in top[:25]]
    return lines


def plain_main(args: list[str]) -> None:
    sys.argv = ["cachedb", *args]
    from cachedb.cli import main

    main()


if __name__ == "__main__":
    if sys.argv[1] == "--count":
        count_main(Path(sys.argv[2]), sys.argv[4:])
    elif sys.argv[1] == "--plain":
        plain_main(sys.argv[3:])
