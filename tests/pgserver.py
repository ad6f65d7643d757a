"""A real PostgreSQL server for tests: Debian's binaries, a temp dir, 127.0.0.1.

    pytest_plugins = ["pgserver"]      # conftest.py does this

``pg_server`` (session) runs ``initdb`` and ``pg_ctl`` as the ``postgres`` user
(the tests run as root, which PostgreSQL refuses) into a temp dir, listening on
127.0.0.1 at a free port and on a Unix socket in that dir, and stops it at the
end (one server per pytest process: each xdist worker has its own). ``pg_url`` is
a new empty database per test; ``pg_migrated_url`` a copy of a migrated template
(``CREATE DATABASE ... TEMPLATE``: milliseconds). ``backend`` parametrises a test
over SQLite and PostgreSQL (see its docstring). Without the server binaries the
PostgreSQL tests skip with a reason; ``.ci/run`` installs them, so CI always runs them.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

BIN_DIRS = [Path(p) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)]
SUPERUSER = "postgres"
_counter = itertools.count()


def _bin_dir() -> Path | None:
    for directory in BIN_DIRS:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    found = shutil.which("pg_ctl")
    return Path(found).parent if found and shutil.which("initdb") else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(*args: str | Path) -> list[str]:
    """A command run as the ``postgres`` user when we are root (PostgreSQL refuses root)."""
    command = [str(a) for a in args]
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", SUPERUSER, "--", *command]


class PgServer:
    """One running cluster; ``url(db)`` names a database in it."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="cachedb-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        if os.geteuid() == 0:
            shutil.chown(self.root, SUPERUSER, SUPERUSER)
        subprocess.run(
            _as_postgres(
                bin_dir / "initdb",
                "-D",
                self.data,
                "-U",
                SUPERUSER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ),
            check=True,
            capture_output=True,
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=200"
        )
        subprocess.run(
            _as_postgres(
                bin_dir / "pg_ctl",
                "-D",
                self.data,
                "-o",
                options,
                "-l",
                self.root / "server.log",
                "-w",
                "start",
            ),
            check=True,
            capture_output=True,
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(statement)

    def new_database(self, template: str = "template0") -> str:
        name = f"t{os.getpid()}_{next(_counter)}"
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a test's database (its files would otherwise pile up until the server stops)."""
        name = url.rsplit("/", 1)[1]
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        subprocess.run(
            _as_postgres(self.bin_dir / "pg_ctl", "-D", self.data, "-m", "immediate", "stop"),
            capture_output=True,
        )
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install 'cachedb[postgres]')")
    server = PgServer(bin_dir)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_template(pg_server: PgServer) -> str:
    """A database at the newest schema, copied for each test that wants one (fast)."""
    from cachedb.db.migrate import ensure_schema

    url = pg_server.new_database()
    ensure_schema(url, None)
    return url.rsplit("/", 1)[1]


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """A new, empty database (no schema yet)."""
    url = pg_server.new_database()
    yield url
    pg_server.drop_database(url)


@pytest.fixture
def pg_migrated_url(pg_server: PgServer, pg_template: str) -> Iterator[str]:
    """A new database already at the newest schema."""
    url = pg_server.new_database(pg_template)
    yield url
    pg_server.drop_database(url)


SQLITE, POSTGRESQL = "sqlite", "postgresql"
BACKENDS = (SQLITE, POSTGRESQL)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "backends(*names): the backends a test that uses the ``backend`` fixture runs on"
        " (default: sqlite and postgresql)",
    )
    config.addinivalue_line(
        "markers",
        "slow_on_postgresql: the PostgreSQL copy of this backend-parametrised test is slow",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that uses ``backend`` (or ``db_url``) runs once per backend it allows."""
    if "backend" not in metafunc.fixturenames or _parametrizes_backend(metafunc):
        return
    marker = metafunc.definition.get_closest_marker("backends")
    names = marker.args if marker is not None and marker.args else BACKENDS
    slow = metafunc.definition.get_closest_marker("slow_on_postgresql") is not None
    params = [
        pytest.param(name, id=name, marks=[pytest.mark.slow] if slow and name == POSTGRESQL else [])
        for name in names
    ]
    metafunc.parametrize("backend", params, indirect=True)


def _parametrizes_backend(metafunc: pytest.Metafunc) -> bool:
    """Whether the test gives an argument of its own the name ``backend`` (not this fixture)."""
    for marker in metafunc.definition.iter_markers("parametrize"):
        names = marker.args[0] if marker.args else marker.kwargs.get("argnames", "")
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",")]
        if "backend" in names:
            return True
    return False


@pytest.fixture
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """The metadata database of a backend-parametrised test: None (SQLite inside the cache)
    or the URL of a new PostgreSQL database at the newest schema.

    A module opts in with ``pytestmark = pytest.mark.usefixtures("backend")``; a test
    limits itself with ``@pytest.mark.backends("sqlite")``. For PostgreSQL,
    ``CACHEDB_DB_URL`` names the database, so every ``open_cache`` without a URL, every
    ``cachedb`` process the test starts (``installtools.cachedb`` passes it on) and
    ``cachestate.connect`` use it.
    """
    name = getattr(request, "param", SQLITE)
    if name == SQLITE:
        monkeypatch.delenv("CACHEDB_DB_URL", raising=False)
        return None
    url: str = request.getfixturevalue("pg_migrated_url")
    monkeypatch.setenv("CACHEDB_DB_URL", url)
    monkeypatch.setenv("CACHEDB_TEST_KEEP", "CACHEDB_DB_URL")
    return url


@pytest.fixture
def db_url(backend: str | None) -> str | None:
    """``backend``'s URL, for tests that pass it on (None: SQLite in the cache)."""
    return backend
