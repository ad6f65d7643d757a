"""SIGKILL at random points: cold installs, warm installs, gc and clean, cache creation.

Each round starts a real ``python -m cachedb`` process, kills it after a
seeded random delay, and then checks what a crash may leave (DESIGN invariant
4): the database passes ``PRAGMA integrity_check``; no registered archive row
names a missing or partial tree (``verify --check-contents`` reports at most
link-level problems, which ``--repair`` fixes); and the next run of the same
command succeeds, after which every environment imports everything.

Delays are drawn from the duration of an uninterrupted run measured at the
start, so kills land across start-up, resolution, download, unpack, register,
link and record. Reproduce a failure with the seed and round it reports
(``CHAOS_SEED=<seed>``).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from chaoskit import (
    LINK_ONLY_PROBLEMS,
    assert_verify_clean,
    cli,
    integrity_ok,
    query,
    run_in,
    spawn,
)
from indexserver import IndexServer
from wheelbuilder import make_wheel

from cachedb.audit.verify import find_problems
from cachedb.store import open_cache

# The kill tests run on SQLite and on PostgreSQL (there marked slow: half a minute each);
# their many-rounds versions and the first-command ones on SQLite only (PostgreSQL's
# racing first commands: test_postgres.py).
pytestmark = [
    pytest.mark.skipif(os.name == "nt", reason="SIGKILL"),
    pytest.mark.usefixtures("backend"),
    pytest.mark.slow_on_postgresql,
]

PACKAGES = ("beta", "gamma", "delta")  # beta pulls in alpha
MODULES = ("alpha", "beta", "gamma", "delta")
CHECK = "import alpha, beta, gamma, delta, beta.sub3.m199; assert alpha.m299.x == 299"


def _publish(server: IndexServer, wheels: Path) -> None:
    """Four packages with enough files that unpacking and linking take real time."""
    alpha = {"alpha/__init__.py": "from . import m299\n"}
    alpha |= {f"alpha/m{i}.py": f"x = {i}\n" + "# padding\n" * 40 for i in range(300)}
    beta = {"beta/__init__.py": "import alpha\n"}
    beta |= {f"beta/sub{j}/__init__.py": "" for j in range(4)}
    beta |= {f"beta/sub{i // 50}/m{i}.py": f"y = {i}\n" * 20 for i in range(200)}
    gamma: dict[str, str | bytes] = {"gamma/__init__.py": "def main():\n    print('gamma')\n"}
    gamma["gamma/blob.bin"] = bytes(range(256)) * 4096
    delta = {"delta/__init__.py": "D = 1\n"} | {f"delta/d{i}.py": "z = 1\n" for i in range(100)}
    for wheel in [
        make_wheel(wheels, "alpha", "1.0", files=alpha),
        make_wheel(wheels, "beta", "1.0", files=beta, requires=["alpha>=1"]),
        make_wheel(
            wheels, "gamma", "1.0", files=gamma,
            entry_points={"console_scripts": {"gamma": "gamma:main"}},
        ),
        make_wheel(wheels, "delta", "1.0", files=delta),
    ]:  # fmt: skip
        server.add(wheel)


@dataclass
class Rig:
    tmp: Path
    server: IndexServer
    seed: int
    cache: Path = field(init=False)
    rng: random.Random = field(init=False)
    outcomes: Counter[str] = field(default_factory=Counter)
    venvs: list[Path] = field(default_factory=list)
    _n: int = 0

    def __post_init__(self) -> None:
        self.cache = self.tmp / "cache"
        self.reseed(self.seed)

    def reseed(self, default: int) -> None:
        self.seed = int(os.environ.get("CHAOS_SEED", default))
        self.rng = random.Random(self.seed)

    def venv(self) -> Path:
        self._n += 1
        return self.tmp / f"venv{self._n}"

    def install_args(self, venv: Path, cache: Path | None = None) -> list[str | Path]:
        return [
            "install", "--cache-dir", cache or self.cache, "--index-url", self.server.url,
            "--venv", venv, "--link-mode", "copy", *PACKAGES,
        ]  # fmt: skip

    def install(self, venv: Path, cache: Path | None = None) -> None:
        proc = cli(*self.install_args(venv, cache))
        assert proc.returncode == 0, proc.stderr
        self.check_env(venv)

    def check_env(self, venv: Path) -> None:
        ran = run_in(venv, CHECK)
        assert ran.returncode == 0, f"{venv}: {ran.stderr}"
        if venv not in self.venvs:
            self.venvs.append(venv)

    def timed(self, *args: str | Path) -> float:
        """Run a command to completion and return how long it took (to aim the kills)."""
        started = time.monotonic()
        proc = cli(*args)
        assert proc.returncode == 0, proc.stderr
        return time.monotonic() - started

    def kill_after(self, args: list[str | Path], duration: float) -> float:
        """Start ``args``, SIGKILL it somewhere in its run; returns the delay used."""
        delay = duration * self.rng.uniform(0.1, 0.95)
        proc = spawn(*args)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        code = proc.wait()
        self.outcomes["killed" if code == -signal.SIGKILL else "finished first"] += 1
        return delay


def check_after_kill(cache: Path) -> None:
    """The database is sound and no live row names a missing or partial tree."""
    if not (cache / "cachedb.sqlite3").exists() and not os.environ.get("CACHEDB_DB_URL"):
        return
    integrity_ok(cache)
    with open_cache(cache) as c:
        problems = find_problems(c, contents=True)
    bad = [p.line() for p in problems if p.kind not in LINK_ONLY_PROBLEMS]
    assert bad == [], bad


def check_at_end(rig: Rig) -> None:
    """A final gc leaves no crash leftovers; verify is clean; every environment works."""
    proc = cli("gc", "--cache-dir", rig.cache, "--grace", "0s")
    assert proc.returncode == 0, proc.stderr
    problems = [
        p["kind"] for p in _verify_repaired(rig.cache) if p["kind"] not in LINK_ONLY_PROBLEMS
    ]
    assert problems == []
    assert_verify_clean(rig.cache)
    integrity_ok(rig.cache)
    assert list((rig.cache / "tmp").iterdir()) == []
    live = {str(r[0]) for r in query(rig.cache, "SELECT id FROM archives WHERE deleted_at IS NULL")}
    assert {p.name for p in (rig.cache / "archive-v0").iterdir()} == live
    for venv in rig.venvs:
        rig.check_env(venv)


def _verify_repaired(cache: Path) -> list[dict[str, str]]:
    from chaoskit import verify

    problems = verify(cache)
    if problems:
        verify(cache, repair=True)
    return problems


def _round(rig: Rig, number: int, what: str, body: object) -> None:
    assert callable(body)
    try:
        body()
    except BaseException as exc:
        exc.add_note(f"chaos: seed={rig.seed} round={number} ({what}); rerun with CHAOS_SEED")
        raise


@pytest.fixture
def rig(tmp_path: Path, index_server: IndexServer, request: pytest.FixtureRequest) -> Iterator[Rig]:
    _publish(index_server, tmp_path / "wheels")
    r = Rig(tmp_path, index_server, 0)
    yield r
    print(f"\n{request.node.name}: seed={r.seed} {dict(r.outcomes)}")


# -- installs, cold and warm -----------------------------------------------------------


def _kill_installs(rig: Rig, rounds: int, seed: int) -> None:
    rig.reseed(seed)
    # An uninterrupted cold and warm run, to aim the kills.
    first = rig.venv()
    cold = rig.timed(*rig.install_args(first))
    rig.check_env(first)
    warm = rig.timed(*rig.install_args(rig.venv()))
    for number in range(rounds):
        kind = ("cold", "warm")[number % 2]

        def body(kind: str = kind) -> None:
            if kind == "cold":
                # Evict everything (environments are copies, so they keep working).
                proc = cli("clean", "--cache-dir", rig.cache, "--grace", "0s")
                assert proc.returncode == 0, proc.stderr
            venv = rig.venv()
            args = rig.install_args(venv)
            rig.kill_after(args, cold if kind == "cold" else warm)
            check_after_kill(rig.cache)
            # The same command again, into the same half-made environment.
            rig.install(venv)
            check_after_kill(rig.cache)

        _round(rig, number, f"kill {kind} install", body)
    check_at_end(rig)


def test_killed_install_then_next_install_succeeds(rig: Rig) -> None:
    _kill_installs(rig, rounds=4, seed=11)


@pytest.mark.backends("sqlite")
@pytest.mark.slow
def test_killed_install_many_rounds(rig: Rig) -> None:
    _kill_installs(rig, rounds=24, seed=12)


# -- gc and clean ----------------------------------------------------------------------


def _kill_gcs(rig: Rig, rounds: int, seed: int) -> None:
    rig.reseed(seed)
    first = rig.venv()
    rig.install(first)
    gc_args: list[list[str | Path]] = [
        ["gc", "--cache-dir", rig.cache, "--grace", "0s", "--max-size", "0"],
        ["clean", "--cache-dir", rig.cache, "--grace", "0s"],
    ]
    durations = [rig.timed(*gc_args[0])]
    rig.install(rig.venv())
    durations.append(rig.timed(*gc_args[1]))
    for number in range(rounds):
        which = number % 2

        def body(which: int = which) -> None:
            # Something to collect: a fresh environment makes the cache warm again.
            rig.install(rig.venv())
            rig.kill_after(gc_args[which], durations[which])
            check_after_kill(rig.cache)
            # The interrupted sweep is finished by the next run; installs work after it.
            proc = cli("gc", "--cache-dir", rig.cache, "--grace", "0s")
            assert proc.returncode == 0, proc.stderr
            check_after_kill(rig.cache)
            rig.install(rig.venv())

        _round(rig, number, "kill " + str(gc_args[which][0]), body)
    check_at_end(rig)


def test_killed_gc_is_finished_by_the_next_run(rig: Rig) -> None:
    _kill_gcs(rig, rounds=3, seed=21)


@pytest.mark.backends("sqlite")
@pytest.mark.slow
def test_killed_gc_many_rounds(rig: Rig) -> None:
    _kill_gcs(rig, rounds=16, seed=22)


# -- the very first command on an empty cache (creating it, migrating the database) ----


def _kill_creation(rig: Rig, rounds: int, seed: int) -> None:
    rig.reseed(seed)
    duration = rig.timed(*rig.install_args(rig.venv(), rig.tmp / "calibrate"))
    for number in range(rounds):

        def body(number: int = number) -> None:
            cache = rig.tmp / f"fresh{number}"
            venv = rig.venv()
            # Aim early: creating the cache and its schema is the first thing a run does.
            rig.kill_after(rig.install_args(venv, cache), duration * 0.6)
            # Only the database file itself: opening the cache here would finish a
            # half-done migration, which is the next command's job.
            if (cache / "cachedb.sqlite3").exists():
                integrity_ok(cache)
            rig.install(venv, cache)
            assert_verify_clean(cache)
            shutil.rmtree(cache)

        _round(rig, number, "kill the first install into an empty cache", body)


@pytest.mark.backends("sqlite")
def test_killed_cache_creation_then_next_install_succeeds(rig: Rig) -> None:
    _kill_creation(rig, rounds=2, seed=31)


@pytest.mark.backends("sqlite")
@pytest.mark.slow
def test_killed_cache_creation_many_rounds(rig: Rig) -> None:
    _kill_creation(rig, rounds=10, seed=32)
