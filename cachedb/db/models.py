"""SQLAlchemy models of the metadata database.

The schema itself is owned by the Alembic migrations under ``alembic/``; these
models must always agree with them (``alembic -c migrations.ini check``). They
are only that: every statement cachedb runs is plain SQL (``db.lite``, ``db.pg``).
Timestamps are UTC seconds since the epoch as floats: cheap to compare in SQL
and identical across SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


# 64-bit everywhere: sizes past 2 GiB, ids and pids past 2**31 (migration 0003). On
# SQLite, INTEGER already holds 64 bits, and only an ``INTEGER PRIMARY KEY`` counts by
# itself, so there the columns stay INTEGER.
BigInt = BigInteger().with_variant(Integer(), "sqlite")


class Archive(Base):
    """One unpacked wheel under ``archive-v0/<id>``; immutable once registered."""

    __tablename__ = "archives"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # wheel sha256 (hex)
    relpath: Mapped[str] = mapped_column(String(255))  # "archive-v0/<id>", relative to the cache
    filename: Mapped[str] = mapped_column(String(255))  # the wheel's filename
    name: Mapped[str] = mapped_column(String(255), index=True)  # canonical distribution name
    version: Mapped[str] = mapped_column(String(255))
    tags: Mapped[str] = mapped_column(String(1024))  # compressed tag set, e.g. "py3-none-any"
    unpacked_size: Mapped[int] = mapped_column(BigInt)
    file_count: Mapped[int] = mapped_column(BigInt)
    wheel_size: Mapped[int] = mapped_column(BigInt)
    created_at: Mapped[float] = mapped_column(Float)
    last_used_at: Mapped[float] = mapped_column(Float, index=True)
    # Set by gc in the transaction that decides to collect; the directory goes afterwards.
    deleted_at: Mapped[float | None] = mapped_column(Float, nullable=True, default=None)

    __table_args__ = (Index("ix_archives_name_version", "name", "version"),)


class ArchiveFile(Base):
    """One file of an archive, as verified against the wheel's RECORD while unpacking."""

    __tablename__ = "archive_files"

    archive_id: Mapped[str] = mapped_column(
        ForeignKey("archives.id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(String(1024), primary_key=True)  # POSIX, relative
    sha256: Mapped[str] = mapped_column(String(64), index=True)  # hex
    size: Mapped[int] = mapped_column(BigInt)
    executable: Mapped[bool] = mapped_column(Boolean, default=False)


class Pointer(Base):
    """A named entry in a pointer bucket (``wheels-v0``, ``built-wheels-v0``)."""

    __tablename__ = "pointers"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    bucket: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(1024))  # "<source>/<name>/<wheel-stem>"
    archive_id: Mapped[str] = mapped_column(ForeignKey("archives.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # symlink | junction | file
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (UniqueConstraint("bucket", "key", name="uq_pointers_bucket_key"),)


class Host(Base):
    """A machine sharing the database: its machine id, latest boot id and name."""

    __tablename__ = "hosts"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    machine_id: Mapped[str] = mapped_column(String(255))
    boot_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    name: Mapped[str] = mapped_column(String(255))
    first_seen_at: Mapped[float] = mapped_column(Float)
    last_seen_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (UniqueConstraint("machine_id", name="uq_hosts_machine_id"),)


class Meta(Base):
    """Facts about the whole cache, by key (``cache_root_id``)."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Environment(Base):
    """A target environment cachedb installed into; a gc root while it exists."""

    __tablename__ = "environments"
    # Hosts sharing the database may each have an environment at one path.
    __table_args__ = (UniqueConstraint("host_id", "path", name="uq_environments_host_path"),)

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    path: Mapped[str] = mapped_column(String(4096))  # absolute sys.prefix
    python: Mapped[str] = mapped_column(String(4096))  # interpreter executable
    created_at: Mapped[float] = mapped_column(Float)
    last_used_at: Mapped[float] = mapped_column(Float)
    # Set when gc finds the environment gone; it is then no longer a root.
    stale_at: Mapped[float | None] = mapped_column(Float, nullable=True, default=None)
    # The host it lives on (NULL: recorded before hosts were, taken as any host's own).
    host_id: Mapped[int | None] = mapped_column(BigInt, nullable=True, index=True)


class Install(Base):
    """An archive linked into an environment with a link mode."""

    __tablename__ = "installs"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    environment_id: Mapped[int] = mapped_column(
        BigInt, ForeignKey("environments.id", ondelete="CASCADE"), index=True
    )
    archive_id: Mapped[str] = mapped_column(ForeignKey("archives.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))  # canonical distribution name
    version: Mapped[str] = mapped_column(String(255))
    link_mode: Mapped[str] = mapped_column(String(16))  # clone | hardlink | copy | symlink
    installed_at: Mapped[float] = mapped_column(Float)
    # Set when the distribution was uninstalled or replaced, or gc found it gone.
    removed_at: Mapped[float | None] = mapped_column(Float, nullable=True, default=None)


class Lease(Base):
    """An archive held by an install in flight; gc never collects a leased archive."""

    __tablename__ = "leases"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    archive_id: Mapped[str] = mapped_column(String(64), index=True)
    pid: Mapped[int] = mapped_column(BigInt)
    host: Mapped[str] = mapped_column(String(255))  # the host's machine id
    created_at: Mapped[float] = mapped_column(Float)
    # Pushed forward by the holder's heartbeat; past it, the lease is dead on any host.
    expires_at: Mapped[float] = mapped_column(Float)
    # The holding process's start time: a later process given the same pid is not it.
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True, default=None)
    heartbeat_at: Mapped[float | None] = mapped_column(Float, nullable=True, default=None)


class Event(Base):
    """Append-only log of every change to archives, pointers, environments and installs."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)  # e.g. archive.insert, pointer.swap
    subject: Mapped[str] = mapped_column(String(4096))  # what changed: a key, a path, an id
    old_archive: Mapped[str | None] = mapped_column(String(64), nullable=True)
    new_archive: Mapped[str | None] = mapped_column(String(64), nullable=True)
    pid: Mapped[int] = mapped_column(BigInt)
    command: Mapped[str] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
