"""The HTTP cache of index pages: one file per URL under ``simple-v0/``.

A file is a one-line JSON header (status, validators, freshness) followed by
the body. Credentials never reach the disk: keys and stored URLs are stripped.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from cachedb._digest import sha256_hex
from cachedb._fdio import read_nofollow
from cachedb.fetch._urls import strip_credentials

if TYPE_CHECKING:
    from typing import NamedTuple
else:
    # Not typing's NamedTuple: that one compiles each field's annotation (~0.2M instructions).
    from .._record import NamedTuple


def _debug(message: str, *args: object) -> None:
    """Why a page was not cached, for whoever reads the debug log: logging (threads,
    traceback) loads only then, not on every warm install from an index."""
    import logging

    logging.getLogger(__name__).debug(message, *args)


_FORMAT = 1
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


# NamedTuples, not dataclasses: a frozen dataclass costs ~1 ms to define on every run.
class CachedPage(NamedTuple):
    url: str
    """The final URL after redirects, without credentials; base for relative links."""
    status: int
    """200, or 404 for "this project is not on this index"."""
    content_type: str
    etag: str | None
    last_modified: str | None
    fetched: float
    max_age: float | None
    """Seconds the server allowed the page to be reused without asking; None = always ask."""
    body: bytes

    def fresh(self, now: float | None = None) -> bool:
        if self.max_age is None:
            return False
        return ((now if now is not None else time.time()) - self.fetched) < self.max_age

    def revalidated(self, headers: Mapping[str, str]) -> CachedPage:
        """This page after a 304: same body, new freshness and validators."""
        policy = cache_policy(headers)
        return self._replace(
            fetched=time.time(),
            max_age=policy.max_age if policy.max_age is not None else self.max_age,
            etag=headers.get("etag") or self.etag,
            last_modified=headers.get("last-modified") or self.last_modified,
        )


class CachePolicy(NamedTuple):
    store: bool
    max_age: float | None


def cache_policy(headers: Mapping[str, str]) -> CachePolicy:
    """What ``Cache-Control`` allows: ``no-store`` keeps it off disk, ``max-age`` skips asking."""
    store, max_age = True, None
    for directive in headers.get("cache-control", "").lower().split(","):
        key, _, value = directive.strip().partition("=")
        if key == "no-store":
            store = False
        elif key == "no-cache":
            max_age = 0.0
        elif key == "max-age" and value.strip().isdigit() and max_age != 0.0:
            max_age = float(value.strip())
    return CachePolicy(store=store, max_age=max_age)


class PageCache:
    """Pages on disk; ``directory=None`` caches nothing.

    With ``deferred``, writes wait in memory until ``flush``: a run that fails
    leaves the cache exactly as it found it.
    """

    def __init__(self, directory: Path | None, *, deferred: bool = False) -> None:
        self.directory = directory
        self.deferred = deferred
        self._pending: dict[Path, bytes] = {}
        # Deferred files written ahead under tmp/ (``stage``): path -> (its data, where).
        self._staged: dict[Path, tuple[bytes, Path]] = {}
        self._stage_root: Path | None = None

    def _linked(self, path: Path) -> bool:
        """Whether a folder between the cache's directory and ``path`` is a symbolic link:
        planted there, it would lead reads and writes out of the cache."""
        folder = path.parent
        while folder != self.directory:
            if os.path.islink(folder):
                return True
            folder = folder.parent
        return False

    def _write(self, path: Path, data: bytes) -> None:
        if self.deferred:
            self._pending[path] = data
            return
        if self._linked(path):
            raise OSError(f"a folder above {path} is a symbolic link")
        import tempfile  # only a run that fetched something writes

        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _read(self, path: Path) -> bytes:
        pending = self._pending.get(path)
        if pending is not None:
            return pending
        if self._linked(path):
            raise OSError(f"a folder above {path} is a symbolic link")
        return read_nofollow(path)

    def stage(self, scratch: Path) -> None:
        """Write the deferred files now, as they are, under ``scratch`` (the cache's
        ``tmp/``), laid out as in the cache: ``flush`` then only moves them into place
        (a whole directory at once where the cache has none yet). Creating files and
        directories is the filesystem's slow part; a run does it here while it waits
        for its downloads, not at its end. Nothing in the cache changes before ``flush``."""
        if self.directory is None or not self.deferred:
            return
        if self._stage_root is None:
            self._stage_root = scratch / f"pages-{os.urandom(6).hex()}"
        made: set[Path] = set()
        for path, data in list(self._pending.items()):
            if path in self._staged:
                continue
            where = self._stage_root / path.relative_to(self.directory)
            try:
                if where.parent not in made:
                    where.parent.mkdir(parents=True, exist_ok=True)
                    made.add(where.parent)
                fd = os.open(where, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _CLOEXEC, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
            except OSError as exc:  # written by flush instead
                _debug("cannot stage %s: %s", path.name, exc)
                continue
            self._staged[path] = (data, where)

    def flush(self) -> None:
        """Write every deferred page and metadata file."""
        pending, self._pending = self._pending, {}
        staged, self._staged = self._staged, {}
        deferred, self.deferred = self.deferred, False
        try:
            done = self._move_staged(pending, staged)
            for path, data in pending.items():
                if path in done:
                    continue
                try:
                    self._write(path, data)
                except OSError as exc:
                    _debug("cannot cache %s: %s", path.name, exc)
        finally:
            self.deferred = deferred
            self.discard_staged()

    def _move_staged(
        self, pending: Mapping[Path, bytes], staged: Mapping[Path, tuple[bytes, Path]]
    ) -> set[Path]:
        """Move the staged files still current into the cache; the paths done."""
        by_directory: dict[Path, list[Path]] = {}
        for path, (data, where) in staged.items():
            if pending.get(path) is data:
                by_directory.setdefault(path.parent, []).append(path)
            else:  # put again since: flush writes the newer data
                with contextlib.suppress(OSError):
                    os.unlink(where)
        done: set[Path] = set()
        for directory, paths in by_directory.items():
            if self._linked(paths[0]):
                continue  # left to _write, which refuses it
            try:
                if not directory.exists():
                    directory.parent.mkdir(parents=True, exist_ok=True)
                    with contextlib.suppress(OSError):  # made meanwhile: file by file
                        os.rename(staged[paths[0]][1].parent, directory)
                        done.update(paths)
                        continue
                for path in paths:
                    os.replace(staged[path][1], path)
                    done.add(path)
            except OSError as exc:  # written by flush instead
                _debug("cannot move staged files into %s: %s", directory, exc)
        return done

    def discard_staged(self) -> None:
        """Remove what ``stage`` wrote and ``flush`` did not move (a failed run's)."""
        root, self._stage_root = self._stage_root, None
        self._staged = {}
        if root is not None:
            import shutil

            shutil.rmtree(root, ignore_errors=True)

    def path(self, url: str, accept: str) -> Path | None:
        """The file holding the page of ``url`` as ``accept`` asks for it."""
        if self.directory is None:
            return None
        # The Accept header is part of the key: the same URL can answer JSON or HTML.
        key = sha256_hex(f"{strip_credentials(url)}\n{accept}".encode())
        return self.directory / "pages" / key[:2] / key

    def get(self, url: str, accept: str) -> CachedPage | None:
        path = self.path(url, accept)
        if path is None:
            return None
        try:
            raw = self._read(path)
            header, _, body = raw.partition(b"\n")
            meta = json.loads(header)
            if meta.pop("format") != _FORMAT:
                return None
            return CachedPage(body=body, **meta)
        except (OSError, ValueError, TypeError, KeyError):
            # A missing, foreign or damaged entry is a miss; it is overwritten next fetch.
            return None

    def put(self, url: str, accept: str, page: CachedPage) -> None:
        path = self.path(url, accept)
        if path is None:
            return
        meta = page._asdict()
        del meta["body"]
        meta["format"] = _FORMAT
        meta["url"] = strip_credentials(page.url)
        data = json.dumps(meta).encode() + b"\n" + page.body
        try:
            self._write(path, data)
        except OSError as exc:
            # The page cache only saves requests; a read-only cache must not fail the run.
            _debug("cannot cache index page: %s", exc)

    def get_blob(self, name: str) -> bytes | None:
        if self.directory is None:
            return None
        try:
            return self._read(self.directory / "metadata" / name)
        except OSError:
            return None

    def put_blob(self, name: str, data: bytes) -> None:
        """Content-addressed files (verified ``.metadata``): immutable, so never revalidated."""
        if self.directory is None:
            return
        path = self.directory / "metadata" / name
        try:
            self._write(path, data)
        except OSError as exc:
            _debug("cannot cache metadata: %s", exc)
