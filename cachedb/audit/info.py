"""``cachedb info``: where the cache is, which database describes it, and how big it is."""

from __future__ import annotations

from typing import Any

from ..db.lite import Executor, sqlite_path
from ..store import Cache


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***``."""
    if sqlite_path(url) is not None:
        return url  # a plain SQLite file URL has no credentials (and needs no SQLAlchemy)
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"


def _summary(run: Executor) -> dict[str, Any]:
    buckets = [
        {"bucket": b, "pointers": p, "archives": a, "bytes": n}
        for b, p, a, n in run(
            "SELECT bucket, pointer_count, archive_count, bytes FROM v_bucket_usage ORDER BY bucket"
        )
    ]
    ((living, stale),) = run(
        "SELECT count(*) - coalesce(sum(stale), 0), coalesce(sum(stale), 0) FROM v_environments"
    )
    ((events,),) = run("SELECT count(*) FROM events")
    ((revision,),) = run("SELECT version_num FROM alembic_version") or [(None,)]
    return {
        "buckets": buckets,
        "environments": int(living),
        "stale_environments": int(stale),
        "events": int(events),
        "schema_revision": revision,
    }


def cache_info(cache: Cache) -> dict[str, Any]:
    summary = cache.read_sql(_summary)
    return {
        "cache_dir": str(cache.root),
        "database_url": redact_url(cache.db_url),
        "schema_revision": summary["schema_revision"],
        "buckets": summary["buckets"],
        "environments": summary["environments"],
        "stale_environments": summary["stale_environments"],
        "events": summary["events"],
    }
