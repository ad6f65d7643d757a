"""cachedb sql / ls / info / verify against real caches built through the store API."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from pgserver import SUPERUSER, PgServer
from sqlalchemy import update
from sqlalchemy.orm import Session
from wheelbuilder import make_wheel

from cachedb.cli import main
from cachedb.db.migrate import HEAD
from cachedb.db.models import Archive
from cachedb.errors import CachedbError
from cachedb.store import WHEELS_BUCKET, Cache, InstallRecord, open_cache, pointer_key, source_key

DOCS = Path(__file__).resolve().parents[1] / "docs" / "schema.md"
SOURCE = source_key("https://x/simple")
SHARED = b"shared payload " * 100


@dataclass
class Built:
    root: Path
    ids: dict[str, str]  # label -> archive id
    env: Path


# Every test runs on SQLite and on PostgreSQL but those about SQLite itself (``built``)
# and those that need no database.
pytestmark = pytest.mark.usefixtures("backend")


def _key(wheel: Path, name: str) -> str:
    return pointer_key(SOURCE, name, wheel.name[: -len(".whl")])


def _store(cache: Cache, wheel: Path, name: str) -> str:
    return cache.put(WHEELS_BUCKET, _key(wheel, name), wheel).archive_id


def _build(tmp_path: Path, db_url: str | None) -> Built:
    root = tmp_path / "cache"
    wheels = tmp_path / "wheels"
    env = tmp_path / "env"
    env.mkdir()
    ids: dict[str, str] = {}
    with open_cache(root, db_url) as cache:
        ids["req230"] = _store(cache, make_wheel(wheels, "requests", "2.30.0"), "requests")
        ids["req231"] = _store(cache, make_wheel(wheels, "requests", "2.31.0"), "requests")
        ids["req230-py2"] = _store(
            cache, make_wheel(wheels, "requests", "2.30.0", tag="py2.py3-none-any"), "requests"
        )
        big = make_wheel(wheels, "bigpkg", "1.0", files={"bigpkg/blob.bin": os.urandom(200_000)})
        ids["big"] = _store(cache, big, "bigpkg")
        ids["old"] = _store(cache, make_wheel(wheels, "oldpkg", "0.1"), "oldpkg")
        for name in ("alpha", "beta"):
            files: dict[str, bytes | str] = {
                f"{name}/__init__.py": f"# {name}\n",
                f"{name}/data.bin": SHARED,
            }
            ids[name] = _store(cache, make_wheel(wheels, name, "1.0", files=files), name)
        first = make_wheel(wheels / "a", "swapme", "1.0", files={"swapme/__init__.py": "A = 1\n"})
        second = make_wheel(wheels / "b", "swapme", "1.0", files={"swapme/__init__.py": "B = 2\n"})
        ids["swap-old"] = _store(cache, first, "swapme")
        ids["swap-new"] = _store(cache, second, "swapme")
        cache.record_install(
            str(env),
            sys.executable,
            [
                InstallRecord(ids["req230"], "requests", "2.30.0", "symlink"),
                InstallRecord(ids["big"], "bigpkg", "1.0", "copy"),
            ],
        )
        long_ago = time.time() - 100 * 86400

        def _backdate(session: Session) -> None:
            session.execute(
                update(Archive).where(Archive.id == ids["old"]).values(last_used_at=long_ago)
            )

        cache.db.write(_backdate)
    return Built(root, ids, env)


@pytest.fixture
def built(tmp_path: Path) -> Built:
    """A cache on SQLite (the tests of SQLite's own locks use this one)."""
    return _build(tmp_path, None)


@pytest.fixture
def built_any(tmp_path: Path, db_url: str | None) -> Built:
    """The same cache on each backend; ``cachedb`` commands find its database (``backend``)."""
    return _build(tmp_path, db_url)


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cachedb", *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "CACHEDB_DB_URL": ""},
    )


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def sql_json(capsys: pytest.CaptureFixture[str], root: Path, query: str) -> list[dict[str, object]]:
    code, out, err = cli(capsys, "sql", "--cache-dir", str(root), "--format", "json", query)
    assert code == 0, err
    rows: list[dict[str, object]] = json.loads(out)
    return rows


def db_files(root: Path) -> dict[str, bytes | None]:
    out: dict[str, bytes | None] = {}
    for suffix in ("", "-wal"):
        path = root / f"cachedb.sqlite3{suffix}"
        out[suffix] = path.read_bytes() if path.exists() else None
    return out


