"""Database URLs: which backend a URL names, spelled for SQLAlchemy or for libpq.

Users write ``postgresql://user@host/db`` (as psql and libpq take it); SQLAlchemy
would read that as psycopg2, so it is given ``postgresql+psycopg://`` (psycopg 3,
the ``cachedb[postgres]`` extra) instead.
"""

from __future__ import annotations

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
_PG_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


def backend(url: str) -> str:
    """``sqlite``, ``postgresql``, or the URL's own scheme for anything else."""
    scheme = _scheme(url)
    if scheme.startswith(SQLITE):
        return SQLITE
    if scheme in _PG_SCHEMES:
        return POSTGRESQL
    return scheme


def sqlalchemy_url(url: str) -> str:
    """``url`` as SQLAlchemy should read it: PostgreSQL through psycopg 3."""
    if backend(url) == POSTGRESQL:
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def libpq_url(url: str) -> str:
    """A PostgreSQL ``url`` as libpq (psycopg.connect) takes it."""
    return "postgresql://" + url.split("://", 1)[1]


def redacted(url: str) -> str:
    """``url`` quoted, its userinfo and query hidden (``cachedb._redact``)."""
    from .._redact import redact_url

    return repr(redact_url(url))
