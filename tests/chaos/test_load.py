"""Load: eight installs at once into fresh environments from one cold cache.

While they run, ``cachedb gc`` runs in a loop and ``cachedb sql`` queries run
in another. Every install succeeds, each wheel is unpacked into exactly one
archive (one ``archive.insert`` event, one directory), ``verify
--check-contents`` is clean, and every environment imports everything it was
given. A second scenario runs ``cachedb clean`` and ``cachedb gc --grace 0s``
in the loop instead, evicting entries and sweeping leftovers under the
installs' feet: leases keep what an install is linking, the staging lock keeps
its downloads and unpacks, and everything evicted is fetched again by whoever
needs it next.

The counts are printed at the end of each test (visible with ``-rA`` or ``-s``)
and recorded as junit properties.
"""

from __future__ import annotations

import random
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from chaoskit import assert_verify_clean, cli, integrity_ok, query, run_in
from indexserver import IndexServer
from packaging.utils import canonicalize_name
from wheelbuilder import make_wheel

PROCESSES = 8

# On SQLite and on PostgreSQL (there marked slow); the many-waves versions on SQLite only.
pytestmark = [pytest.mark.usefixtures("backend"), pytest.mark.slow_on_postgresql]
SQL_QUERIES = (
    "SELECT count(*) FROM v_archives",
    "SELECT name, version, pointer_count, environment_count FROM v_archives ORDER BY name",
    "SELECT bucket, archive_count, bytes FROM v_bucket_usage",
    "SELECT kind, count(*) FROM events GROUP BY kind",
    "SELECT path, active_installs FROM v_environments",
)


@dataclass
class Universe:
    """Packages p00..pNN; each depends on a few with higher numbers (so no cycles)."""

    deps: dict[str, list[str]] = field(default_factory=dict)

    def closure(self, roots: list[str]) -> set[str]:
        out: set[str] = set()
        todo = list(roots)
        while todo:
            name = todo.pop()
            if name not in out:
                out.add(name)
                todo.extend(self.deps[name])
        return out


def publish(server: IndexServer, wheels: Path, rng: random.Random, count: int) -> Universe:
    universe = Universe()
    names = [f"p{i:02d}" for i in range(count)]
    for i, name in enumerate(names):
        later = names[i + 1 :]
        deps = rng.sample(later, k=min(len(later), rng.randint(0, 2)))
        universe.deps[name] = deps
        files = {f"{name}/__init__.py": "".join(f"import {d}\n" for d in deps) + "OK = True\n"}
        files |= {f"{name}/m{j}.py": f"V = {j}\n" * 30 for j in range(rng.randint(20, 120))}
        server.add(make_wheel(wheels, name, "1.0", files=files, requires=deps))
    return universe


@dataclass
class Loop:
    """Run one command after another in a thread until stopped; count the outcomes."""

    make: Callable[[int], list[str | Path]]
    codes: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        def run() -> None:
            n = 0
            while not self._stop.is_set():
                proc = cli(*self.make(n))
                self.codes[proc.returncode] += 1
                if proc.returncode != 0 or "Traceback" in proc.stderr:
                    self.failures.append(proc.stderr)
                n += 1

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=300)


def run_load(
    tmp: Path,
    server: IndexServer,
    *,
    seed: int,
    waves: int,
    packages: int,
    gc_command: Callable[[Path, int], list[str | Path]],
    record: Callable[[str, object], None],
) -> dict[str, object]:
    rng = random.Random(seed)
    universe = publish(server, tmp / "wheels", rng, packages)
    names = sorted(universe.deps)
    cache = tmp / "cache"
    # The cache exists (so the loops have a database to open) but holds nothing.
    assert cli("gc", "--cache-dir", cache).returncode == 0

    gc = Loop(lambda n: gc_command(cache, n))
    sql = Loop(lambda n: ["sql", "--cache-dir", cache, SQL_QUERIES[n % len(SQL_QUERIES)]])
    gc.start()
    sql.start()
    envs: dict[Path, set[str]] = {}
    results: list[subprocess.CompletedProcess[str]] = []
    try:
        for wave in range(waves):
            jobs = []
            for i in range(PROCESSES):
                roots = rng.sample(names, k=3)
                venv = tmp / f"env-{wave}-{i}"
                envs[venv] = universe.closure(roots)
                jobs.append(
                    ["install", "--cache-dir", cache, "--index-url", server.url, "--venv", venv,
                     *roots]
                )  # fmt: skip
            with ThreadPoolExecutor(max_workers=PROCESSES) as pool:
                results += list(pool.map(lambda args: cli(*args), jobs))
    finally:
        gc.stop()
        sql.stop()

    failed = [r.stderr for r in results if r.returncode != 0]
    assert failed == [], f"seed={seed}: {failed[0]}"
    assert gc.failures == [] and sql.failures == [], (gc.failures + sql.failures)[0]
    for venv, dists in envs.items():
        code = "; ".join(f"import {d}; assert {d}.OK" for d in sorted(dists))
        ran = run_in(venv, code)
        assert ran.returncode == 0, f"seed={seed} {venv}: {ran.stderr}"
    integrity_ok(cache)
    assert_verify_clean(cache)

    installed = set().union(*envs.values())
    live = query(cache, "SELECT id, name FROM archives WHERE deleted_at IS NULL")
    inserts = Counter(
        str(r[0])
        for r in query(cache, "SELECT new_archive FROM events WHERE kind='archive.insert'")
    )
    counts: dict[str, object] = {
        "seed": seed,
        "installs": len(results),
        "environments": len(envs),
        "distributions installed": sum(len(d) for d in envs.values()),
        "distinct wheels": len(installed),
        "live archives": len(live),
        "archive inserts": sum(inserts.values()),
        "archive revives": query(cache, "SELECT count(*) FROM events WHERE kind='archive.revive'")[
            0
        ][0],
        "gc runs": sum(gc.codes.values()),
        "sql queries": sum(sql.codes.values()),
    }
    for key, value in counts.items():
        record(key.replace(" ", "_"), value)
    print(f"\nload: {counts}")
    # Both loops really ran alongside the installs.
    assert counts["gc runs"] and counts["sql queries"]
    # Each archive exists once: one row (inserted once), one directory, per wheel.
    assert max(inserts.values()) == 1, inserts.most_common(3)
    assert {canonicalize_name(str(n)) for _i, n in live} <= installed
    # Nothing leaks: once idle, a sweep without grace leaves exactly the live archives.
    assert cli("gc", "--cache-dir", cache, "--grace", "0s").returncode == 0
    live = query(cache, "SELECT id, name FROM archives WHERE deleted_at IS NULL")
    on_disk = {p.name for p in (cache / "archive-v0").iterdir()}
    assert on_disk == {str(i) for i, _n in live}
    assert list((cache / "tmp").iterdir()) == []
    assert_verify_clean(cache)
    return counts


