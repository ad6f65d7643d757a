"""Environments as gc roots: which archives each environment uses, and how they are linked.

Recording an install is a warm-path statement and lives in ``catalog``; this
module holds the ORM-side queries.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.models import Environment, Install
from .catalog import InstallRecord


def active_installs(session: Session, prefix: str) -> list[Install]:
    return list(
        session.scalars(
            select(Install)
            .join(Environment, Environment.id == Install.environment_id)
            .where(Environment.path == prefix, Install.removed_at.is_(None))
            .order_by(Install.name)
        )
    )


__all__ = ["InstallRecord", "active_installs"]
