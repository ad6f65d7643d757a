"""Turning the collected results into ``latest.md``, ``latest.json`` and ``latest.png``."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

Results = dict[str, Any]

# The targets of the performance issues (informational: the benchmark reports, it
# never fails on a number). Ratios are cachedb ÷ uv of the same run.
TARGETS = {
    "warm_vs_uv": 1.0,
    "cold_vs_uv": 1.0,
    "help_seconds": 0.040,
    "nothing_seconds": 0.060,
    "venv_seconds": 0.060,
    "compile_vs_uv": 3.0,
    "sdist_vs_uv": 1.2,
    "gc_seconds": 1.0,
    "sql_seconds": 1.0,
}
SOURCE_NAMES = {
    "remote": "the remote-like index",
    "index": "the local index (127.0.0.1)",
    "find-links": "a find-links directory",
}


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "–"


def _fmt_s(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _mark(ok: bool) -> str:
    return "yes" if ok else "**no**"


def install_table(results: Results) -> list[str]:
    lines = [
        "| source | cache | tool | wall (median) | CPU user+sys | peak RSS | HTTP requests | "
        "wall ÷ uv | wall ÷ pip | CPU ÷ uv | CPU ÷ pip | RSS ÷ uv | RSS ÷ pip |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for source, by_phase in results["install"].items():
        for phase in ("cold", "warm"):
            tools = by_phase[phase]
            missing = {"wall": 0.0, "cpu": 0.0, "maxrss_mib": 0.0}  # a tool left out (--tools)
            uv = tools["uv"]["summary"] if "uv" in tools else missing
            pip = tools["pip"]["summary"] if "pip" in tools else missing
            for tool in tools:
                s = tools[tool]["summary"]
                ratios = (
                    [
                        _ratio(s["wall"], uv["wall"]), _ratio(s["wall"], pip["wall"]),
                        _ratio(s["cpu"], uv["cpu"]), _ratio(s["cpu"], pip["cpu"]),
                        _ratio(s["maxrss_mib"], uv["maxrss_mib"]),
                        _ratio(s["maxrss_mib"], pip["maxrss_mib"]),
                    ]
                    if tool == "cachedb"
                    else [""] * 6
                )  # fmt: skip
                name = f"**{tool}**" if tool == "cachedb" else tool
                has_server = source in ("index", "remote")
                requests = max(tools[tool]["index_requests"]) if has_server else "–"
                lines.append(
                    f"| {source} | {phase} | {name} | {_fmt_s(s['wall'])} "
                    f"({_fmt_s(s['wall_min'])}–{_fmt_s(s['wall_max'])}) | "
                    f"{_fmt_s(s['cpu'])} | {s['maxrss_mib']:.0f} MiB | {requests} | "
                    + " | ".join(ratios)
                    + " |"
                )
    return lines


def scaling_table(results: Results) -> list[str]:
    scaling = results.get("scaling")
    if not scaling:
        return []
    tools = list(scaling["rows"][0]["tools"])
    head = " | ".join(f"{t} cold | {t} warm | {t} warm µs/file (marginal)" for t in tools)
    lines = [
        f"| files in wheel | {head} |",
        "| ---: | " + " | ".join("---: | ---: | ---:" for _ in tools) + " |",
    ]
    previous: dict[str, Any] | None = None
    for row in scaling["rows"]:
        cells = []
        for tool in tools:
            t = row["tools"][tool]
            # Linear means a constant marginal cost: time added per file added since the last row.
            marginal = "–"
            if previous is not None:
                added = row["files"] - previous["files"]
                marginal = f"{(t['warm'] - previous['tools'][tool]['warm']) / added * 1e6:.0f}"
            cells.append(f"{_fmt_s(t['cold'])} | {_fmt_s(t['warm'])} | {marginal}")
        lines.append(f"| {row['files']:,} | " + " | ".join(cells) + " |")
        previous = row
    for kind, key in (("wall", "fits"), ("CPU (user + system)", "cpu_fits")):
        fits = [
            f"{tool}: warm ≈ {fit['intercept'] * 1000:.0f} ms + {fit['slope'] * 1e6:.1f} µs × files"
            f" (R² = {fit['r2']:.4f})"
            for tool, fit in scaling.get(key, {}).items()
        ]
        if fits:
            lines += ["", f"Least-squares fit of warm {kind} time: " + "; ".join(fits) + "."]
    return lines


def commands_table(results: Results) -> list[str]:
    # CPU time (user + sys) as well: other load on the machine stretches wall time far
    # more than the work a command does.
    lines = [
        "| command | median wall | min–max | CPU user+sys | runs |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label, entry in results["commands"].items():
        s = entry["summary"]
        lines.append(
            f"| `{label}` | {_fmt_s(s['wall'])} | {_fmt_s(s['wall_min'])}–{_fmt_s(s['wall_max'])}"
            f" | {_fmt_s(s['cpu'])} | {s['n']} |"
        )
    return lines


def _versus(ours: dict[str, Any], theirs: dict[str, Any]) -> tuple[float, float]:
    """Ratio of medians and ratio of fastest runs (the latter less sensitive to other load)."""
    return ours["wall"] / theirs["wall"], ours["wall_min"] / theirs["wall_min"]


def targets_table(results: Results) -> list[str]:
    rows: list[tuple[str, str, str, bool]] = []
    inst = results["install"]
    for source in ("remote", "index", "find-links"):
        for phase, key in (("warm", "warm_vs_uv"), ("cold", "cold_vs_uv")):
            if source not in inst or (phase == "cold" and source == "find-links"):
                continue
            r = inst[source][phase]
            if "cachedb" not in r or "uv" not in r:
                continue
            ratio, best = _versus(r["cachedb"]["summary"], r["uv"]["summary"])
            # Both must hold: load that slows one tool's runs more than the other's
            # can flatter the ratio of medians.
            rows.append(
                (f"{phase} install from {SOURCE_NAMES[source]}, wall ÷ uv (fastest runs)",
                 f"{ratio:.2f}× ({best:.2f}×)", f"≤ {TARGETS[key]}× (both)",
                 max(ratio, best) <= TARGETS[key])
            )  # fmt: skip
    for source in ("remote", "index"):
        if source in inst and {"cachedb", "uv"} <= set(inst[source]["cold"]):
            cold = inst[source]["cold"]
            ours, uv = cold["cachedb"]["summary"]["maxrss_mib"], cold["uv"]["summary"]["maxrss_mib"]
            rows.append(
                (f"cold install peak memory ({SOURCE_NAMES[source]})",
                 f"{ours:.0f} MiB (uv {uv:.0f} MiB)", "≤ uv's", ours <= uv)
            )  # fmt: skip
            break
    cmds = results["commands"]

    def wall(label: str) -> float | None:
        return cmds[label]["summary"]["wall"] if label in cmds else None

    for label, key, what in (
        ("cachedb --help", "help_seconds", "`cachedb --help`"),
        ("cachedb install, nothing to do", "nothing_seconds",
         "`cachedb install` of one installed package (nothing to do)"),
        ("cachedb install, nothing to do, not remembered", "nothing_seconds",
         "the same, its memo deleted first (the full check)"),
        ("cachedb venv", "venv_seconds", "`cachedb venv`, a cached interpreter"),
        ("cachedb gc", "gc_seconds", "gc, nothing to collect, 10,000 archives"),
        ("cachedb sql <sha256 lookup>", "sql_seconds", "indexed audit query, 1,000,000 file rows"),
        ("cachedb sql <v_archives top 10>", "sql_seconds", "`v_archives` top 10 by size"),
    ):  # fmt: skip
        seconds = wall(label)
        if seconds is not None:
            ok = seconds <= TARGETS[key]
            rows.append((what, _fmt_s(seconds), f"≤ {_fmt_s(TARGETS[key])}", ok))
    for ours, theirs, key, what in (
        ("cachedb compile", "uv pip compile", "compile_vs_uv",
         "`cachedb compile` ÷ `uv pip compile`"),
        ("cachedb compile, not remembered", "uv pip compile", "compile_vs_uv",
         "the same, its memo deleted first (the full compile), ÷ uv"),
        ("cachedb install, sdist only, cold", "uv install, sdist only, cold", "sdist_vs_uv",
         "cold install of a pure-Python sdist-only package ÷ uv"),
    ):  # fmt: skip
        if ours in cmds and theirs in cmds:
            ratio, best = _versus(cmds[ours]["summary"], cmds[theirs]["summary"])
            wanted = f"≤ {TARGETS[key]}× (both)"
            ok = max(ratio, best) <= TARGETS[key]
            rows.append((f"{what} (fastest runs)", f"{ratio:.2f}× ({best:.2f}×)", wanted, ok))
    if wall("cachedb compile") is not None and wall("pip-compile") is not None:
        ours_s, pip_s = wall("cachedb compile"), wall("pip-compile")
        assert ours_s is not None and pip_s is not None
        rows.append(("`cachedb compile` ÷ `pip-compile`", f"{ours_s / pip_s:.2f}×", "< 1×",
                     ours_s < pip_s))  # fmt: skip
    scaling = results.get("scaling")
    if scaling and "cachedb" in scaling["fits"]:
        r2 = scaling["fits"]["cachedb"]["r2"]
        rows.append(
            ("warm install linear in files (R² of the fit)", f"{r2:.4f}", "≥ 0.99", r2 >= 0.99)
        )
    lines = ["| target | measured | wanted | met |", "| --- | ---: | ---: | :---: |"]
    lines += [f"| {a} | {b} | {c} | {_mark(ok)} |" for a, b, c, ok in rows]
    return lines


def background_median(results: Results) -> float:
    loads = [
        x
        for by_phase in results["install"].values()
        for tools in by_phase.values()
        for entry in tools.values()
        for x in entry["background_load"]
    ]
    return statistics.median(loads) if loads else 0.0


def machine_lines(results: Results) -> list[str]:
    m = results["machine"]
    v = results["versions"]
    w = results["workload"]
    return [
        f"- machine: {m['cpus']} CPUs (`nproc` = {m['nproc']}), {m['cpu_model']}, "
        f"{m['memory_gib']:.0f} GiB RAM, Linux `{m['kernel']}`, {m['filesystem']} filesystem",
        f"- tools: {v['cachedb']} (checkout `{results['revision']}`) · {v['uv']} · {v['pip']} · "
        f"{v['python']}",
        f"- other processes: load average (1, 5, 15 min) {results['loadavg_start']} at the start,"
        f" {results['loadavg_end']} at the end; CPUs busy just before an install run: median "
        f"{background_median(results):.0%} (the run waits up to --patience for < 15%)",
        f"- remote-like index: {results.get('remote_index') or 'not measured'}",
        f"- workload: {w['distributions']} distributions pinned in `benchmarks/requirements.txt`,"
        f" {w['installed_files']:,} installed files, {w['wheel_mib']:.0f} MiB of wheels",
        f"- {results['repeats']} runs of each (tool, cold/warm) in alternation; medians shown; "
        f"link modes seen: {results['link_modes']}; venvs and caches removed "
        f"{results.get('cleanup', 'after each run')}",
        f"- run: `{results['command']}` on {results['date']}, "
        f"took {results['elapsed'] / 60:.1f} min",
    ]


def markdown(results: Results) -> str:
    parts = [
        "# cachedb benchmark results",
        "",
        *machine_lines(results),
        "",
        "## Installing the pinned set",
        "",
        "Cold: empty cache, fresh venv. Warm: the cache the cold run filled, fresh venv.",
        "",
        *install_table(results),
        "",
        "## Targets",
        "",
        *targets_table(results),
        "",
    ]
    if results["commands"]:
        parts += ["## Commands", ""]
        if results.get("synthetic"):
            syn = results["synthetic"]
            parts += [
                f"gc and sql run on a synthetic cache of {syn['archives']:,} archives / "
                f"{syn['files']:,} file rows (every archive pointed to: nothing to collect).",
                "",
            ]
        parts += [*commands_table(results), ""]
    scaling = scaling_table(results)
    if scaling:
        parts += [
            "## Warm install time against the number of files",
            "",
            "One synthetic wheel of N small modules, from a find-links directory.",
            "",
            *scaling,
            "",
        ]
    return "\n".join(parts)


def scaling_markdown(results: Results) -> str:
    """The report of a ``--scaling-only`` run: the files-scaling table and its conditions."""
    m = results["machine"]
    v = results["versions"]
    scaling = results["scaling"]
    samples = []
    for row in scaling["rows"]:
        for tool, t in row["tools"].items():
            walls = ", ".join(f"{w * 1000:.0f}" for w in t["warm_samples"])
            cpu = ", ".join(f"{(u + s) * 1000:.0f}" for u, s in t.get("warm_cpu", []))
            busy = ", ".join(f"{b:.0%}" for b in t.get("background", []))
            samples.append(
                f"| {row['files']:,} | {tool} | {walls} | {cpu or '–'} | {busy or '–'} |"
            )
    return "\n".join(
        [
            "# cachedb benchmark: warm install time against the number of files",
            "",
            f"- machine: {m['cpus']} CPUs, {m['cpu_model']}, Linux `{m['kernel']}`, "
            f"{m['filesystem']} filesystem",
            f"- tools: {v['cachedb']} (checkout `{results['revision']}`) · {v['uv']} · "
            f"{v['python']}",
            f"- other processes: load average (1, 5, 15 min) {results['loadavg_start']} at the"
            f" start, {results['loadavg_end']} at the end",
            f"- {scaling['repeats']} warm runs of each (tool, size); venvs and caches removed "
            f"{results['cleanup']}",
            f"- run: `{results['command']}` on {results['date']}, "
            f"took {results['elapsed'] / 60:.1f} min",
            "",
            *scaling_table(results),
            "",
            "Each warm run: wall and CPU (user + system) in ms, and the share of the CPUs busy"
            " with other work just before it.",
            "",
            "| files | tool | warm wall (ms) | warm CPU (ms) | CPUs busy before |",
            "| ---: | --- | --- | --- | --- |",
            *samples,
            "",
        ]
    )


def write_scaling(results: Results, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    (directory / "latest.md").write_text(scaling_markdown(results))


def plot(results: Results, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [(s, p) for s in results["install"] for p in ("cold", "warm")]
    tools = [t for t in ("cachedb", "uv", "pip") if t in results["install"][groups[0][0]]["cold"]]
    colors = {"cachedb": "#1f77b4", "uv": "#9467bd", "pip": "#ff7f0e"}
    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    metrics = (
        ("wall", "wall time (s)"),
        ("cpu", "CPU user+sys (s)"),
        ("maxrss_mib", "peak RSS (MiB)"),
    )
    for ax, (key, label) in zip(axes.flat, metrics, strict=False):
        width = 0.8 / len(tools)
        for i, tool in enumerate(tools):
            values = [results["install"][s][p][tool]["summary"][key] for s, p in groups]
            xs = [g + (i - (len(tools) - 1) / 2) * width for g in range(len(groups))]
            ax.bar(xs, values, width, label=tool, color=colors[tool])
        ax.set_xticks(range(len(groups)), [f"{s}\n{p}" for s, p in groups])
        ax.set_ylim(top=ax.get_ylim()[1] * 1.2)  # room for the legend above the bars
        ax.set_ylabel(label)
        ax.grid(axis="y", alpha=0.3)
    axes.flat[0].legend(loc="upper left", ncols=3)
    axes.flat[0].set_title("install of the pinned set (median)")
    ax = axes.flat[3]
    scaling = results.get("scaling")
    if scaling:
        for tool in scaling["rows"][0]["tools"]:
            xs = [r["files"] for r in scaling["rows"]]
            ax.plot(xs, [r["tools"][tool]["warm"] for r in scaling["rows"]], "o-",
                    label=f"{tool} warm", color=colors[tool])  # fmt: skip
            ax.plot(xs, [r["tools"][tool]["cold"] for r in scaling["rows"]], "s--",
                    label=f"{tool} cold", color=colors[tool], alpha=0.5)  # fmt: skip
        ax.set_xlabel("files in the wheel")
        ax.set_ylabel("wall time (s)")
        ax.set_title("install time against files")
        ax.legend()
        ax.grid(alpha=0.3)
    m = results["machine"]
    fig.suptitle(
        f"cachedb vs {results['versions']['uv']} vs {results['versions']['pip']} — "
        f"{m['nproc']} CPUs, Linux {m['kernel']}, {m['filesystem']}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write(results: Results, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    (directory / "latest.md").write_text(markdown(results))
    plot(results, directory / "latest.png")