# -- sql: read-only --------------------------------------------------------------

WRITES = [
    "INSERT INTO events (at, kind, subject, pid, command) VALUES (0, 'x', 'x', 0, 'x')",
    "UPDATE archives SET version = '9'",
    "DELETE FROM pointers",
    "REPLACE INTO leases (id, archive_id, pid, host, created_at, expires_at)"
    " VALUES (1, 'a', 1, 'h', 0, 0)",
    "DROP TABLE events",
    "DROP VIEW v_archives",
    "CREATE TABLE t (x)",
    "CREATE TEMP TABLE t (x)",
    "CREATE INDEX ix ON events (pid)",
    "ALTER TABLE events ADD COLUMN y",
    "ATTACH DATABASE 'other.sqlite3' AS other",
    "PRAGMA journal_mode=DELETE",
    "PRAGMA user_version=5",
    "PRAGMA writable_schema=ON",
    "VACUUM",
    "VACUUM INTO 'copy.sqlite3'",
    "ANALYZE",
    "BEGIN IMMEDIATE",
    "SELECT load_extension('x')",
    "WITH n AS (SELECT 1 AS x) INSERT INTO events (at, kind, subject, pid, command)"
    " SELECT x, 'k', 's', 0, 'c' FROM n",
]


@pytest.mark.backends("sqlite")
@pytest.mark.parametrize("statement", WRITES)
def test_sql_refuses_every_write(
    built: Built,
    statement: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    before = db_files(built.root)
    code, out, err = cli(capsys, "sql", "--cache-dir", str(built.root), statement)
    assert code != 0
    assert err.startswith("error: refused: cachedb sql is read-only")
    assert err.count("\n") == 1 and out == ""
    after = db_files(built.root)
    assert after[""] == before[""]
    assert after["-wal"] == before["-wal"] or (before["-wal"] is None and not after["-wal"])
    assert not (tmp_path / "copy.sqlite3").exists()
    assert not (tmp_path / "other.sqlite3").exists()


@pytest.mark.backends("sqlite")
def test_sql_write_from_stdin_in_a_subprocess(built: Built) -> None:
    before = db_files(built.root)
    result = run("sql", "--cache-dir", str(built.root), stdin="DELETE FROM archives;\n")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "error: refused: cachedb sql is read-only (DELETE from archives)"
    ]
    assert db_files(built.root)[""] == before[""]
    assert len(sql_rows(built.root, "SELECT id FROM archives")) == len(built.ids)


def test_a_command_process_delivers_all_its_output_through_a_pipe(built_any: Built) -> None:
    # The process leaves without the interpreter's teardown: what its streams
    # still buffer must reach the reader all the same, whatever the exit code.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    built = built_any
    count = 20_000  # rows: many times a pipe's and a stream's buffer
    query = (
        f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) "
        "SELECT i FROM n"
    )
    for args, code, out in [
        (["--format", "csv", query], 0, "\n".join(["i", *map(str, range(1, count + 1))])),
        (["SELECT nope FROM archives"], 2, ""),
    ]:
        result = subprocess.run(
            [sys.executable, "-m", "cachedb", "sql", "--cache-dir", str(built.root), *args],
            capture_output=True,
            text=True,
            check=False,
            env=env,
        )
        assert result.returncode == code, result.stderr
        assert result.stdout.replace("\r\n", "\n").strip() == out
        assert bool(result.stderr) == bool(code)


def sql_rows(root: Path, query: str) -> list[dict[str, str]]:
    result = run("sql", "--cache-dir", str(root), "--format", "csv", query)
    assert result.returncode == 0, result.stderr
    return list(csv.DictReader(io.StringIO(result.stdout)))


