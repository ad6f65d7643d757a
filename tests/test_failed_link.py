"""An install that fails while linking into the environment (after its wheels were
stored): the environment is exactly as before; the cache keeps what it stored, and
says so in the event log; nothing claims the environment holds it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cachestate import connect
from indexserver import IndexServer
from installtools import cachedb, make_venv
from wheelbuilder import make_wheel

# On SQLite and on PostgreSQL (the commands get the database ``backend`` names).
pytestmark = [
    pytest.mark.skipif(os.name == "nt", reason="POSIX venv layout"),
    pytest.mark.usefixtures("backend"),
]


def _rows(cache: Path, sql: str) -> list[tuple[object, ...]]:
    conn = connect(cache)
    try:
        return list(conn.execute(sql))
    finally:
        conn.close()


def _tree(root: Path) -> dict[str, str]:
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if "__pycache__" in rel or rel == ".lock":  # the environment's lock file, as uv's
            continue
        out[rel] = "dir" if path.is_dir() else path.read_bytes().hex()
    return out


def test_failure_at_link_time_keeps_what_was_stored_and_nothing_else(
    tmp_path: Path, index_server: IndexServer
) -> None:
    files = {"demo/__init__.py": "V = 1\n", "demo/zzz.py": "Z = 1\n"}
    index_server.add(make_wheel(tmp_path / "wheels", "demo", "1.0", files=files))
    cache, venv = tmp_path / "cache", tmp_path / "venv"
    make_venv(venv)
    (site,) = venv.glob("lib/python*/site-packages")
    (site / "demo" / "zzz.py").mkdir(parents=True)  # a directory where a file must go
    (site / "demo" / "zzz.py" / "keep").write_text("mine")
    before = _tree(venv)
    command = ["install", "--cache-dir", cache, "--index-url", index_server.url, "--venv", venv]

    proc = cachedb(*command, "--link-mode", "copy", "demo")

    assert proc.returncode == 1, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert _tree(venv) == before  # the environment is exactly as it was
    # The cache keeps the valid, immutable archive and its pointer ...
    ((archive_id,),) = _rows(cache, "SELECT id FROM archives WHERE deleted_at IS NULL")
    assert _rows(cache, "SELECT archive_id FROM pointers") == [(archive_id,)]
    # ... but nothing says the environment holds it, and nothing stays leased.
    assert _rows(cache, "SELECT count(*) FROM installs") == [(0,)]
    assert _rows(cache, "SELECT count(*) FROM leases") == [(0,)]
    assert _rows(cache, "SELECT count(*) FROM environments") == [(0,)]
    # The event log says the link failed after the store, and what was kept.
    kept = _rows(cache, "SELECT new_archive FROM events WHERE kind = 'install.failed'")
    assert kept == [(archive_id,)]
    verify = cachedb("verify", "--cache-dir", cache, "--check-contents")
    assert verify.returncode == 0, verify.stdout
    # Once the obstacle is gone, the next install links what was kept: no download.
    (site / "demo" / "zzz.py" / "keep").unlink()
    (site / "demo" / "zzz.py").rmdir()
    index_server.requests.clear()
    proc = cachedb(*command, "--link-mode", "copy", "--offline", "demo")
    assert proc.returncode == 0, proc.stderr
    assert not [r for r in index_server.requests if r.startswith("/files/")]
    assert (site / "demo" / "zzz.py").read_text() == "Z = 1\n"
