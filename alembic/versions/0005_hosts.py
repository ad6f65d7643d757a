"""hosts, environments per host, the cache-root id

Several machines may share one database (PostgreSQL) and one cache directory.
``hosts`` records each (its machine id, latest boot id and name); an
environment row names the host it lives on (``environments.host_id``; NULL for
rows recorded before this revision, taken as this host's), so gc judges on disk
only its own host's environments. ``meta`` holds the cache-root id, also kept
in the cache directory (``cachedb-id``): a database and a cache directory that
disagree are refused, so two cache directories never share one database
unknowingly.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "hosts",
        sa.Column("id", _BIGINT, autoincrement=True, nullable=False),
        sa.Column("machine_id", sa.String(length=255), nullable=False),
        sa.Column("boot_id", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("first_seen_at", sa.Float(), nullable=False),
        sa.Column("last_seen_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("machine_id", name="uq_hosts_machine_id"),
    )
    op.create_table(
        "meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("environments", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("host_id", _BIGINT, nullable=True))
        batch_op.create_index(batch_op.f("ix_environments_host_id"), ["host_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("environments", schema=None, recreate="never") as batch_op:
        batch_op.drop_index(batch_op.f("ix_environments_host_id"))
    op.drop_column("environments", "host_id")
    op.drop_table("meta")
    op.drop_table("hosts")
