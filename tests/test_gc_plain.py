"""gc, ls and info in plain SQL: the same on sqlite3 as through the ORM, and without importing it.

gc with nothing to collect, its dry run, ``ls`` and ``info`` run on sqlite3
directly; a database URL sqlite3 cannot take as a plain file (here one with a
query string) goes through SQLAlchemy instead, with the same statements.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from wheelbuilder import dist_info_name, make_wheel

from cachedb.audit.info import cache_info
from cachedb.audit.ls import list_archives
from cachedb.audit.output import text_table
from cachedb.gc import Options, run
from cachedb.store import WHEELS_BUCKET, Cache, InstallRecord, open_cache, pointer_key, source_key

SOURCE = source_key("https://x/simple")
HOUR = 3600.0
OLD = time.time() - 2 * HOUR

# Every test runs on SQLite and on PostgreSQL but those about SQLite or no database.
pytestmark = pytest.mark.usefixtures("backend")


def store(cache: Cache, wheels: Path, name: str, version: str = "1.0") -> str:
    wheel = make_wheel(wheels, name, version)
    key = pointer_key(SOURCE, name, wheel.name[: -len(".whl")])
    return cache.put(WHEELS_BUCKET, key, wheel).archive_id


def rows(cache: Cache, sql: str) -> list[tuple[Any, ...]]:
    return cache.db.read_sql(lambda run: run(sql))


def write(cache: Cache, sql: str) -> None:
    cache.db.write_sql(lambda run: run(sql))


def make_env(root: Path, dists: list[str]) -> Path:
    site = root / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    for name in dists:
        (site / dist_info_name(name, "1.0")).mkdir()
    return root


def _scenario(tmp_path: Path, db_url: str | None) -> dict[str, Any]:
    """Every kind of garbage at once; returns what gc and the audits said and left."""
    wheels = tmp_path / "wheels"
    with open_cache(tmp_path / "cache", db_url) as cache:
        ids = {n: store(cache, wheels, n) for n in ("alpha", "beta", "gamma", "delta", "eps")}
        env = make_env(tmp_path / "env", ["alpha", "beta"])
        gone_env = make_env(tmp_path / "gone", ["gamma"])
        for prefix, names in ((env, ["alpha", "beta"]), (gone_env, ["gamma"])):
            cache.record_install(
                str(prefix),
                sys.executable,
                [InstallRecord(ids[n], n, "1.0", "symlink") for n in names],
            )
        write(cache, f"UPDATE archives SET created_at = {OLD}")
        write(cache, "DELETE FROM pointers WHERE archive_id <> '{}'".format(ids["eps"]))
        shutil.rmtree(gone_env)
        shutil.rmtree(env / "lib/python3.11/site-packages" / dist_info_name("beta", "1.0"))
        shutil.rmtree(cache.archive_path(ids["delta"]))  # a row whose tree vanished
        stray = cache.layout.archives / ("e" * 64)  # a tree no row knows
        stray.mkdir()
        (cache.layout.archives / "stray-file").write_text("x")
        for path in (stray, cache.layout.archives / "stray-file"):
            os.utime(path, (OLD, OLD))

        dry = run(cache, Options(), dry_run=True)
        report = run(cache, Options())
        again = run(cache, Options())
        alive = {r[0] for r in rows(cache, "SELECT id FROM archives WHERE deleted_at IS NULL")}
        events = sorted(r[0] for r in rows(cache, "SELECT kind FROM events"))
        listed = [(x.name, x.version) for x in list_archives(cache)]
        info = cache_info(cache)
    names = {v: k for k, v in ids.items()}
    return {
        "dry": json.loads(dry.to_json()) | {"seconds": 0},
        "report": json.loads(report.to_json()) | {"seconds": 0},
        "again": json.loads(again.to_json()) | {"seconds": 0},
        "alive": sorted(names[a] for a in alive),
        "events": events,
        "listed": listed,
        "info": {k: v for k, v in info.items() if k not in ("cache_dir", "database_url")},
        "ids": ids,
    }


@pytest.mark.backends("sqlite")
def test_gc_on_sqlite3_and_through_the_orm_agree(tmp_path: Path) -> None:
    plain = _scenario(tmp_path / "plain", None)
    db = tmp_path / "orm" / "elsewhere.sqlite3"
    db.parent.mkdir()
    # sqlite3 is not used for a URL with a query string: this run goes through SQLAlchemy.
    orm = _scenario(tmp_path / "orm", f"sqlite:///{db}?timeout=30")
    ids = plain.pop("ids")
    orm.pop("ids")

    report = plain["report"]
    # alpha stays (installed by symlink in a living environment), eps keeps its pointer;
    # beta left the environment, gamma's environment is gone, delta's tree vanished.
    assert plain["alive"] == ["alpha", "eps"]
    assert sorted(a["filename"] for a in report["archives"]) == [
        "beta-1.0-py3-none-any.whl",
        "gamma-1.0-py3-none-any.whl",
    ]
    assert report["stale_environments"] == [str(tmp_path / "plain" / "gone")]
    assert report["orphans"] == [f"archive-v0/{'e' * 64}", "archive-v0/stray-file"]
    assert sorted(report["orphan_links"]) == sorted(
        f"{WHEELS_BUCKET}/{pointer_key(SOURCE, n, f'{n}-1.0-py3-none-any')}"
        for n in ("alpha", "beta", "gamma", "delta")
    )
    # The dry run does not look for vanished trees, so it counts delta among the removals.
    assert sorted(a["id"] for a in plain["dry"]["archives"]) == sorted(
        ids[n] for n in ("beta", "gamma", "delta")
    )
    assert plain["dry"]["orphans"] == report["orphans"]
    assert plain["again"]["archives"] == [] and plain["again"]["orphans"] == []
    assert "archive.vanished" in plain["events"] and "environment.stale" in plain["events"]
    assert plain["listed"] == [("alpha", "1.0"), ("eps", "1.0")]
    assert plain["info"]["schema_revision"] is not None

    for result in (plain, orm):
        result["report"]["stale_environments"] = []
        result["dry"]["stale_environments"] = []
    assert orm == plain


@pytest.mark.backends("postgresql")
def test_gc_on_postgresql_says_and_leaves_what_it_does_on_sqlite(
    tmp_path: Path, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_pg = _scenario(tmp_path, backend)
    monkeypatch.delenv("CACHEDB_DB_URL")
    shutil.rmtree(tmp_path)
    tmp_path.mkdir()
    on_sqlite = _scenario(tmp_path, None)
    assert on_pg.pop("ids") == on_sqlite.pop("ids")
    assert on_pg == on_sqlite


# Runs the CLI in a fresh interpreter, then prints which modules it loaded.
_PROBE = """\
import json, sys
from cachedb.cli import main
code = main(sys.argv[1:])
print("\\n" + json.dumps(sorted(sys.modules)))
sys.exit(code)
"""


@pytest.mark.parametrize(
    "args", [["gc"], ["gc", "--dry-run"], ["clean", "nothing-here"], ["ls"], ["info"]]
)
def test_nothing_to_collect_and_audits_do_not_load_the_orm(
    tmp_path: Path, args: list[str], backend: str | None
) -> None:
    with open_cache(tmp_path / "cache") as cache:
        store(cache, tmp_path / "wheels", "alpha")
    keep = ("CACHEDB_DB_URL",)  # the backend's database
    env = {k: v for k, v in os.environ.items() if not k.startswith("CACHEDB_") or k in keep}
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, *args, "--cache-dir", str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    loaded = json.loads(out.stdout.splitlines()[-1])
    assert not [m for m in loaded if m == "sqlalchemy" or m.startswith("sqlalchemy.")]


def test_ls_orders_versions_of_a_name_by_pep_440(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    with open_cache(tmp_path / "cache") as cache:
        for name, version in (("zeta", "1.0"), ("alpha", "1.10"), ("alpha", "1.9"), ("mid", "2")):
            store(cache, wheels, name, version)
        listed = [(x.name, x.version) for x in list_archives(cache)]
        assert [(x.name, x.version) for x in list_archives(cache, "ALPHA*")] == listed[:2]
    assert listed == [("alpha", "1.9"), ("alpha", "1.10"), ("mid", "2"), ("zeta", "1.0")]


@pytest.mark.backends("sqlite")  # no database involved
def test_text_table_pads_columns_and_right_aligns_numbers() -> None:
    columns = ["name", "n", "blob", "empty"]
    table = text_table(columns, [("a", 1, b"\x00\xff", None), ("longer", 2.5, None, None)])
    assert table.splitlines() == [
        "name      n  blob  empty",
        "a         1  00ff",
        "longer  2.5",
    ]
    assert text_table(["x", "yy"], []) == "x  yy\n"
    assert text_table([], [(), ()]) == "\n\n\n"
