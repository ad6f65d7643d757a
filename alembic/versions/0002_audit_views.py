"""audit views

Stable, documented views for ``cachedb sql`` (see docs/schema.md). Views are
not compared by autogenerate, so ``alembic check`` keeps comparing tables only;
changing a view means a new revision that drops and re-creates it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VIEWS = ("v_archives", "v_environments", "v_installs", "v_events", "v_bucket_usage")


def _iso(column: str) -> str:
    """SQL turning an epoch-seconds column into ISO 8601 UTC text (NULL stays NULL)."""
    if op.get_bind().dialect.name == "postgresql":
        # Colons are escaped because op.execute() parses the text for :bind parameters.
        return (
            f"to_char(to_timestamp({column}) AT TIME ZONE 'UTC', "
            '\'YYYY-MM-DD"T"HH24\\:MI\\:SS"Z"\')'
        )
    return f"strftime('%Y-%m-%dT%H:%M:%SZ', {column}, 'unixepoch')"


def _definitions() -> dict[str, str]:
    return {
        "v_archives": f"""
            SELECT a.id, a.name, a.version, a.tags, a.filename,
                   a.unpacked_size, a.wheel_size, a.file_count,
                   a.created_at, {_iso("a.created_at")} AS created_iso,
                   a.last_used_at, {_iso("a.last_used_at")} AS last_used_iso,
                   (SELECT count(*) FROM pointers p WHERE p.archive_id = a.id) AS pointer_count,
                   (SELECT count(DISTINCT i.environment_id)
                      FROM installs i JOIN environments e ON e.id = i.environment_id
                     WHERE i.archive_id = a.id AND i.removed_at IS NULL
                       AND e.stale_at IS NULL) AS environment_count
              FROM archives a
             WHERE a.deleted_at IS NULL
        """,
        "v_environments": f"""
            SELECT e.id, e.path, e.python,
                   e.created_at, {_iso("e.created_at")} AS created_iso,
                   e.last_used_at, {_iso("e.last_used_at")} AS last_used_iso,
                   CASE WHEN e.stale_at IS NULL THEN 0 ELSE 1 END AS stale,
                   e.stale_at, {_iso("e.stale_at")} AS stale_iso,
                   (SELECT count(*) FROM installs i
                     WHERE i.environment_id = e.id AND i.removed_at IS NULL) AS active_installs,
                   (SELECT count(*) FROM installs i
                     WHERE i.environment_id = e.id) AS total_installs,
                   (SELECT coalesce(sum(a.unpacked_size), 0)
                      FROM archives a
                     WHERE a.id IN (SELECT i.archive_id FROM installs i
                                     WHERE i.environment_id = e.id
                                       AND i.removed_at IS NULL)) AS bytes_used
              FROM environments e
        """,
        "v_installs": f"""
            SELECT i.id, e.path AS environment, i.environment_id, i.name, i.version,
                   i.link_mode, i.archive_id,
                   i.installed_at, {_iso("i.installed_at")} AS installed_iso,
                   i.removed_at, {_iso("i.removed_at")} AS removed_iso,
                   CASE WHEN i.removed_at IS NULL THEN 1 ELSE 0 END AS active
              FROM installs i JOIN environments e ON e.id = i.environment_id
        """,
        "v_events": f"""
            SELECT ev.id, ev.at, {_iso("ev.at")} AS at_iso, ev.kind, ev.subject,
                   ev.old_archive, ev.new_archive, ev.pid, ev.command, ev.detail
              FROM events ev
        """,
        "v_bucket_usage": """
            SELECT u.bucket, u.pointer_count, u.archive_count, u.bytes FROM (
                SELECT p.bucket AS bucket, count(*) AS pointer_count,
                       count(DISTINCT p.archive_id) AS archive_count,
                       (SELECT coalesce(sum(a.unpacked_size), 0) FROM archives a
                         WHERE a.deleted_at IS NULL AND a.id IN (
                               SELECT q.archive_id FROM pointers q
                                WHERE q.bucket = p.bucket)) AS bytes
                  FROM pointers p
                 GROUP BY p.bucket
                UNION ALL
                SELECT 'archive-v0', (SELECT count(*) FROM pointers), count(*),
                       coalesce(sum(a.unpacked_size), 0)
                  FROM archives a
                 WHERE a.deleted_at IS NULL
            ) u
        """,
    }


def upgrade() -> None:
    for name, body in _definitions().items():
        op.execute(f"CREATE VIEW {name} AS {body.strip()}")


def downgrade() -> None:
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
