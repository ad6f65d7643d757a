"""The audit functions PostgreSQL gets from migration 0004 answer as the SQLite ones do.

The Python functions ``cachedb sql`` registers on SQLite (``audit.functions``,
built on packaging) are the reference: every pair below is asked of both.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cachedb.audit import functions

VERSIONS = [
    "1.0",
    "1.0.0",
    "1",
    "1.0.post1",
    "1.0-1",
    "1.0.dev0",
    "1.0a1",
    "1.0b2",
    "1.0rc1",
    "1.0c1",
    "1.0alpha1",
    "1.0.post1.dev2",
    "1.0a1.dev1",
    "1.0+local.7",
    "1.0+abc",
    "1.0+5",
    "1.1",
    "1.2.3",
    "2.30.0",
    "2.31.0",
    "2.31.0rc1",
    "2!0.5",
    "0.9",
    "10.0",
    "1.0.0.0.1",
    "v1.0",
    "1.0-r3",
    "not a version",
    "1.0.x",
    "",
]
SPECIFIERS = [
    "<2.31",
    ">=2.0,<2.31",
    "==1.0",
    "==1.0.*",
    "!=1.0.*",
    "==1.*",
    "~=1.0",
    "~=1.0.0",
    "~=2.30.0",
    ">1.0",
    "<1.0",
    "<=1.0",
    ">=1.0",
    "!=1.0",
    "==1.0+local.7",
    "===1.0",
    ">1.0.post1",
    "<1.0rc1",
    "==2!0.5",
    ">= 1.0 , < 2",
    "",
    "~=1",
    "<1.0+abc",
    "bogus",
    "==1.0.post1.*",
    ">=1.0,",
]


@pytest.fixture(scope="module")
def conn(pg_server: Any, pg_template: str) -> Iterator[Any]:
    import psycopg

    with psycopg.connect(pg_server.url(pg_template), autocommit=True) as c:
        yield c


def test_version_in_agrees_with_packaging(conn: Any) -> None:
    pairs = [(v, s) for v in VERSIONS for s in SPECIFIERS]
    got = conn.execute(
        "SELECT version_in(v, s) FROM unnest(%s::text[], %s::text[]) AS t(v, s)",
        ([v for v, _ in pairs], [s for _, s in pairs]),
    ).fetchall()
    wrong = [
        (v, s, g, functions.version_in(v, s))
        for (v, s), (g,) in zip(pairs, got, strict=True)
        if g != functions.version_in(v, s)
    ]
    assert wrong == [], "\n".join(map(repr, wrong))


def test_version_cmp_agrees_with_packaging(conn: Any) -> None:
    pairs = [(a, b) for a in VERSIONS for b in VERSIONS]
    got = conn.execute(
        "SELECT version_cmp(a, b) FROM unnest(%s::text[], %s::text[]) AS t(a, b)",
        ([a for a, _ in pairs], [b for _, b in pairs]),
    ).fetchall()
    wrong = [
        (a, b, g, functions.version_cmp(a, b))
        for (a, b), (g,) in zip(pairs, got, strict=True)
        if g != functions.version_cmp(a, b)
    ]
    assert wrong == [], "\n".join(map(repr, wrong))


@pytest.mark.parametrize(
    "n", [0, 1, 1023, 1024, 1536, 1572864, 10**9, 3 * 2**30 + 12345, 5 * 2**50, 2**63 - 1, -2048]
)
def test_human_bytes_agrees(conn: Any, n: int) -> None:
    assert conn.execute("SELECT human_bytes(%s::bigint)", (n,)).fetchone()[0] == (
        functions.human_bytes(n)
    )
    assert conn.execute("SELECT human_bytes(%s::double precision)", (float(n),)).fetchone()[
        0
    ] == functions.human_bytes(float(n))


@pytest.mark.parametrize("name", ["Foo_Bar", "foo.-_bar", "Requests", "a..b", "x"])
def test_canonical_name_agrees(conn: Any, name: str) -> None:
    assert conn.execute("SELECT canonical_name(%s)", (name,)).fetchone()[0] == (
        functions.canonical_name(name)
    )


def test_group_concat_and_unixepoch(conn: Any) -> None:
    row = conn.execute(
        "SELECT group_concat(x, ' '), group_concat(x), unixepoch() > 1.7e9"
        " FROM unnest(ARRAY['a', NULL, 'b', 'c']) AS t(x)"
    ).fetchone()
    assert row == ("a b c", "a,b,c", True)
