"""Engine set-up: SQLite pragmas, IMMEDIATE write transactions, retry on busy."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from ..errors import DatabaseError
from .lite import Executor, Params, back_off, is_busy
from .urls import SQLITE, backend, sqlalchemy_url

T = TypeVar("T")

BUSY_TIMEOUT_MS = 30_000
_WRITE_FLAG = "cachedb_write"


def is_sqlite(url: str) -> bool:
    return backend(url) == SQLITE


def make_engine(url: str) -> Engine:
    """An engine whose SQLite connections use WAL, a busy timeout and foreign keys."""
    if not is_sqlite(url):
        return create_engine(sqlalchemy_url(url), pool_pre_ping=True)
    engine = create_engine(
        url,
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event issue BEGIN itself, so writes can be IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = cur.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA temp_store = MEMORY")  # no temporary file outside the cache
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.info.pop(_WRITE_FLAG, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


class _SessionRunner:
    """Plain SQL with named parameters through an ORM session (an ``Executor``)."""

    __slots__ = ("_session", "dialect")

    def __init__(self, session: Session) -> None:
        self._session = session
        self.dialect = session.get_bind().dialect.name

    def __call__(self, sql: str, params: Params = (), /) -> list[tuple[Any, ...]]:
        from sqlalchemy import text

        result: Any = self._session.execute(text(sql), dict(params) if params else {})
        return [tuple(row) for row in result] if result.returns_rows else []


def session_executor(session: Session) -> Executor:
    """Run plain SQL with named parameters through an ORM session."""
    return _SessionRunner(session)


def one_line(error: BaseException | None) -> str:
    """The driver's error as one line (PostgreSQL's primary message and SQLSTATE)."""
    from .pg import one_line as pg_one_line

    return pg_one_line(error) if error is not None else "unknown error"


def _retryable(exc: DBAPIError) -> bool:
    """A busy SQLite database, or a PostgreSQL deadlock or serialization failure."""
    from .pg import RETRYABLE

    if getattr(exc.orig, "sqlstate", None) in RETRYABLE:
        return True
    return isinstance(exc, OperationalError) and is_busy(exc.orig)


class Database:
    """The metadata database: short read and write transactions over one engine."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read transaction (deferred: it takes no write lock)."""
        try:
            with self._sessions() as session, session.begin():
                yield session
        except DBAPIError as exc:
            raise DatabaseError(f"database error: {one_line(exc.orig)}") from exc

    def write_sql(self, fn: Callable[[Executor], T]) -> T:
        """Like ``write``, for statements written in plain SQL (see ``db.lite``)."""
        return self.write(lambda session: fn(session_executor(session)))

    def read_sql(self, fn: Callable[[Executor], T]) -> T:
        with self.read() as session:
            return fn(session_executor(session))

    def write(self, fn: Callable[[Session], T], *, attempts: int = 8) -> T:
        """Run ``fn`` in a write transaction begun IMMEDIATE, retrying when the database is busy.

        ``fn`` may run more than once, so it must only touch the database.
        """
        delay = 0.05
        for attempt in range(attempts):
            try:
                with self._sessions() as session:
                    if is_sqlite(self.url):
                        # Flag the connection before its first use so BEGIN is IMMEDIATE.
                        conn = self.engine.connect()
                        conn.info[_WRITE_FLAG] = True
                        session.bind = conn
                        try:
                            with session.begin():
                                result = fn(session)
                        finally:
                            conn.close()
                    else:
                        with session.begin():
                            result = fn(session)
                return result
            except DBAPIError as exc:
                if not _retryable(exc) or attempt == attempts - 1:
                    raise DatabaseError(f"database error: {one_line(exc.orig)}") from exc
                delay = back_off(delay)
        raise AssertionError("unreachable")
