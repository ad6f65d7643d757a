-- The newest cachedb schema for SQLite, exactly as `alembic upgrade head` creates it.
-- cachedb creates a new database from this file with sqlite3 alone (cachedb/db/schema.py);
-- databases at older revisions still upgrade through the migrations in alembic/.
-- Generated; do not edit. After adding a migration, regenerate it with
--     python -m cachedb.db.schema > cachedb/db/schema.sql
-- (tests/test_migrations.py fails while this file and the migrations disagree).

CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

CREATE TABLE archives (
    id VARCHAR(64) NOT NULL,
    relpath VARCHAR(255) NOT NULL,
    filename VARCHAR(255) NOT NULL,
    name VARCHAR(255) NOT NULL,
    version VARCHAR(255) NOT NULL,
    tags VARCHAR(1024) NOT NULL,
    unpacked_size INTEGER NOT NULL,
    file_count INTEGER NOT NULL,
    wheel_size INTEGER NOT NULL,
    created_at FLOAT NOT NULL,
    last_used_at FLOAT NOT NULL,
    deleted_at FLOAT,
    PRIMARY KEY (id)
);

CREATE INDEX ix_archives_last_used_at ON archives (last_used_at);

CREATE INDEX ix_archives_name ON archives (name);

CREATE INDEX ix_archives_name_version ON archives (name, version);

CREATE TABLE events (
    id INTEGER NOT NULL,
    at FLOAT NOT NULL,
    kind VARCHAR(64) NOT NULL,
    subject VARCHAR(4096) NOT NULL,
    old_archive VARCHAR(64),
    new_archive VARCHAR(64),
    pid INTEGER NOT NULL,
    command TEXT NOT NULL,
    detail TEXT,
    PRIMARY KEY (id)
);

CREATE INDEX ix_events_at ON events (at);

CREATE INDEX ix_events_kind ON events (kind);

CREATE TABLE leases (
    id INTEGER NOT NULL,
    archive_id VARCHAR(64) NOT NULL,
    pid INTEGER NOT NULL,
    host VARCHAR(255) NOT NULL,
    created_at FLOAT NOT NULL,
    expires_at FLOAT NOT NULL, started_at FLOAT, heartbeat_at FLOAT,
    PRIMARY KEY (id)
);

CREATE INDEX ix_leases_archive_id ON leases (archive_id);

CREATE TABLE archive_files (
    archive_id VARCHAR(64) NOT NULL,
    path VARCHAR(1024) NOT NULL,
    sha256 VARCHAR(64) NOT NULL,
    size INTEGER NOT NULL,
    executable BOOLEAN NOT NULL,
    PRIMARY KEY (archive_id, path),
    FOREIGN KEY(archive_id) REFERENCES archives (id) ON DELETE CASCADE
);

CREATE INDEX ix_archive_files_sha256 ON archive_files (sha256);

CREATE TABLE pointers (
    id INTEGER NOT NULL,
    bucket VARCHAR(64) NOT NULL,
    "key" VARCHAR(1024) NOT NULL,
    archive_id VARCHAR(64) NOT NULL,
    kind VARCHAR(16) NOT NULL,
    created_at FLOAT NOT NULL,
    updated_at FLOAT NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(archive_id) REFERENCES archives (id),
    CONSTRAINT uq_pointers_bucket_key UNIQUE (bucket, "key")
);

CREATE INDEX ix_pointers_archive_id ON pointers (archive_id);

CREATE TABLE hosts (
    id INTEGER NOT NULL,
    machine_id VARCHAR(255) NOT NULL,
    boot_id VARCHAR(255),
    name VARCHAR(255) NOT NULL,
    first_seen_at FLOAT NOT NULL,
    last_seen_at FLOAT NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT uq_hosts_machine_id UNIQUE (machine_id)
);

CREATE TABLE meta (
    "key" VARCHAR(64) NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY ("key")
);

CREATE TABLE "environments" (
    id INTEGER NOT NULL,
    path VARCHAR(4096) NOT NULL,
    python VARCHAR(4096) NOT NULL,
    created_at FLOAT NOT NULL,
    last_used_at FLOAT NOT NULL,
    stale_at FLOAT,
    host_id INTEGER,
    PRIMARY KEY (id),
    CONSTRAINT uq_environments_host_path UNIQUE (host_id, path)
);

