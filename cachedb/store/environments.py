"""Environments as gc roots: which archives each environment uses, and how they are linked."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..db import events
from ..db.models import Archive, Environment, Install


@dataclass(frozen=True)
class InstallRecord:
    archive_id: str
    name: str  # canonical
    version: str
    link_mode: str


def _environment(session: Session, prefix: str, python: str, now: float) -> Environment:
    env = session.scalars(select(Environment).where(Environment.path == prefix)).first()
    if env is None:
        env = Environment(path=prefix, python=python, created_at=now, last_used_at=now)
        session.add(env)
        session.flush()
        events.record(session, "environment.insert", prefix)
    else:
        env.last_used_at = now
        env.python = python
        if env.stale_at is not None:
            env.stale_at = None
            events.record(session, "environment.revive", prefix)
    return env


def record_changes(
    session: Session,
    prefix: str,
    python: str,
    installed: Sequence[InstallRecord],
    removed: Iterable[str] = (),
) -> None:
    """Record one install run in ``prefix``: new installs, removed names, last-used bumps."""
    now = time.time()
    env = _environment(session, prefix, python, now)
    gone = set(removed) | {r.name for r in installed}
    if gone:
        rows = session.scalars(
            select(Install).where(
                Install.environment_id == env.id,
                Install.name.in_(gone),
                Install.removed_at.is_(None),
            )
        ).all()
        for row in rows:
            row.removed_at = now
            events.record(
                session, "install.remove", f"{prefix}:{row.name}", old_archive=row.archive_id
            )
    for rec in installed:
        session.add(
            Install(
                environment_id=env.id,
                archive_id=rec.archive_id,
                name=rec.name,
                version=rec.version,
                link_mode=rec.link_mode,
                installed_at=now,
            )
        )
        events.record(
            session,
            "install.insert",
            f"{prefix}:{rec.name}",
            new_archive=rec.archive_id,
            detail=rec.link_mode,
        )
    if installed:
        session.execute(
            update(Archive)
            .where(Archive.id.in_([r.archive_id for r in installed]))
            .values(last_used_at=now)
        )


def touch_archives(session: Session, archive_ids: Iterable[str]) -> None:
    ids = list(archive_ids)
    if ids:
        session.execute(update(Archive).where(Archive.id.in_(ids)).values(last_used_at=time.time()))


def active_installs(session: Session, prefix: str) -> list[Install]:
    return list(
        session.scalars(
            select(Install)
            .join(Environment, Environment.id == Install.environment_id)
            .where(Environment.path == prefix, Install.removed_at.is_(None))
            .order_by(Install.name)
        )
    )