def _gc(cache: Path, n: int) -> list[str | Path]:
    # The default grace protects stores in flight; --max-size 0 still plans evictions.
    return ["gc", "--cache-dir", cache, *(["--max-size", "0"] if n % 2 else [])]


def test_eight_installs_with_gc_and_sql(
    tmp_path: Path, index_server: IndexServer, record_property: Callable[[str, object], None]
) -> None:
    counts = run_load(
        tmp_path, index_server, seed=1, waves=1, packages=12, gc_command=_gc,
        record=record_property,
    )  # fmt: skip
    # A cold cache and no eviction: every wheel was unpacked exactly once, never again.
    assert counts["live archives"] == counts["distinct wheels"] == counts["archive inserts"]
    assert counts["archive revives"] == 0


@pytest.mark.backends("sqlite")
@pytest.mark.slow
def test_eight_installs_with_gc_and_sql_many_waves(
    tmp_path: Path, index_server: IndexServer, record_property: Callable[[str, object], None]
) -> None:
    counts = run_load(
        tmp_path, index_server, seed=2, waves=4, packages=24, gc_command=_gc,
        record=record_property,
    )  # fmt: skip
    assert counts["live archives"] == counts["distinct wheels"] == counts["archive inserts"]
    assert counts["archive revives"] == 0


def _clean(cache: Path, n: int) -> list[str | Path]:
    """Evict every entry not leased by an install in flight, or sweep with no grace at all.

    ``--grace 0s`` also removes unregistered trees and ``tmp/`` leftovers at once,
    which must never be those of an install still running.
    """
    time.sleep(0.2)  # a pause lets the installs make progress between sweeps
    commands: list[list[str | Path]] = [
        ["clean", "--cache-dir", cache],
        ["gc", "--cache-dir", cache, "--grace", "0s"],
        ["gc", "--cache-dir", cache, "--grace", "0s", "--max-size", "0"],
    ]
    return commands[n % 3]


def test_eight_installs_while_clean_and_gc_without_grace_run(
    tmp_path: Path, index_server: IndexServer, record_property: Callable[[str, object], None]
) -> None:
    run_load(
        tmp_path, index_server, seed=3, waves=1, packages=12, gc_command=_clean,
        record=record_property,
    )  # fmt: skip


@pytest.mark.backends("sqlite")
@pytest.mark.slow
def test_eight_installs_while_clean_and_gc_without_grace_run_many_waves(
    tmp_path: Path, index_server: IndexServer, record_property: Callable[[str, object], None]
) -> None:
    run_load(
        tmp_path, index_server, seed=4, waves=3, packages=24, gc_command=_clean,
        record=record_property,
    )  # fmt: skip


def test_gc_without_grace_spares_the_staging_of_a_running_install(tmp_path: Path) -> None:
    """While an install holds ``tmp/`` (as every running install does), gc leaves it alone."""
    from cachedb.store import open_cache, staging

    cache = tmp_path / "cache"
    with open_cache(cache) as c:
        layout = c.layout
    download = layout.tmp / "download-inflight"
    download.mkdir()
    (download / "demo-1.0-py3-none-any.whl").write_bytes(b"half a wheel")
    leftover = layout.tmp / "trash-dead"
    leftover.mkdir()
    with staging.in_use(layout):
        proc = cli("gc", "--cache-dir", cache, "--grace", "0s")
        assert proc.returncode == 0, proc.stderr
        assert download.is_dir() and leftover.is_dir()
    # No install running any more: now everything there is a leftover.
    proc = cli("gc", "--cache-dir", cache, "--grace", "0s")
    assert proc.returncode == 0, proc.stderr
    assert list(layout.tmp.iterdir()) == []
