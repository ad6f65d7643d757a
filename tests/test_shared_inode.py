"""Hardlinked environments share their files' inodes with the archive: an edit in one
environment edits the archive and every other environment. ``verify --check-contents
--repair`` quarantines the archive and re-links every environment that held it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from indexserver import IndexServer
from installtools import cachedb
from wheelbuilder import make_wheel

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX venv layout")

CLEAN = 'VERSION = "1.0"\n'


def _module(venv: Path) -> Path:
    (found,) = venv.glob("lib/python*/site-packages/good/__init__.py")
    return found


def _active(cache: Path, venv: Path) -> list[tuple[str, str, str]]:
    import sqlite3

    conn = sqlite3.connect(cache / "cachedb.sqlite3")
    try:
        return list(
            conn.execute(
                "SELECT i.archive_id, i.link_mode, coalesce(a.deleted_at, 'live') FROM installs i"
                " JOIN environments e ON e.id = i.environment_id"
                " JOIN archives a ON a.id = i.archive_id"
                " WHERE i.removed_at IS NULL AND e.path = ?",
                (str(venv.resolve()),),
            )
        )
    finally:
        conn.close()


def _tampered_world(
    tmp_path: Path, server: IndexServer, hosts: tuple[str, str] = ("host-a", "host-a")
) -> tuple[Path, list[Path]]:
    server.add(make_wheel(tmp_path / "wheels", "good", "1.0", files={"good/__init__.py": CLEAN}))
    cache = tmp_path / "cache"
    venvs = [tmp_path / "venv1", tmp_path / "venv2"]
    for venv, host in zip(venvs, hosts, strict=True):
        proc = cachedb(
            "install", "--cache-dir", cache, "--index-url", server.url,
            "--venv", venv, "--link-mode", "hardlink", "good",
            env={"CACHEDB_HOST_ID": host},
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    # Edited in place (same inode), as an editor that writes through would.
    with open(_module(venvs[0]), "r+") as fh:
        fh.write('VERSION = "evil"\n')
    assert _module(venvs[1]).read_text().startswith('VERSION = "evil"')  # the trade-off
    return cache, venvs


def _repair(cache: Path, server: IndexServer, *, exit_code: int) -> list[dict[str, Any]]:
    """``verify --check-contents --repair`` on host-a; the problems it reports."""
    proc = cachedb(
        "verify", "--cache-dir", cache, "--check-contents", "--repair", "--json",
        env={"CACHEDB_INDEX_URL": server.url, "CACHEDB_HOST_ID": "host-a"},
    )  # fmt: skip
    assert proc.returncode == exit_code, proc.stdout + proc.stderr
    problems: list[dict[str, Any]] = json.loads(proc.stdout)["problems"]
    return problems


def test_repair_relinks_every_environment_holding_a_tampered_archive(
    tmp_path: Path, index_server: IndexServer
) -> None:
    cache, venvs = _tampered_world(tmp_path, index_server)
    (problem,) = _repair(cache, index_server, exit_code=0)
    assert problem["kind"] == "archive-tampered"
    assert sorted(e["path"] for e in problem["environments"]) == sorted(
        str(v.resolve()) for v in venvs
    )
    assert all(e["relinked"] for e in problem["environments"]), problem
    for venv in venvs:
        assert _module(venv).read_text() == CLEAN
        # The database claims only what the environment really holds: a live, clean archive.
        ((archive_id, mode, state),) = _active(cache, venv)
        assert (mode, state) == ("hardlink", "live")
        archived = cache / "archive-v0" / archive_id / "good" / "__init__.py"
        assert archived.read_text() == CLEAN
        assert os.path.samefile(archived, _module(venv))
    proc = cachedb("verify", "--cache-dir", cache, "--check-contents")
    assert proc.returncode == 0, proc.stdout


def test_repair_that_cannot_relink_says_so_and_the_database_claims_nothing(
    tmp_path: Path, index_server: IndexServer
) -> None:
    cache, venvs = _tampered_world(tmp_path, index_server)
    index_server.faults["good"] = "404"
    (problem,) = _repair(cache, index_server, exit_code=1)
    assert sorted(e["path"] for e in problem["environments"]) == sorted(
        str(v.resolve()) for v in venvs
    )
    assert not any(e["relinked"] for e in problem["environments"]), problem
    for venv in venvs:
        assert _active(cache, venv) == []  # no install row claims the tampered copy


def test_repair_never_relinks_another_hosts_environment(
    tmp_path: Path, index_server: IndexServer
) -> None:
    """The path of another machine's environment names nothing on this one: the repair
    writes nothing there, and says where the reinstall must run instead."""
    cache, (ours, theirs) = _tampered_world(tmp_path, index_server, ("host-a", "host-b"))
    (problem,) = _repair(cache, index_server, exit_code=1)
    by_path = {e["path"]: e for e in problem["environments"]}
    assert by_path[str(ours.resolve())]["relinked"]
    other = by_path[str(theirs.resolve())]
    assert not other["relinked"] and "host-b" in other["error"], other
    assert _module(ours).read_text() == CLEAN
    assert _module(theirs).read_text().startswith('VERSION = "evil"')  # not written from here
    assert _active(cache, theirs) == []  # and the database no longer claims it is clean


def test_repair_fetches_from_the_index_the_configuration_names(
    tmp_path: Path, index_server: IndexServer
) -> None:
    """The re-link takes its sources where ``install`` run in the same place would: here a
    ``cachedb.toml`` names the index, and no variable does."""
    cache, venvs = _tampered_world(tmp_path, index_server)
    project = tmp_path / "project"
    project.mkdir()
    (project / "cachedb.toml").write_text(f'index-url = "{index_server.url}"\n')
    # Anything not on 127.0.0.1 goes to a closed port, so a wrong index fails here, offline.
    offline = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    proc = cachedb(
        "verify", "--cache-dir", cache, "--check-contents", "--repair", "--json",
        env={"CACHEDB_HOST_ID": "host-a", "NO_PROXY": "127.0.0.1,localhost", **offline},
        cwd=project,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (problem,) = json.loads(proc.stdout)["problems"]
    assert all(e["relinked"] for e in problem["environments"]), problem
    for venv in venvs:
        assert _module(venv).read_text() == CLEAN
