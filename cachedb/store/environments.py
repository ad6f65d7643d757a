"""Environments as gc roots: which archives each environment uses, and how they are linked.

Recording an install is a warm-path statement and lives in ``catalog``; this
module holds what reads the records back.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._process import host_id
from ..db.lite import Executor
from .catalog import THIS_HOSTS_ENVIRONMENT, InstallRecord


@dataclass(frozen=True)
class ActiveInstall:
    """An archive linked into an environment and not removed since."""

    name: str
    version: str
    link_mode: str
    archive_id: str
    installed_at: float


def active_installs(run: Executor, prefix: str) -> list[ActiveInstall]:
    """The active installs of this host's environment ``prefix`` (``sys.prefix``), by name."""
    return [
        ActiveInstall(str(name), str(version), str(mode), str(aid), float(at))
        for name, version, mode, aid, at in run(
            "SELECT i.name, i.version, i.link_mode, i.archive_id, i.installed_at"
            " FROM installs i JOIN environments e ON e.id = i.environment_id"
            f" WHERE {THIS_HOSTS_ENVIRONMENT} AND i.removed_at IS NULL ORDER BY i.name, i.id",
            {"p": prefix, "m": host_id()},
        )
    ]


__all__ = ["ActiveInstall", "InstallRecord", "active_installs"]
