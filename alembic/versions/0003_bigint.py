"""64-bit sizes, ids and pids

A wheel may unpack to more than 2 GiB, and a long-lived shared database may
count events, leases and pointers past 2**31. On SQLite every INTEGER column
already holds 64 bits (and an ``INTEGER PRIMARY KEY`` must stay spelled so to
count by itself), so there this revision changes nothing. On PostgreSQL the
columns become BIGINT and the id sequences count as bigint; the views over
them are dropped and created again around the change, unchanged.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 09:30:00
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    ("archives", "unpacked_size"),
    ("archives", "file_count"),
    ("archives", "wheel_size"),
    ("archive_files", "size"),
    ("pointers", "id"),
    ("environments", "id"),
    ("installs", "id"),
    ("installs", "environment_id"),
    ("leases", "id"),
    ("leases", "pid"),
    ("events", "id"),
    ("events", "pid"),
)
SEQUENCES = ("pointers", "environments", "installs", "leases", "events")


def _views() -> ModuleType:
    """Revision 0002, whose view definitions are put back as they were."""
    path = Path(__file__).with_name("0002_audit_views.py")
    spec = importlib.util.spec_from_file_location("_cachedb_0002_audit_views", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _alter(to: type[sa.types.TypeEngine[int]], sequence_type: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    views = _views()
    views.downgrade()  # PostgreSQL cannot change the type of a column a view reads
    for table, column in COLUMNS:
        old = sa.Integer if to is sa.BigInteger else sa.BigInteger
        op.alter_column(table, column, type_=to(), existing_type=old(), existing_nullable=False)
    for table in SEQUENCES:
        op.execute(f"ALTER SEQUENCE {table}_id_seq AS {sequence_type}")
    views.upgrade()


def upgrade() -> None:
    _alter(sa.BigInteger, "bigint")


def downgrade() -> None:
    _alter(sa.Integer, "integer")
