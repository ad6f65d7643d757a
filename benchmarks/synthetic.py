"""Synthetic inputs: a large, consistent cache for gc and sql, and wheels of N files.

The cache is created by cachedb itself (``open_cache``: directories, schema at
head), then filled with plain ``sqlite3`` ``executemany`` — far faster than
storing real wheels — together with what gc checks on disk: an
``archive-v0/<id>`` directory per archive row, a ``wheels-v0`` symlink per
pointer row, and living environments whose ``*.dist-info`` directories match
their install rows. Every archive has a pointer, so gc has nothing to collect.
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import sqlite3
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SOURCE = "127.0.0.1-synthetic0000000"  # a pointer-key source, as layout.source_key makes
ENVIRONMENTS = 20
INSTALLS_PER_ENVIRONMENT = 100


@dataclass(frozen=True)
class SyntheticCache:
    root: Path
    archives: int
    files: int
    probe_sha256: str  # a file digest the indexed audit query looks up


def _archive_id(i: int) -> str:
    return hashlib.sha256(f"synthetic-archive-{i}".encode()).hexdigest()


def _name(i: int) -> str:
    return f"synth{i:05d}"


def build_cache(root: Path, archives: int = 10_000, files_per_archive: int = 100) -> SyntheticCache:
    """Create a cache of ``archives`` archives and ``archives * files_per_archive`` file rows."""
    from cachedb.store import open_cache

    with open_cache(root):
        pass  # directories, CACHEDIR.TAG and the schema at head, exactly as cachedb makes them
    rng = random.Random(20261121)  # the same cache on every run
    now = time.time()
    old = now - 30 * 86400  # past gc's grace period: only the pointers keep them alive
    conn = sqlite3.connect(root / "cachedb.sqlite3")
    conn.execute("PRAGMA cache_size = -262144")  # 256 MiB: the 1M-row index builds in memory
    archive_rows = []
    pointer_rows = []
    event_rows = []
    for i in range(archives):
        aid, name = _archive_id(i), _name(i)
        stem = f"{name}-1.0-py3-none-any"
        created = old + i
        archive_rows.append(
            (aid, f"archive-v0/{aid}", f"{stem}.whl", name, "1.0", "py3-none-any",
             rng.randrange(10_000, 50_000_000), files_per_archive, rng.randrange(5_000, 20_000_000),
             created, created + rng.random() * 86400 * 20, None)
        )  # fmt: skip
        key = f"{SOURCE}/{name}/{stem}"
        pointer_rows.append(("wheels-v0", key, aid, "symlink", created, created))
        event_rows.append(
            (created, "archive.insert", f"{stem}.whl", None, aid, 1, "synthetic", None)
        )
        event_rows.append(
            (created, "pointer.insert", f"wheels-v0/{key}", None, aid, 1, "synthetic", None)
        )
    with conn:
        conn.executemany("INSERT INTO archives VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", archive_rows)
        conn.executemany(
            "INSERT INTO pointers (bucket, key, archive_id, kind, created_at, updated_at) "
            "VALUES (?,?,?,?,?,?)",
            pointer_rows,
        )
        conn.executemany(
            "INSERT INTO events (at, kind, subject, old_archive, new_archive, pid, command, detail)"
            " VALUES (?,?,?,?,?,?,?,?)",
            event_rows,
        )
        conn.executemany(
            "INSERT INTO archive_files VALUES (?,?,?,?,?)",
            _file_rows(archives, files_per_archive, rng),
        )
    probe = _file_sha(archives // 2, files_per_archive // 2)
    _environments(conn, root, archives, old)
    conn.close()
    _disk(root, archives)
    return SyntheticCache(root, archives, archives * files_per_archive, probe)


def _file_sha(i: int, j: int) -> str:
    return hashlib.sha256(f"synthetic-file-{i}-{j}".encode()).hexdigest()


def _file_rows(
    archives: int, per_archive: int, rng: random.Random
) -> Iterator[tuple[str, str, str, int, bool]]:
    for i in range(archives):
        aid, name = _archive_id(i), _name(i)
        for j in range(per_archive):
            path = f"{name}/sub{j % 10}/module_{j:04d}.py"
            yield aid, path, _file_sha(i, j), rng.randrange(100, 200_000), False


def _environments(conn: sqlite3.Connection, root: Path, archives: int, when: float) -> None:
    """Living environments (gc roots) whose dist-info directories match their install rows."""
    with conn:
        for e in range(ENVIRONMENTS):
            prefix = root.parent / "synthetic-envs" / f"env{e:02d}"
            site = prefix / "lib" / "python3.11" / "site-packages"
            site.mkdir(parents=True, exist_ok=True)
            cur = conn.execute(
                "INSERT INTO environments (path, python, created_at, last_used_at, stale_at) "
                "VALUES (?,?,?,?,NULL)",
                (str(prefix), str(prefix / "bin" / "python"), when, when),
            )
            env_id = cur.lastrowid
            rows = []
            for k in range(INSTALLS_PER_ENVIRONMENT):
                i = (e * INSTALLS_PER_ENVIRONMENT + k) % archives
                (site / f"{_name(i)}-1.0.dist-info").mkdir(exist_ok=True)
                rows.append((env_id, _archive_id(i), _name(i), "1.0", "hardlink", when))
            conn.executemany(
                "INSERT INTO installs (environment_id, archive_id, name, version, link_mode,"
                " installed_at, removed_at) VALUES (?,?,?,?,?,?,NULL)",
                rows,
            )


def _disk(root: Path, archives: int) -> None:
    """An ``archive-v0/<id>`` directory and a ``wheels-v0`` pointer link per row."""
    past = time.time() - 30 * 86400
    for i in range(archives):
        aid, name = _archive_id(i), _name(i)
        archive = root / "archive-v0" / aid
        archive.mkdir(exist_ok=True)
        os.utime(archive, (past, past))
        link_dir = root / "wheels-v0" / SOURCE / name
        link_dir.mkdir(parents=True, exist_ok=True)
        link = link_dir / f"{name}-1.0-py3-none-any"
        if not link.is_symlink():
            os.symlink(os.path.relpath(archive, link_dir), link, target_is_directory=True)


# -- wheels of N files, for the scaling table ----------------------------------------


def scaling_name(n_files: int) -> str:
    return f"benchscale-{n_files}"


def build_wheel(directory: Path, n_files: int) -> Path:
    """A valid py3-none-any wheel with ``n_files`` small modules (100 per directory)."""
    dist = f"benchscale_{n_files}"
    path = directory / f"{dist}-1.0-py3-none-any.whl"
    if path.exists():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    dist_info = f"{dist}-1.0.dist-info"
    members: list[tuple[str, bytes]] = []
    for i in range(n_files):
        body = f'"""Synthetic module {i}."""\n\nVALUE = {i}\nTEXT = "{"x" * (i % 400)}"\n'
        members.append((f"{dist}/d{i // 100:04d}/m{i % 100:03d}.py", body.encode()))
    members.append(
        (f"{dist_info}/METADATA",
         f"Metadata-Version: 2.1\nName: {scaling_name(n_files)}\nVersion: 1.0\n".encode())
    )  # fmt: skip
    members.append(
        (f"{dist_info}/WHEEL",
         b"Wheel-Version: 1.0\nGenerator: cachedb-benchmark\nRoot-Is-Purelib: true\n"
         b"Tag: py3-none-any\n")
    )  # fmt: skip
    record = [f"{name},sha256={_b64(data)},{len(data)}" for name, data in members]
    record.append(f"{dist_info}/RECORD,,")
    members.append((f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode()))
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
    tmp.rename(path)
    return path


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


SDIST_NAME = "bench-sdist-only"
SDIST_VERSION = "1.0"
FLIT_CORE = "flit_core==3.12.0"  # the build backend both tools install to build the sdist


def build_sdist(directory: Path, modules: int = 50) -> Path:
    """A pure-Python sdist (flit_core backend) with ``modules`` small modules and no wheel."""
    import io
    import tarfile

    package = SDIST_NAME.replace("-", "_")
    stem = f"{package}-{SDIST_VERSION}"
    path = directory / f"{stem}.tar.gz"
    if path.exists():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    pyproject = (
        '[build-system]\nrequires = ["flit_core>=3.4,<4"]\nbuild-backend = "flit_core.buildapi"\n\n'
        f'[project]\nname = "{SDIST_NAME}"\nversion = "{SDIST_VERSION}"\n'
        'description = "A source-only package for the benchmark"\nrequires-python = ">=3.8"\n'
    )
    pkg_info = (
        f"Metadata-Version: 2.1\nName: {SDIST_NAME}\nVersion: {SDIST_VERSION}\n"
        "Summary: A source-only package for the benchmark\nRequires-Python: >=3.8\n"
    )
    files = {"pyproject.toml": pyproject, "PKG-INFO": pkg_info}
    files[f"{package}/__init__.py"] = '"""A source-only package for the benchmark."""\n'
    for i in range(modules):
        files[f"{package}/mod_{i:03d}.py"] = f"def f{i}(x):\n    return x + {i}\n"
    tmp = path.with_suffix(".part")
    with tarfile.open(tmp, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{stem}/{name}")
            info.size, info.mode, info.mtime = len(data), 0o644, 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    tmp.rename(path)
    return path
