"""The benchmark's report: a full run renders as committed, a partial one (--installs-only,
--tools) renders what was measured and nothing else."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import report
import run

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"


def _full() -> dict[str, Any]:
    results: dict[str, Any] = json.loads((RESULTS / "latest.json").read_text())
    return results


def test_a_full_run_renders_as_the_committed_report() -> None:
    assert report.markdown(_full()) == (RESULTS / "latest.md").read_text()


def _remote_cold_row(text: str) -> str:
    return next(r for r in text.splitlines() if r.startswith("| remote | cold | **cachedb**"))


def test_an_installs_only_run_of_two_tools_reports_only_what_it_measured() -> None:
    full = report.markdown(_full())
    results = copy.deepcopy(_full())
    results["install"] = {"remote": results["install"]["remote"]}
    for by_tool in results["install"]["remote"].values():
        del by_tool["pip"]
    results.update(commands={}, synthetic=None, scaling=None)

    text = report.markdown(results)

    rows = [line for line in text.splitlines() if line.startswith("| remote |")]
    assert [row.split(" | ")[1:3] for row in rows] == [
        ["cold", "**cachedb**"],
        ["cold", "uv"],
        ["warm", "**cachedb**"],
        ["warm", "uv"],
    ]
    cold = rows[0].split(" | ")
    # ÷ uv as in the full run's report; ÷ pip not measured.
    assert cold[7] == _remote_cold_row(full).split(" | ")[7] and cold[7].endswith("×")
    assert cold[8] == "–"
    assert "cold install from the remote-like index, wall ÷ uv" in text
    assert "local index" not in text
    assert "## Commands" not in text and "files in wheel" not in text


def test_tools_and_the_results_directory_of_a_partial_run() -> None:
    args = run.parse_args(["--installs-only", "--tools", "uv,cachedb", "--sources", "remote"])
    assert args.tools == ("cachedb", "uv")
    assert args.out == run.WORK / "installs-only"  # the full run's results stay as they are
    assert run.parse_args([]).out == run.RESULTS
    with pytest.raises(SystemExit):
        run.parse_args(["--tools", "cachedb,poetry"])


def test_the_index_logs_each_request_with_its_times_status_and_connection(
    tmp_path: Path,
) -> None:
    import urllib.error
    import urllib.request

    from indexserver import IndexServer
    from wheelbuilder import make_wheel

    wheels = tmp_path / "wheels"
    wheels.mkdir()
    make_wheel(wheels, "demo", "1.0")
    log = tmp_path / "requests.jsonl"
    with IndexServer(wheels, log=log) as server:
        with urllib.request.urlopen(f"{server.url}/demo/") as reply:
            reply.read()
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"{server.url}/absent/")
        with urllib.request.urlopen(f"{server.root_url}/files/demo-1.0-py3-none-any.whl") as f:
            f.read()
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["path"], r["status"]) for r in lines] == [
        ("/simple/demo/", 200),
        ("/simple/absent/", 404),
        ("/files/demo-1.0-py3-none-any.whl", 200),
    ]
    assert all(0 < r["start"] <= r["end"] and r["port"] > 0 for r in lines)


def test_a_scaling_only_run_reports_the_scaling_table_in_its_own_directory() -> None:
    args = run.parse_args(["--scaling-only"])
    assert args.out == run.WORK / "scaling-only"  # results/ keeps the full run's report
    with pytest.raises(SystemExit):
        run.parse_args(["--scaling-only", "--installs-only"])
    full = _full()
    results = {key: full[key] for key in ("date", "revision", "loadavg_start", "loadavg_end")}
    results.update(
        command="python benchmarks/run.py --scaling-only",
        machine=full["machine"],
        versions=full["versions"],
        cleanup="deferred to the end",
        scaling=full["scaling"],
        elapsed=60.0,
    )

    text = report.scaling_markdown(results)

    table = report.scaling_table(full)
    assert "\n".join(table) in text  # the full run's table, as the full report shows it
    assert "## Installing the pinned set" not in text and "## Commands" not in text
    for row in full["scaling"]["rows"]:
        walls = ", ".join(f"{w * 1000:.0f}" for w in row["tools"]["cachedb"]["warm_samples"])
        assert f"| {row['files']:,} | cachedb | {walls} |" in text
    # The CPU fit is shown where the run measured one.
    assert ("fit of warm CPU" in text) == bool(full["scaling"].get("cpu_fits"))

    results["scaling"] = dict(
        full["scaling"], cpu_fits={"uv": {"slope": 7e-6, "intercept": 0.08, "r2": 0.9987}}
    )
    text = report.scaling_markdown(results)
    assert "Least-squares fit of warm CPU (user + system) time: uv: warm ≈ 80 ms + 7.0 µs ×" in text
    assert "(R² = 0.9987)" in text


@pytest.mark.parametrize("sizes", [[1000, 5000, 10000], [1000, 5000, 10000, 20000]])
def test_the_scaling_runs_interleave_sizes_and_tools(sizes: list[int]) -> None:
    names = ("cachedb", "uv")
    turns = run.scaling_turns(sizes, 5, names)
    k = 2 * len(sizes)  # runs per round

    assert sorted(turns) == sorted(
        (n, phase, tool) for n in sizes for tool in names for phase in ["cold"] + ["warm"] * 5
    )
    # Every cold install (it fills the cache) before any warm one...
    assert [phase for _, phase, _ in turns] == ["cold"] * k + ["warm"] * 5 * k
    # ...then rounds of one warm run of every (size, tool), so that a passing state of
    # the machine falls on one run of a point, not on a whole point.
    rounds = [turns[k + k * r : 2 * k + k * r] for r in range(5)]
    for r, runs in enumerate(rounds):
        assert sorted((n, t) for n, _, t in runs) == sorted((n, t) for n in sizes for t in names)
        order = [n for n, _, _ in runs[::2]]
        assert order == (sizes if r % 2 == 0 else sizes[::-1])
    # Neither tool always goes first: at each size, each one leads in turn.
    for n in sizes:
        firsts = [next(t for m, _, t in runs if m == n) for runs in rounds]
        assert all(a != b for a, b in zip(firsts, firsts[1:], strict=False))


@pytest.mark.skipif(shutil.which("perf") is None or os.geteuid() != 0, reason="needs perf, as root")
def test_cpusplit_charges_each_process_its_own_user_and_kernel_time(tmp_path: Path) -> None:
    import cpusplit

    # The parent spins in user code; its forked child makes and removes directories.
    script = (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    end = time.process_time() + 0.4\n"
        "    while time.process_time() < end:\n"
        f"        os.mkdir({str(tmp_path / 'd')!r}); os.rmdir({str(tmp_path / 'd')!r})\n"
        "    os._exit(0)\n"
        "end = time.process_time() + 0.4\n"
        "while time.process_time() < end:\n"
        "    sum(range(1000))\n"
        "os.wait()\n"
    )
    data = tmp_path / "perf.data"
    argv = ["perf", "record", "-q", "-g", "-F", str(cpusplit.FREQ), "-e", "cpu-clock"]
    subprocess.run([*argv, "-o", str(data), "--", sys.executable, "-c", script], check=True)
    rows = {name: (user, kernel, entries) for name, user, kernel, entries in cpusplit.split(data)}
    assert set(rows) == {"main", "child 1 (python3)"} or set(rows) == {"main", "child 1 (python)"}
    main_user, main_kernel, main_entries = rows["main"]
    child_user, child_kernel, entries = rows[next(n for n in rows if n != "main")]
    # Each ran ~400 ms of CPU; the kernel time of the directories is the child's alone.
    assert main_user > 200 and main_user > 2 * main_kernel and main_user > 2 * child_user
    assert child_kernel > 200 and entries.most_common(1)[0][0] in ("mkdir", "rmdir")
    assert entries["mkdir"] > 0 and entries["rmdir"] > 0
    assert main_entries["mkdir"] + main_entries["rmdir"] == 0