CREATE TABLE "installs" (
    id INTEGER NOT NULL,
    environment_id INTEGER NOT NULL,
    archive_id VARCHAR(64) NOT NULL,
    name VARCHAR(255) NOT NULL,
    version VARCHAR(255) NOT NULL,
    link_mode VARCHAR(16) NOT NULL,
    installed_at FLOAT NOT NULL,
    removed_at FLOAT,
    PRIMARY KEY (id),
    FOREIGN KEY(archive_id) REFERENCES archives (id),
    FOREIGN KEY(environment_id) REFERENCES "environments" (id) ON DELETE CASCADE
);

CREATE INDEX ix_environments_host_id ON environments (host_id);

CREATE INDEX ix_installs_archive_id ON installs (archive_id);

CREATE INDEX ix_installs_environment_id ON installs (environment_id);

CREATE VIEW v_archives AS SELECT a.id, a.name, a.version, a.tags, a.filename,
                   a.unpacked_size, a.wheel_size, a.file_count,
                   a.created_at, strftime('%Y-%m-%dT%H:%M:%SZ', a.created_at, 'unixepoch') AS created_iso,
                   a.last_used_at, strftime('%Y-%m-%dT%H:%M:%SZ', a.last_used_at, 'unixepoch') AS last_used_iso,
                   (SELECT count(*) FROM pointers p WHERE p.archive_id = a.id) AS pointer_count,
                   (SELECT count(DISTINCT i.environment_id)
                      FROM installs i JOIN environments e ON e.id = i.environment_id
                     WHERE i.archive_id = a.id AND i.removed_at IS NULL
                       AND e.stale_at IS NULL) AS environment_count
              FROM archives a
             WHERE a.deleted_at IS NULL;

CREATE VIEW v_environments AS SELECT e.id, e.path, e.python,
                   e.created_at, strftime('%Y-%m-%dT%H:%M:%SZ', e.created_at, 'unixepoch') AS created_iso,
                   e.last_used_at, strftime('%Y-%m-%dT%H:%M:%SZ', e.last_used_at, 'unixepoch') AS last_used_iso,
                   CASE WHEN e.stale_at IS NULL THEN 0 ELSE 1 END AS stale,
                   e.stale_at, strftime('%Y-%m-%dT%H:%M:%SZ', e.stale_at, 'unixepoch') AS stale_iso,
                   (SELECT count(*) FROM installs i
                     WHERE i.environment_id = e.id AND i.removed_at IS NULL) AS active_installs,
                   (SELECT count(*) FROM installs i
                     WHERE i.environment_id = e.id) AS total_installs,
                   (SELECT coalesce(sum(a.unpacked_size), 0)
                      FROM archives a
                     WHERE a.id IN (SELECT i.archive_id FROM installs i
                                     WHERE i.environment_id = e.id
                                       AND i.removed_at IS NULL)) AS bytes_used
              FROM environments e;

CREATE VIEW v_installs AS SELECT i.id, e.path AS environment, i.environment_id, i.name, i.version,
                   i.link_mode, i.archive_id,
                   i.installed_at, strftime('%Y-%m-%dT%H:%M:%SZ', i.installed_at, 'unixepoch') AS installed_iso,
                   i.removed_at, strftime('%Y-%m-%dT%H:%M:%SZ', i.removed_at, 'unixepoch') AS removed_iso,
                   CASE WHEN i.removed_at IS NULL THEN 1 ELSE 0 END AS active
              FROM installs i JOIN environments e ON e.id = i.environment_id;

CREATE VIEW v_events AS SELECT ev.id, ev.at, strftime('%Y-%m-%dT%H:%M:%SZ', ev.at, 'unixepoch') AS at_iso, ev.kind, ev.subject,
                   ev.old_archive, ev.new_archive, ev.pid, ev.command, ev.detail
              FROM events ev;

CREATE VIEW v_bucket_usage AS SELECT u.bucket, u.pointer_count, u.archive_count, u.bytes FROM (
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
            ) u;

INSERT INTO alembic_version (version_num) VALUES ('0006');
