"""Names of the places inside a cache directory."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from .._config import DB_FILENAME
from .._digest import sha256_hex
from ..errors import CacheError

ARCHIVE_BUCKET = "archive-v0"
WHEELS_BUCKET = "wheels-v0"
BUILT_WHEELS_BUCKET = "built-wheels-v0"
POINTER_BUCKETS = (WHEELS_BUCKET, BUILT_WHEELS_BUCKET)
SIMPLE_BUCKET = "simple-v0"
INTERPRETERS_BUCKET = "interpreters-v0"
TMP_DIR = "tmp"
LOCKS_DIR = "locks"
QUARANTINE_DIR = "quarantine"
ROOT_ID_FILE = "cachedb-id"
# The files kept at the top: SQLite (and the id's writer) would create them where a link
# planted in their place leads.
TOP_LEVEL_FILES = (
    *(DB_FILENAME + suffix for suffix in ("", "-wal", "-shm", "-journal")),
    ROOT_ID_FILE,
)
# Every folder cachedb keeps at the top of a cache; each must be a real directory.
TOP_LEVEL_DIRS = (
    ARCHIVE_BUCKET,
    *POINTER_BUCKETS,
    SIMPLE_BUCKET,
    INTERPRETERS_BUCKET,
    TMP_DIR,
    LOCKS_DIR,
    QUARANTINE_DIR,
)

CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by cachedb.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_ARCHIVE_ID = re.compile(r"[0-9a-f]{64}")


def is_archive_id(value: object) -> bool:
    """Whether ``value`` is an archive id (a sha256 in lowercase hex): a safe directory name."""
    return isinstance(value, str) and _ARCHIVE_ID.fullmatch(value) is not None


def is_pointer(bucket: str, key: str) -> bool:
    """Whether ``bucket``/``key`` names a place inside a pointer bucket (three plain parts)."""
    parts = key.split("/") if isinstance(key, str) else []
    return bucket in POINTER_BUCKETS and (
        len(parts) == 3 and not any(p in ("", ".", "..") or "\\" in p for p in parts)
    )


def checked_archive_id(value: str) -> str:
    """``value`` if it is an archive id; anything else (``../x``, read from a tampered
    database) would be a path, so it is refused before it reaches the filesystem."""
    if not is_archive_id(value):
        raise CacheError(f"refusing archive id {value!r}: not 64 lowercase hex digits")
    return value


def source_key(location: str) -> str:
    """A short, filesystem-safe, stable name for where a wheel came from.

    Credentials never enter the key: only scheme, host and path are used.
    """
    from urllib.parse import urlsplit

    parts = urlsplit(location)
    if parts.scheme in ("http", "https", "file"):
        host = parts.hostname or "local"
        clean = f"{parts.scheme}://{host}{':' + str(parts.port) if parts.port else ''}{parts.path}"
    else:
        host = "local"
        clean = str(Path(location).absolute())
    digest = sha256_hex(clean.rstrip("/").encode())[:16]
    return f"{_UNSAFE.sub('_', host)}-{digest}"


def pointer_key(source: str, name: str, wheel_stem: str) -> str:
    return f"{source}/{name}/{wheel_stem}"


def _host_key() -> str:
    from .._process import host_id

    return sha256_hex(host_id().encode("utf-8", "surrogateescape"))[:16]


class Layout:
    """Absolute paths of one cache directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.archives = root / ARCHIVE_BUCKET
        self.tmp = root / TMP_DIR
        self.locks = root / LOCKS_DIR
        self.simple = root / SIMPLE_BUCKET
        # Per host: hosts sharing the cache may have different interpreters at one path.
        self.interpreters = root / INTERPRETERS_BUCKET / _host_key()

    @classmethod
    def of(cls, cache_dir: str | os.PathLike[str] | None) -> Layout:
        """The layout of the cache directory a command names (``--cache-dir``), else
        ``CACHEDB_CACHE_DIR``'s, else the default one."""
        from .._config import resolve_cache_dir

        return cls(resolve_cache_dir(cache_dir))

    def archive_dir(self, archive_id: str) -> Path:
        return self.archives / checked_archive_id(archive_id)

    def archive_relpath(self, archive_id: str) -> str:
        return f"{ARCHIVE_BUCKET}/{checked_archive_id(archive_id)}"

    def is_archive_relpath(self, archive_id: str, relpath: object) -> bool:
        """Whether a row's ``relpath`` is exactly the one its (valid) ``archive_id`` implies."""
        return is_archive_id(archive_id) and relpath == f"{ARCHIVE_BUCKET}/{archive_id}"

    def pointer_path(self, bucket: str, key: str) -> Path:
        if not is_pointer(bucket, key):
            raise CacheError(
                f"refusing pointer {bucket}/{key!r}: not '<bucket>/<source>/<name>/<wheel-stem>'"
                " (run `cachedb verify --repair`)"
            )
        return self.root / bucket / key

    def archive_lock(self, archive_id: str) -> Path:
        return self.locks / f"archive-{checked_archive_id(archive_id)}.lock"

    def create(self) -> None:
        for path in (
            self.archives,
            self.tmp,
            self.locks,
            *(self.root / b for b in POINTER_BUCKETS),
        ):
            path.mkdir(parents=True, exist_ok=True)
        tag = self.root / "CACHEDIR.TAG"
        if not os.path.lexists(tag):
            tag.write_text(CACHEDIR_TAG)

    def check(self) -> None:
        """Refuse a cache whose top-level folders (and this host's folder in
        ``interpreters-v0/``) are not real directories, or whose database or id file
        is a link.

        A planted link there (``tmp/`` or ``archive-v0/`` leading elsewhere) would
        make gc empty, and installs write into, a directory outside the cache; the
        host's folder is where venv templates and memos are written.
        """
        host = self.interpreters.relative_to(self.root).as_posix()
        for name in (*TOP_LEVEL_DIRS, host, *TOP_LEVEL_FILES):
            try:
                mode = os.lstat(self.root / name).st_mode
            except FileNotFoundError:
                continue
            folder = name not in TOP_LEVEL_FILES
            if stat.S_ISDIR(mode) if folder else not stat.S_ISLNK(mode):
                continue
            what = "a symbolic link" if stat.S_ISLNK(mode) else "not a directory"
            raise CacheError(
                f"cannot use cache directory {str(self.root)!r}: {name}{'/' if folder else ''}"
                f" is {what}; remove it (cachedb never follows links out of its cache)"
            )
