"""environments keyed by (host, path); leases with process start time and heartbeat

Hosts sharing a database may each have an environment at one path
(``/srv/app/.venv``): the environment row is now unique per ``(host_id, path)``
rather than per path, so one host's install never takes over, or removes the
installs of, another's. A lease records its process's start time (a pid reused
by a later process does not keep it alive) and its last heartbeat; an install
refreshes ``heartbeat_at`` and ``expires_at`` while it runs, so the TTL can be
short and a dead host's leases expire soon.

On SQLite the unique constraint is part of the table, so ``environments`` and
``installs`` (whose foreign key cascades from it) are rebuilt, with the views
over them dropped and made again, unchanged.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 12:00:00
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ENVIRONMENT_COLUMNS = "id, path, python, created_at, last_used_at, stale_at, host_id"
_INSTALL_COLUMNS = (
    "id, environment_id, archive_id, name, version, link_mode, installed_at, removed_at"
)


def _views() -> ModuleType:
    """Revision 0002, whose view definitions are put back as they were."""
    path = Path(__file__).with_name("0002_audit_views.py")
    spec = importlib.util.spec_from_file_location("_cachedb_0002_audit_views", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _environments(name: str, unique: sa.UniqueConstraint) -> None:
    op.create_table(
        name,
        sa.Column("id", _BIGINT, autoincrement=True, nullable=False),
        sa.Column("path", sa.String(length=4096), nullable=False),
        sa.Column("python", sa.String(length=4096), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("last_used_at", sa.Float(), nullable=False),
        sa.Column("stale_at", sa.Float(), nullable=True),
        sa.Column("host_id", _BIGINT, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        unique,
    )


def _installs(name: str, environments: str) -> None:
    op.create_table(
        name,
        sa.Column("id", _BIGINT, autoincrement=True, nullable=False),
        sa.Column("environment_id", _BIGINT, nullable=False),
        sa.Column("archive_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("version", sa.String(length=255), nullable=False),
        sa.Column("link_mode", sa.String(length=16), nullable=False),
        sa.Column("installed_at", sa.Float(), nullable=False),
        sa.Column("removed_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["archive_id"], ["archives.id"]),
        sa.ForeignKeyConstraint(["environment_id"], [f"{environments}.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )


def _rebuild_sqlite(unique: sa.UniqueConstraint) -> None:
    """Both tables made anew with ``unique``: copied, the old ones dropped, renamed.

    The new ``installs`` refers to the new ``environments`` (SQLite follows the
    rename), and the old ``installs`` is dropped first, so dropping the old
    ``environments`` (foreign keys are on) has nothing to cascade to.
    """
    views = _views()
    views.downgrade()
    _environments("_new_environments", unique)
    _installs("_new_installs", "_new_environments")
    op.execute(
        f"INSERT INTO _new_environments ({_ENVIRONMENT_COLUMNS})"
        f" SELECT {_ENVIRONMENT_COLUMNS} FROM environments"
    )
    op.execute(
        f"INSERT INTO _new_installs ({_INSTALL_COLUMNS}) SELECT {_INSTALL_COLUMNS} FROM installs"
    )
    op.drop_table("installs")
    op.drop_table("environments")
    op.rename_table("_new_environments", "environments")
    op.rename_table("_new_installs", "installs")
    op.create_index("ix_environments_host_id", "environments", ["host_id"], unique=False)
    op.create_index("ix_installs_archive_id", "installs", ["archive_id"], unique=False)
    op.create_index("ix_installs_environment_id", "installs", ["environment_id"], unique=False)
    views.upgrade()


def upgrade() -> None:
    with op.batch_alter_table("leases", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("started_at", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("heartbeat_at", sa.Float(), nullable=True))
    unique = sa.UniqueConstraint("host_id", "path", name="uq_environments_host_path")
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(unique)
        return
    op.drop_constraint("environments_path_key", "environments", type_="unique")
    op.create_unique_constraint("uq_environments_host_path", "environments", ["host_id", "path"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(sa.UniqueConstraint("path"))
    else:
        op.drop_constraint("uq_environments_host_path", "environments", type_="unique")
        op.create_unique_constraint("environments_path_key", "environments", ["path"])
    with op.batch_alter_table("leases", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("started_at")
