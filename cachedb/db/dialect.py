"""What a statement needs that the two backends spell differently: locking, the clock.

Every statement is written once, in SQL SQLite and PostgreSQL both accept; the
executor says which backend runs it (``run.dialect``). On SQLite a write
transaction is ``BEGIN IMMEDIATE``, which already serialises every writer, so
these add nothing. On PostgreSQL (READ COMMITTED) a check-then-act transaction
locks what it reads: the rows it decides on (``FOR UPDATE`` / ``FOR SHARE``),
and, for rows that may not exist yet, an advisory transaction lock on a name.

Times several hosts compare (lease expiry and heartbeats, gc's grace and age
limits) come from the database's clock on PostgreSQL, whose clients may sit on
machines whose clocks disagree; a SQLite database has one machine's clock.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from .lite import Executor
from .urls import POSTGRESQL, SQLITE


def dialect(run: Executor) -> str:
    return str(getattr(run, "dialect", SQLITE))


def for_update(run: Executor, of: str = "") -> str:
    """`` FOR UPDATE`` (of table alias ``of``) where the backend takes row locks, else ``""``."""
    if dialect(run) != POSTGRESQL:
        return ""
    return f" FOR UPDATE OF {of}" if of else " FOR UPDATE"


def for_share(run: Executor, of: str = "") -> str:
    """`` FOR SHARE``: the rows read stay as read (no gc marks them) until we commit."""
    if dialect(run) != POSTGRESQL:
        return ""
    return f" FOR SHARE OF {of}" if of else " FOR SHARE"


def lock_names(run: Executor, names: Iterable[str]) -> None:
    """Hold an exclusive lock on each name until the transaction ends (sorted: no deadlock).

    For what a row lock cannot cover: a row about to be inserted (a pointer key,
    an archive id, an environment path) that another transaction may insert too.
    """
    if dialect(run) != POSTGRESQL:
        return
    wanted = sorted(set(names))
    if wanted:
        run(
            "SELECT pg_advisory_xact_lock(hashtextextended(n, 0))"
            " FROM unnest(CAST(:names AS text[])) WITH ORDINALITY AS t(n, i) ORDER BY i",
            {"names": wanted},
        )


def db_now(run: Executor) -> float:
    """Now, in epoch seconds, by the database's clock (this transaction's start on
    PostgreSQL: every row a transaction writes gets one time)."""
    if dialect(run) != POSTGRESQL:
        return time.time()
    return float(run("SELECT CAST(extract(epoch FROM now()) AS double precision)")[0][0])


def now_sql(run: Executor) -> str:
    """``db_now`` as an SQL expression, to save a round trip: the statement's parameters
    must then hold ``now`` (``time.time()``; SQLite uses it, PostgreSQL its own clock)."""
    if dialect(run) != POSTGRESQL:
        return ":now"
    return "CAST(extract(epoch FROM now()) AS double precision)"
