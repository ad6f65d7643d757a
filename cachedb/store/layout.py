"""Names of the places inside a cache directory."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import urlsplit

ARCHIVE_BUCKET = "archive-v0"
WHEELS_BUCKET = "wheels-v0"
BUILT_WHEELS_BUCKET = "built-wheels-v0"
POINTER_BUCKETS = (WHEELS_BUCKET, BUILT_WHEELS_BUCKET)
SIMPLE_BUCKET = "simple-v0"
INTERPRETERS_BUCKET = "interpreters-v0"
TMP_DIR = "tmp"
LOCKS_DIR = "locks"

CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by cachedb.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def source_key(location: str) -> str:
    """A short, filesystem-safe, stable name for where a wheel came from.

    Credentials never enter the key: only scheme, host and path are used.
    """
    parts = urlsplit(location)
    if parts.scheme in ("http", "https", "file"):
        host = parts.hostname or "local"
        clean = f"{parts.scheme}://{host}{':' + str(parts.port) if parts.port else ''}{parts.path}"
    else:
        host = "local"
        clean = str(Path(location).absolute())
    digest = hashlib.sha256(clean.rstrip("/").encode()).hexdigest()[:16]
    return f"{_UNSAFE.sub('_', host)}-{digest}"


def pointer_key(source: str, name: str, wheel_stem: str) -> str:
    return f"{source}/{name}/{wheel_stem}"


class Layout:
    """Absolute paths of one cache directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.archives = root / ARCHIVE_BUCKET
        self.tmp = root / TMP_DIR
        self.locks = root / LOCKS_DIR
        self.simple = root / SIMPLE_BUCKET
        self.interpreters = root / INTERPRETERS_BUCKET

    def archive_dir(self, archive_id: str) -> Path:
        return self.archives / archive_id

    def archive_relpath(self, archive_id: str) -> str:
        return f"{ARCHIVE_BUCKET}/{archive_id}"

    def pointer_path(self, bucket: str, key: str) -> Path:
        return self.root / bucket / key

    def archive_lock(self, archive_id: str) -> Path:
        return self.locks / f"archive-{archive_id}.lock"

    def create(self) -> None:
        for path in (
            self.archives,
            self.tmp,
            self.locks,
            *(self.root / b for b in POINTER_BUCKETS),
        ):
            path.mkdir(parents=True, exist_ok=True)
        tag = self.root / "CACHEDIR.TAG"
        if not tag.exists():
            tag.write_text(CACHEDIR_TAG)
