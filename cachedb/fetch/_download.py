"""Stream one file to disk, verifying its digests before it gets its real name."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from cachedb._redact import redact_url
from cachedb.errors import CacheError, HashMismatch, NetworkError
from cachedb.fetch._downloaded import Downloaded
from cachedb.fetch._hashes import Hasher, hasher_for, usable
from cachedb.fetch._limits import Limits
from cachedb.fetch._session import HttpSession
from cachedb.fetch._urls import local_path, safe_filename

_CHUNK = 256 * 1024


# A distribution's bytes are what the index promised a digest of: never a transfer
# encoding to undo (a gzip body may inflate a thousandfold before any check).
IDENTITY = {"Accept-Encoding": "identity"}


def check_local_file(path: str) -> None:
    """Refuse what is not a regular file (a device such as /dev/zero, a FIFO, a directory)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise NetworkError(f"cannot read {path}: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        raise NetworkError(f"cannot read {path}: not a file")


def refuse_local(url: str, limits: Limits) -> None:
    """A ``file:`` URL is read only from a location on this machine (pip: "not a file")."""
    if not limits.local_files and local_path(url) is not None:
        raise NetworkError(
            f"refusing {redact_url(url)}: not a file a remote index may link to "
            "(it names a file on this machine)"
        )


def _local_chunks(path: str) -> Iterator[bytes]:
    try:
        with open(path, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise NetworkError(f"cannot read {path}: not a file")
            while chunk := f.read(_CHUNK):
                yield chunk
    except OSError as exc:
        raise NetworkError(f"cannot read {path}: {exc.strerror}") from None


def _chunks(session: HttpSession | None, url: str, limits: Limits) -> Iterator[bytes]:
    refuse_local(url, limits)
    path = local_path(url)
    if path is not None:
        yield from _local_chunks(path)
        return
    if session is None:
        raise NetworkError(f"cannot download {redact_url(url)}: network access is disabled")
    with session.open(url, IDENTITY) as reply:
        shown = redact_url(url)
        if reply.status != 200:
            raise NetworkError(f"HTTP {reply.status} downloading {shown}")
        encoding = reply.headers.get("content-encoding", "identity").strip().lower()
        if encoding != "identity":
            raise NetworkError(
                f"{shown} was sent with Content-Encoding: {encoding} where identity was "
                "asked for; refusing to decode a distribution"
            )
        declared = reply.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limits.most:
            raise NetworkError(limits.too_big(shown, int(declared)))
        yield from reply.iter_bytes()


def _stream(
    session: HttpSession | None,
    url: str,
    out: Hasher,
    write: Callable[[bytes], object],
    limits: Limits,
) -> None:
    """Every byte of ``url`` through ``out`` to ``write``, stopping past ``limits``."""
    most = limits.most
    for chunk in _chunks(session, url, limits):
        if out.size + len(chunk) > most:
            raise NetworkError(limits.too_big(redact_url(url), out.size + len(chunk)))
        out.update(chunk)
        write(chunk)
    if limits.declared is not None and out.size != limits.declared:
        raise NetworkError(
            f"{redact_url(url)} is {out.size} bytes, but its index declares {limits.declared}"
        )


def _both(
    write: Callable[[bytes], object], tee: Callable[[bytes], object]
) -> Callable[[bytes], None]:
    def both(chunk: bytes) -> None:
        write(chunk)
        tee(chunk)

    return both


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
    limits: Limits | None = None,
    tee: Callable[[bytes], object] | None = None,
) -> Downloaded:
    """Fetch ``url`` (http(s) or file) into ``dest_dir/filename``.

    ``hashes`` are the index's promises, ``expected`` the user's (``--hash``); both
    must hold. The bytes go to a temporary name in ``dest_dir`` and are renamed
    only once verified, so a failed or mismatching download leaves nothing behind.
    Reading stops as soon as the bytes exceed ``limits`` (the size the index
    declares, else the cap). ``tee`` is given each piece too, as it is written
    (a wheel is unpacked while it downloads: ``store/stream.py``).
    """
    limits = limits or Limits()
    refuse_local(url, limits)
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
            write = out.write if tee is None else _both(out.write, tee)
            _stream(session, url, hasher, write, limits)
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
