"""Stream one file to disk, verifying its digests before it gets its real name."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from cachedb.errors import CacheError, HashMismatch, NetworkError
from cachedb.fetch._downloaded import Downloaded
from cachedb.fetch._hashes import Hasher, hasher_for, usable
from cachedb.fetch._session import HttpSession
from cachedb.fetch._urls import local_path, redact_url

_CHUNK = 256 * 1024


def safe_filename(filename: str) -> bool:
    """A name that stays inside the destination directory."""
    return (
        bool(filename)
        and filename not in (".", "..")
        and not any(sep in filename for sep in ("/", "\\", "\0"))
    )


def _local_chunks(path: str) -> Iterator[bytes]:
    try:
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                yield chunk
    except OSError as exc:
        raise NetworkError(f"cannot read {path}: {exc.strerror}") from None


def _stream(
    session: HttpSession | None, url: str, out: Hasher, write: Callable[[bytes], object]
) -> None:
    path = local_path(url)
    if path is not None:
        for chunk in _local_chunks(path):
            out.update(chunk)
            write(chunk)
        return
    if session is None:
        raise NetworkError(f"cannot download {redact_url(url)}: network access is disabled")
    with session.open(url) as reply:
        if reply.status != 200:
            raise NetworkError(f"HTTP {reply.status} downloading {redact_url(url)}")
        for chunk in reply.iter_bytes():
            out.update(chunk)
            write(chunk)


def _cannot_save(filename: str, dest_dir: Path, exc: OSError) -> CacheError:
    return CacheError(f"cannot save {filename} in {str(dest_dir)!r}: {exc.strerror or exc}")


def download(
    session: HttpSession | None,
    url: str,
    dest_dir: Path,
    filename: str,
    *,
    hashes: Mapping[str, str] | None = None,
    expected: Mapping[str, str] | None = None,
) -> Downloaded:
    """Fetch ``url`` (http(s) or file) into ``dest_dir/filename``.

    ``hashes`` are the index's promises, ``expected`` the user's (``--hash``); both
    must hold. The bytes go to a temporary name in ``dest_dir`` and are renamed
    only once verified, so a failed or mismatching download leaves nothing behind.
    """
    if not safe_filename(filename):
        raise NetworkError(f"refusing to download {redact_url(url)} to unsafe name {filename!r}")
    promised = usable(hashes)
    wanted = usable(expected)
    if expected and not wanted:
        raise HashMismatch(
            f"cannot check {filename}: unsupported hash algorithm(s) {', '.join(expected)}"
        )
    hasher = hasher_for(promised, wanted)
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest_dir, prefix=f".{filename}.", suffix=".part")
    except OSError as exc:
        raise _cannot_save(filename, dest_dir, exc) from None
    try:
        with os.fdopen(fd, "wb") as out:
            _stream(session, url, hasher, out.write)
        hasher.check(filename, promised, wanted)
        target = dest_dir / filename
        os.replace(tmp_name, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        # Reading errors are NetworkErrors already: an OSError here is the disk's (full, ...).
        if isinstance(exc, OSError):
            raise _cannot_save(filename, dest_dir, exc) from None
        raise
    return Downloaded(path=target, sha256=hasher.hexdigest(), size=hasher.size)
