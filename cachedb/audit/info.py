"""``cachedb info``: where the cache is, which database describes it, and how big it is."""

from __future__ import annotations

from typing import Any

from .._redact import redact_url
from ..db.lite import Executor
from ..store import Cache


def _summary(run: Executor) -> dict[str, Any]:
    buckets = [
        # PostgreSQL sums are numerics (Decimal): JSON wants them as plain integers.
        {"bucket": b, "pointers": int(p), "archives": int(a), "bytes": int(n)}
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
