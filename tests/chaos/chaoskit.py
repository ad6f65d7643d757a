"""Shared helpers of the chaos suite: the real CLI, database checks, cache invariants.

Everything here drives real processes against real files; nothing is mocked.
Test modules in this directory import it by name (pytest puts the directory of
an ``__init__``-less test module on ``sys.path``).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

VENV_BIN = "Scripts" if sys.platform == "win32" else "bin"
# A generous bound for any one command: a hung command fails the test instead of the run.
COMMAND_TIMEOUT = 180.0

# verify problems a SIGKILL may legitimately leave behind (a link not yet written or
# not yet removed); everything else would mean a registered row names a bad tree.
LINK_ONLY_PROBLEMS = frozenset({"pointer-missing-link", "pointer-wrong-target", "link-without-row"})


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without CACHEDB_* settings (but the test's database), plus
    ``extra``."""
    keep = set(os.environ.get("CACHEDB_TEST_KEEP", "").split())  # the ``backend``'s database
    env = {
        k: v
        for k, v in os.environ.items()
        if (not k.startswith("CACHEDB_") or k in keep) and k != "VIRTUAL_ENV"
    }
    env.update(extra or {})
    return env


def command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "cachedb", *map(str, args)]


def cli(
    *args: str | Path,
    env: Mapping[str, str] | None = None,
    timeout: float = COMMAND_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m cachedb ARGS`` to completion."""
    return subprocess.run(
        command(*args), capture_output=True, text=True, env=base_env(env), timeout=timeout
    )


# Runs argv[2:] in a child and writes that child's peak RSS (KiB) to the file argv[1].
# Measured one process down: a child forked from this (big) test process starts with
# our memory as its high-water mark, one forked from this small launcher does not.
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
os._exit(code if code >= 0 else 128 - code)
"""


def run_bounded(
    *args: str | Path, timeout: float, env: Mapping[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run ``python -m cachedb ARGS``, killing it (and failing) if it outlives ``timeout``;
    also the peak resident memory, in bytes, of it and the children it waited for."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        rss_file = Path(tmp) / "rss"
        err_file = Path(tmp) / "stderr"
        with open(err_file, "wb") as err:
            # A session of its own: on a timeout its workers are killed with it.
            proc = subprocess.Popen(
                [sys.executable, "-c", _LAUNCHER, str(rss_file), *command(*args)],
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=base_env(env),
                start_new_session=True,
            )
            try:
                code = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
                raise AssertionError(f"{args[0]} still running after {timeout}s: killed") from None
        text = err_file.read_text("utf-8", "replace")
        rss = int(rss_file.read_text()) * 1024
    return subprocess.CompletedProcess(proc.args, code, "", text), rss


def spawn(*args: str | Path, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start ``python -m cachedb ARGS`` in the background (output discarded)."""
    return subprocess.Popen(
        command(*args),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=base_env(env),
    )


_NO_OVERRIDE = "-dac_override,-dac_read_search,-fowner"


def unprivileged() -> list[str]:
    """A command prefix under which permission bits apply (root: drop the override caps)."""
    import shutil

    import pytest

    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root, where permission bits do not stop writes, without setpriv")
    return [setpriv, f"--inh-caps={_NO_OVERRIDE}", f"--bounding-set={_NO_OVERRIDE}"]


def make_venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return path


def run_in(venv: Path, code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / VENV_BIN / "python"), "-c", code],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """A failed command that said why in exactly one ``error:`` line (no traceback)."""
    assert proc.returncode != 0, f"expected a failure, got success:\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, proc.stderr
    line = errors[0]
    for fragment in fragments:
        assert fragment.lower() in line.lower(), f"{fragment!r} not in {line!r}"
    return line


# -- the database ------------------------------------------------------------------


def db_file(cache_dir: Path) -> Path:
    return cache_dir / "cachedb.sqlite3"


def query(cache_dir: Path, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
    """Rows of ``sql`` (``?`` parameters) from the cache's database, on either backend."""
    if os.environ.get("CACHEDB_DB_URL"):
        from cachestate import connect

        conn = connect(cache_dir)
    else:
        conn = sqlite3.connect(db_file(cache_dir), timeout=60)
    try:
        return list(conn.execute(sql, tuple(params)).fetchall())
    finally:
        conn.close()


def integrity_ok(cache_dir: Path) -> None:
    """``PRAGMA integrity_check`` and ``foreign_key_check`` are both clean (SQLite); on
    PostgreSQL, which checks foreign keys on every write, that no row names a missing
    archive all the same."""
    if os.environ.get("CACHEDB_DB_URL"):
        for table in ("pointers", "installs", "archive_files"):
            broken = query(
                cache_dir,
                f"SELECT count(*) FROM {table} t"
                " WHERE NOT EXISTS (SELECT 1 FROM archives a WHERE a.id = t.archive_id)",
            )
            assert broken == [(0,)], (table, broken)
        return
    conn = sqlite3.connect(db_file(cache_dir), timeout=60)
    try:
        result = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
        assert result == ["ok"], result
        broken = conn.execute("PRAGMA foreign_key_check").fetchall()
        assert broken == [], broken
    finally:
        conn.close()


def verify(cache_dir: Path, *, repair: bool = False) -> list[dict[str, str]]:
    """The problems ``cachedb verify --check-contents`` reports (after repairing, if asked)."""
    args: list[str | Path] = ["verify", "--cache-dir", cache_dir, "--check-contents", "--json"]
    if repair:
        args.append("--repair")
    proc = cli(*args)
    assert "Traceback" not in proc.stderr, proc.stderr
    data = json.loads(proc.stdout)
    problems: list[dict[str, str]] = data["problems"]
    if repair:
        assert proc.returncode == 0 and all(p.get("repaired") for p in problems), proc.stdout
    else:
        assert proc.returncode == (0 if data["ok"] else 1), proc.stderr
    return problems


def assert_verify_clean(cache_dir: Path) -> None:
    problems = verify(cache_dir)
    assert problems == [], problems


def assert_rows_name_whole_trees(cache_dir: Path) -> list[dict[str, str]]:
    """No registered row points at a missing or partial tree; returns the other problems.

    Only link-level problems (what a kill between a row and its on-disk link
    leaves) are tolerated, and ``--repair`` must then make verify clean.
    """
    integrity_ok(cache_dir)
    problems = verify(cache_dir)
    bad = [p for p in problems if p["kind"] not in LINK_ONLY_PROBLEMS]
    assert bad == [], bad
    if problems:
        verify(cache_dir, repair=True)
        assert_verify_clean(cache_dir)
    return problems


# -- what is on disk ---------------------------------------------------------------


def paths_named(roots: Iterable[Path], token: str) -> list[Path]:
    """Every path under ``roots`` whose name contains ``token`` (symlinks not followed)."""
    found: list[Path] = []
    for root in roots:
        if not root.exists():
            continue
        if token in root.name:
            found.append(root)
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                if token in name:
                    found.append(Path(dirpath) / name)
    return found


def live_archives(cache_dir: Path) -> list[str]:
    return [str(r[0]) for r in query(cache_dir, "SELECT id FROM archives WHERE deleted_at IS NULL")]