@pytest.mark.backends("sqlite")
def test_sql_allows_reading_pragmas(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    columns = sql_json(capsys, built.root, "PRAGMA table_info(archives)")
    assert "last_used_at" in {c["name"] for c in columns}
    assert sql_json(capsys, built.root, "PRAGMA user_version") == [{"user_version": 0}]


@pytest.mark.backends("sqlite")
def test_sql_missing_database_is_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = cli(capsys, "sql", "--cache-dir", str(tmp_path / "none"), "SELECT 1")
    assert code != 0 and err.startswith("error: no metadata database")
    assert not (tmp_path / "none").exists()


@pytest.mark.backends("sqlite")
def test_sql_refuses_other_databases(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = cli(
        capsys,
        "sql",
        "--db-url",
        "mysql://u:secret@h/db",
        "--cache-dir",
        str(tmp_path),
        "SELECT 1",
    )
    assert code != 0 and "only SQLite and PostgreSQL" in err and "secret" not in err


def test_sql_syntax_error_is_one_line(built_any: Built, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = cli(capsys, "sql", "--cache-dir", str(built_any.root), "SELEC 1")
    assert code != 0 and err.startswith("error: SQL error") and err.count("\n") == 1


def test_sql_functions(built_any: Built, capsys: pytest.CaptureFixture[str]) -> None:
    rows = sql_json(
        capsys,
        built_any.root,
        "SELECT version_in('2.30.0', '<2.31') AS a, version_in('2.31.0', '<2.31') AS b,"
        " version_in('2.0rc1', '>=1.0') AS pre, version_in('x', '<1') AS bad,"
        " version_in('1.0', 'nonsense') AS badspec, canonical_name('Foo_Bar.baz') AS n,"
        " human_bytes(1572864) AS h, human_bytes(10) AS small,"
        " version_cmp('1.0', '1.0.0') AS eq, version_cmp('1.10', '1.9') AS gt",
    )
    assert rows == [
        {
            "a": 1,
            "b": 0,
            "pre": 1,
            "bad": None,
            "badspec": None,
            "n": "foo-bar-baz",
            "h": "1.5 MiB",
            "small": "10 B",
            "eq": 0,
            "gt": 1,
        }
    ]


# -- sql: output formats ---------------------------------------------------------

QUERY = "SELECT name, version, pointer_count FROM v_archives ORDER BY name, version, tags"


def test_formats_parse_back(built_any: Built, capsys: pytest.CaptureFixture[str]) -> None:
    expected = sql_json(capsys, built_any.root, QUERY)
    assert len(expected) == len(built_any.ids)
    texts = {}
    for fmt in ("csv", "tsv", "jsonl", "table"):
        code, out, err = cli(
            capsys, "sql", "--cache-dir", str(built_any.root), "--format", fmt, QUERY
        )
        assert code == 0, err
        texts[fmt] = out
    as_str = [{k: str(v) for k, v in row.items()} for row in expected]
    assert list(csv.DictReader(io.StringIO(texts["csv"]))) == as_str
    assert list(csv.DictReader(io.StringIO(texts["tsv"]), delimiter="\t")) == as_str
    assert [json.loads(line) for line in texts["jsonl"].splitlines()] == expected
    assert texts["table"].splitlines()[0].split() == ["name", "version", "pointer_count"]
    assert len(texts["table"].splitlines()) == len(expected) + 1


@pytest.mark.backends("sqlite")
def test_default_format_off_a_tty_is_tsv(built: Built) -> None:
    result = run("sql", "--cache-dir", str(built.root), "SELECT 'a\tb' AS x, NULL AS y")
    assert result.stdout == "x\ty\na\\tb\t\n"


def test_limit_and_query_file(
    built_any: Built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    query = tmp_path / "q.sql"
    query.write_text(QUERY + ";\n")
    code, out, err = cli(
        capsys,
        "sql",
        "--cache-dir",
        str(built_any.root),
        "--file",
        str(query),
        "--format",
        "jsonl",
        "--limit",
        "2",
    )
    assert code == 0, err
    assert [json.loads(line)["name"] for line in out.splitlines()] == ["alpha", "beta"]


# -- the documented queries ----------------------------------------------------------


def documented_queries() -> list[tuple[str, str]]:
    text = DOCS.read_text()
    section = text.split("## Worked audit queries", 1)[1].split("\n## ", 1)[0]
    found = re.findall(r"^### (\d+\. [^\n]+)\n.*?```sql\n(.*?)```", section, re.S | re.M)
    return [(title, query) for title, query in found]


@pytest.mark.backends("sqlite")
def test_docs_have_ten_queries() -> None:
    assert len(documented_queries()) == 10


def test_documented_queries_answer_what_was_set_up(
    built_any: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = built_any.ids
    answers = [sql_json(capsys, built_any.root, query) for _title, query in documented_queries()]
    largest, unused, users, vulnerable, recent, dupes, shared, unreferenced, swaps, envs = answers
    assert largest[0]["name"] == "bigpkg" and str(largest[0]["size"]).endswith(" KiB")
    assert [r["name"] for r in unused] == ["oldpkg"]
    assert users == [
        {
            "environment": str(built_any.env),
            "name": "requests",
            "version": "2.30.0",
            "link_mode": "symlink",
            "installed_iso": users[0]["installed_iso"],
        }
    ]
    assert {r["id"] for r in vulnerable} == {ids["req230"], ids["req230-py2"]}
    kinds = {r["kind"] for r in recent}
    assert {"archive.insert", "pointer.insert", "pointer.swap", "install.insert"} <= kinds
    assert [(r["name"], r["version"], r["archives"]) for r in dupes] == [
        ("requests", "2.30.0", 2),
        ("swapme", "1.0", 2),
    ]

    shared_sha = hashlib.sha256(SHARED).hexdigest()
    row = next(r for r in shared if r["sha256"] == shared_sha)
    assert row["archives"] == 2 and row["duplicate_bytes"] == len(SHARED)
    assert [r["name"] for r in unreferenced] == ["swapme"]
    assert [(r["old_archive"], r["new_archive"]) for r in swaps] == [
        (ids["swap-old"], ids["swap-new"])
    ]
    assert [(r["path"], r["active_installs"]) for r in envs] == [(str(built_any.env), 2)]


# -- ls and info --------------------------------------------------------------------


def test_ls(built_any: Built, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "ls", "--cache-dir", str(built_any.root), "--json")
    assert code == 0
    listed = json.loads(out)
    assert len(listed) == len(built_any.ids)
    code, out, _ = cli(capsys, "ls", "--cache-dir", str(built_any.root), "--json", "Req*")
    rows = json.loads(out)
    assert [(r["name"], r["version"], r["tags"]) for r in rows] == [
        ("requests", "2.30.0", "py2.py3-none-any"),
        ("requests", "2.30.0", "py3-none-any"),
        ("requests", "2.31.0", "py3-none-any"),
    ]
    assert rows[1]["pointer_count"] == 1 and rows[1]["environment_count"] == 1
    assert rows[1]["unpacked_size"] > 0 and rows[1]["last_used_iso"].endswith("Z")
    code, out, _ = cli(capsys, "ls", "--cache-dir", str(built_any.root), "big*")
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["name", "version", "tags"]
    assert lines[1].split()[:3] == ["bigpkg", "1.0", "py3-none-any"]


def test_info(built_any: Built, db_url: str | None, capsys: pytest.CaptureFixture[str]) -> None:
    built = built_any
    code, out, _ = cli(capsys, "info", "--cache-dir", str(built.root), "--json")
    assert code == 0
    info = json.loads(out)
    assert info["cache_dir"] == str(built.root)
    # The user name is hidden with the password: it may be a token.
    shown = db_url.replace(f"://{SUPERUSER}@", "://****@") if db_url else None
    assert info["database_url"] == (shown or f"sqlite:///{built.root / 'cachedb.sqlite3'}")
    assert info["schema_revision"] == HEAD
    assert info["environments"] == 1 and info["stale_environments"] == 0
    buckets = {b["bucket"]: b for b in info["buckets"]}
    assert buckets["wheels-v0"]["pointers"] == len(built.ids) - 1  # one pointer was swapped
    assert buckets["archive-v0"]["archives"] == len(built.ids)
    code, out, _ = cli(capsys, "info", "--cache-dir", str(built.root))
    assert f"schema revision: {HEAD}" in out and "wheels-v0" in out


@pytest.mark.backends("sqlite")  # once: it names its own database (--db-url)
def test_info_hides_a_token_given_as_the_user_name(
    pg_server: PgServer, pg_migrated_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Access tokens are often passed as the user name alone: `info` must not print them.
    token = f"tok{uuid.uuid4().hex[:12]}"
    pg_server.admin(f'CREATE ROLE "{token}" LOGIN SUPERUSER')
    url = pg_migrated_url.replace(f"://{SUPERUSER}@", f"://{token}@")
    args = ["--cache-dir", str(tmp_path / "cache"), "--db-url", url]
    code, out, err = cli(capsys, "info", *args)
    assert code == 0, err
    assert token not in out + err and "postgresql://****@127.0.0.1:" in out
    # The JSON form too (its byte counts are PostgreSQL numerics, written as numbers).
    code, out, err = cli(capsys, "info", "--json", *args)
    assert code == 0, err
    assert token not in out + err
    info = json.loads(out)
    assert info["database_url"] == "postgresql://****@" + url.split("@", 1)[1]
    assert all(isinstance(bucket["bytes"], int) for bucket in info["buckets"])


@pytest.mark.backends("sqlite")  # once: it names its own database (--db-url)
@pytest.mark.parametrize("command", ["info", "sql"])
@pytest.mark.parametrize("userinfo", ["tok3nSECRET", "user:hunter2SECRET"])
def test_unreachable_database_error_hides_credentials(
    command: str, userinfo: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("psycopg")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: nothing listens there
    url = f"postgresql://{userinfo}@127.0.0.1:{port}/cache"
    args = ["--cache-dir", str(tmp_path / "cache"), "--db-url", url]
    code, out, err = cli(capsys, command, *args, *(["SELECT 1"] if command == "sql" else []))
    assert code != 0
    assert "SECRET" not in out + err
    assert f"postgresql://****@127.0.0.1:{port}/cache" in err


# -- verify ---------------------------------------------------------------------------


def verify(capsys: pytest.CaptureFixture[str], root: Path, *extra: str) -> tuple[int, list[str]]:
    code, out, _ = cli(capsys, "verify", "--cache-dir", str(root), *extra)
    return code, out.splitlines()


def test_verify_clean_cache(built_any: Built, capsys: pytest.CaptureFixture[str]) -> None:
    assert verify(capsys, built_any.root, "--check-contents") == (
        0,
        ["ok: database and disk agree"],
    )


def test_verify_finds_and_repairs(
    built_any: Built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, ids = built_any.root, built_any.ids
    archives = root / "archive-v0"
    # A tampered file (same size, so only the hash tells), a vanished archive,
    # a stray old directory, a swapped link and a link without a row.
    (archives / ids["alpha"] / "alpha" / "__init__.py").write_text("# ALPHA\n")

    shutil.rmtree(archives / ids["old"])
    stray = archives / "stray"
    stray.mkdir()
    hour_ago = time.time() - 7200
    os.utime(stray, (hour_ago, hour_ago))
    young = archives / "young"
    young.mkdir()
    link = root / WHEELS_BUCKET / SOURCE / "bigpkg" / "bigpkg-1.0-py3-none-any"
    os.unlink(link)
    os.symlink(os.path.relpath(archives / ids["req231"], link.parent), link)
    orphan = root / WHEELS_BUCKET / SOURCE / "ghost" / "ghost-1.0-py3-none-any"
    orphan.parent.mkdir()
    os.symlink("../../../archive-v0/" + ids["req231"], orphan)

    code, lines = verify(capsys, root)
    assert code == 1
    assert f"archive-missing: {ids['old']}: archive directory is missing" in lines
    assert any(line.startswith("archive-unknown: archive-v0/stray:") for line in lines)
    assert not any("young" in line for line in lines)
    assert any(
        line.startswith("pointer-wrong-target: wheels-v0/") and "bigpkg" in line for line in lines
    )
    assert any(line.startswith("link-without-row:") and "ghost" in line for line in lines)
    assert not any("archive-tampered" in line for line in lines)
    assert len(lines) == 4

    code, out, _ = cli(capsys, "verify", "--cache-dir", str(root), "--check-contents", "--json")
    report = json.loads(out)
    assert code == 1 and report["ok"] is False
    tampered = [p for p in report["problems"] if p["kind"] == "archive-tampered"]
    assert [(p["subject"], p["message"]) for p in tampered] == [
        (ids["alpha"], "alpha/__init__.py has a different sha256 than recorded")
    ]

    code, lines = verify(capsys, root, "--check-contents", "--repair")
    assert code == 0 and len(lines) == 5 and all(" -> " in line for line in lines)
    assert verify(capsys, root, "--check-contents") == (0, ["ok: database and disk agree"])

    quarantined = sorted(p.name for p in (root / "quarantine").iterdir())
    assert any(name.startswith(ids["alpha"]) for name in quarantined)
    assert any(name.startswith("stray-") for name in quarantined)
    assert os.readlink(link) == os.path.relpath(archives / ids["big"], link.parent)
    assert not os.path.lexists(orphan)
    kinds = {r["kind"] for r in sql_json(capsys, root, "SELECT kind FROM v_events")}
    assert {
        "verify.repair.quarantine",
        "verify.repair.archive-missing",
        "verify.repair.unknown-archive",
        "verify.repair.relink",
        "verify.repair.link-removed",
    } <= kinds

    # The retired archives come back when their wheels are stored again.
    wheels = tmp_path / "wheels"
    with open_cache(root) as cache:
        files: dict[str, bytes | str] = {"alpha/__init__.py": "# alpha\n", "alpha/data.bin": SHARED}
        again = make_wheel(wheels, "alpha", "1.0", files=files)
        assert _store(cache, again, "alpha") == ids["alpha"]
        old = make_wheel(wheels, "oldpkg", "0.1")
        assert _store(cache, old, "oldpkg") == ids["old"]
        path = cache.lookup(WHEELS_BUCKET, _key(again, "alpha"))
        assert path is not None
        assert (path / "alpha" / "__init__.py").read_text() == "# alpha\n"
    assert verify(capsys, root, "--check-contents") == (0, ["ok: database and disk agree"])


def test_verify_missing_link_is_recreated(
    built_any: Built, capsys: pytest.CaptureFixture[str]
) -> None:
    link = built_any.root / WHEELS_BUCKET / SOURCE / "beta" / "beta-1.0-py3-none-any"
    os.unlink(link)
    code, lines = verify(capsys, built_any.root)
    assert code == 1 and lines == [
        f"pointer-missing-link: wheels-v0/{SOURCE}/beta/beta-1.0-py3-none-any: link is missing"
    ]
    assert verify(capsys, built_any.root, "--repair")[0] == 0
    assert link.resolve() == (built_any.root / "archive-v0" / built_any.ids["beta"]).resolve()
    assert verify(capsys, built_any.root)[0] == 0


# -- sql on PostgreSQL: the server keeps it read-only ---------------------------------

PG_WRITES = [
    "INSERT INTO events (at, kind, subject, pid, command) VALUES (0, 'x', 'x', 0, 'x')",
    "UPDATE archives SET version = '9'",
    "DELETE FROM pointers",
    "TRUNCATE events",
    "DROP TABLE events",
    "DROP VIEW v_archives",
    "CREATE TABLE t (x int)",
    "CREATE TEMP TABLE t (x int)",
    "CREATE INDEX ix ON events (pid)",
    "ALTER TABLE events ADD COLUMN y int",
    "SELECT nextval('events_id_seq')",
    "WITH d AS (DELETE FROM leases RETURNING id) SELECT count(*) FROM d",
    "COMMIT; DELETE FROM archives",
    "SET default_transaction_read_only = off; COMMIT; DELETE FROM archives",
    "SET TRANSACTION READ WRITE",
    "BEGIN READ WRITE; DELETE FROM archives",
]


def pg_fingerprint(url: str) -> list[object]:
    import psycopg

    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT relname, relkind FROM pg_class WHERE relnamespace = 'public'::regnamespace"
            " ORDER BY relname"
        ).fetchall()
        counts = [
            conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()  # noqa: S608
            for name, kind in tables
            if kind in ("r", "v")
        ]
        events = conn.execute("SELECT last_value FROM events_id_seq").fetchall()
        versions = conn.execute("SELECT version FROM archives ORDER BY id").fetchall()
    return [tables, counts, events, versions]


@pytest.mark.backends("postgresql")
@pytest.mark.parametrize("statement", PG_WRITES)
def test_sql_on_postgresql_refuses_every_write(
    tmp_path: Path, pg_migrated_url: str, statement: str, capsys: pytest.CaptureFixture[str]
) -> None:
    built = _build(tmp_path, pg_migrated_url)
    before = pg_fingerprint(pg_migrated_url)
    code, out, err = cli(
        capsys, "sql", "--cache-dir", str(built.root), "--db-url", pg_migrated_url, statement
    )
    assert code == 2 and out == ""
    assert err.startswith(("error: refused: cachedb sql is read-only", "error: SQL error: "))
    assert err.count("\n") == 1
    assert pg_fingerprint(pg_migrated_url) == before


@pytest.mark.backends("postgresql")
def test_sql_on_postgresql_is_bounded_by_statement_timeout(pg_migrated_url: str) -> None:
    from cachedb.audit import pgsql

    with pgsql.ReadOnlyPgDatabase(pg_migrated_url) as db:
        with pytest.raises(CachedbError, match="timed out after 0.2s"):
            db.query("SELECT pg_sleep(30)", timeout=0.2)
        assert list(db.query("SELECT 1 AS one").rows) == [(1,)]
