"""``cachedb info``: where the cache is, which database describes it, and how big it is."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from ..db.migrate import current_revision
from ..store import Cache


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***``."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"


def cache_info(cache: Cache) -> dict[str, Any]:
    with cache.db.read() as session:
        buckets = [
            {"bucket": b, "pointers": p, "archives": a, "bytes": n}
            for b, p, a, n in session.execute(
                text(
                    "SELECT bucket, pointer_count, archive_count, bytes FROM v_bucket_usage"
                    " ORDER BY bucket"
                )
            )
        ]
        living, stale = session.execute(
            text(
                "SELECT count(*) - coalesce(sum(stale), 0), coalesce(sum(stale), 0)"
                " FROM v_environments"
            )
        ).one()
        events = session.execute(text("SELECT count(*) FROM events")).scalar_one()
    return {
        "cache_dir": str(cache.root),
        "database_url": redact_url(cache.db.url),
        "schema_revision": current_revision(cache.db),
        "buckets": buckets,
        "environments": int(living),
        "stale_environments": int(stale),
        "events": int(events),
    }
