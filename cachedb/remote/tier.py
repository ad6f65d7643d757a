"""The remote tier as one install run uses it: fetch on a local miss, push after a store.

A blob is only ever used for a file the run already knows exactly:

- a wheel an index or find-links location offers with a sha256: the blob
  ``wheels/sha256/<that sha256>/<filename>``, refused unless its bytes hash to it;
- a build of an sdist (its sha256) or a git commit for this target: the blob
  under ``built/<source identity>/<target fingerprint>/``, refused unless its
  bytes hash to the sha256 stored with it and the provenance it carries names
  that very source (``cachedb.build.provenance``).

Either way the blob then goes through the same zip checks and unpacking as a
download (``Cache.put``, or the install's unpacking workers). A failure of the
remote (refused, timed out, 5xx, denied) is reported once per run, and the
remote is not asked again in that run: the index answers instead.

Only when the index cannot be reached at all does the remote answer alone, and
only for requirements pinned by ``--hash``: the hash names the very file (or
sdist) the lock was made from; see ``links``.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from cachedb.remote._errors import RemoteError, RemoteTooLarge, RemoteUnavailable
from cachedb.remote.keys import built_key, wheel_key

if TYPE_CHECKING:
    from cachedb.fetch import Downloaded
    from cachedb.index import Link
    from cachedb.remote._client import Remote, RemoteObject

SHA256_META = "sha256"
USES = "uses/"
"""``uses/<blob key>``: an empty object rewritten whenever the blob is fetched."""
T = TypeVar("T")


def fingerprint(tags: Sequence[str]) -> str:
    """The target a build was made for: a digest of its interpreter's tags, in order.

    Two targets with the same tag list accept exactly the same wheels in the same
    order of preference, so a build for one is the build the other would make.
    """
    return "tags-" + hashlib.sha256("\n".join(tags).encode()).hexdigest()[:32]


class RemoteTier:
    """The remote for one run; opened on first use (a run that misses nothing never
    imports httpx for it)."""

    def __init__(
        self,
        url: str,
        *,
        push: bool | None,
        tags: Sequence[str],
        warn: Callable[[str], None],
        timeout: float = 30.0,
        hashes: Mapping[str, frozenset[str]] | None = None,
        tmp: Path | None = None,
    ) -> None:
        """``push``: None pushes built wheels only (the default), True downloaded wheels
        too, False nothing. ``hashes``: the run's ``--hash`` values by name (for
        ``links``). ``tmp``: where blobs read for metadata are kept until ``close``."""
        from cachedb.remote._url import RemoteUrl

        self.url = RemoteUrl.parse(url)  # a bad URL is a usage error before anything runs
        self.push_built = push is not False
        self.push_downloads = push is True
        self._priority = {tag: i for i, tag in enumerate(tags)}
        self.fingerprint = fingerprint(tags)
        self._warn = warn
        self._timeout = timeout
        self._hashes = hashes or {}
        self._tmp = tmp
        self._lock = threading.Lock()
        self._remote: Remote | None = None
        self._failed = False
        self._no_writes = False
        self._no_marks = False
        self._warned_alone = False
        self._own: set[Path] = set()  # files fetched from the remote (never pushed back)
        self._blobs: dict[str, Path] = {}  # sha256 -> wheel fetched for metadata
        self._scratch: Path | None = None

    @property
    def source(self) -> str:
        """How links the remote answers name their source (never carries credentials)."""
        return str(self.url)

    def close(self) -> None:
        if self._remote is not None:
            self._remote.close()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)

    # -- wheels --------------------------------------------------------------------------

    def fetch_wheel(self, link: Link, dest_dir: Path) -> Downloaded | None:
        """The wheel ``link`` offers, from the remote: a verified file under ``dest_dir``,
        or None (no sha256 to name it by, not there, refused, or the remote failing)."""
        sha = link.hashes.get("sha256")
        if sha is None or len(sha) != 64:
            return None
        with self._lock:
            kept = self._blobs.get(sha)
        if kept is not None:
            from cachedb.fetch import Downloaded

            return Downloaded(kept, sha, kept.stat().st_size)
        try:
            key = wheel_key(sha, link.filename)
        except ValueError:
            return None
        return self._fetch(key, sha, link.filename, dest_dir, link.size)

    def push_wheels(self, wheels: Iterable[tuple[str, Path]]) -> None:
        """Push downloaded wheels ``(sha256, path)`` where downloaded wheels are pushed."""
        if not self.push_downloads:
            return
        todo: list[tuple[str, Path, str]] = []
        for sha, path in wheels:
            try:
                key = wheel_key(sha, path.name)
            except ValueError:
                continue
            if path not in self._own:
                todo.append((key, path, sha))
        from cachedb._threads import on_threads

        on_threads(lambda item: self._push(*item), todo, 4, "push")

    # -- built wheels --------------------------------------------------------------------

    def fetch_built(self, identity: str, name: str, dest_dir: Path) -> Path | None:
        """The best wheel of ``name`` built from ``identity`` for this target, verified
        against the sha256 stored with it; None when there is none (or it is refused)."""
        prefix = built_key(identity, self.fingerprint, "x.whl")[: -len("x.whl")]
        best: tuple[int, str] | None = None
        for obj in self._list(prefix):
            filename = obj.key[len(prefix) :]
            rank = self._rank(filename, name)
            if rank is not None and (best is None or rank < best[0]):
                best = (rank, filename)
        if best is None:
            return None
        got = self._fetch(prefix + best[1], None, best[1], dest_dir, None, listed=True)
        return got.path if got is not None else None

    def push_build(self, identity: str, wheel: Path) -> None:
        if not self.push_built:
            return
        from cachedb.store.unpack import sha256_file

        try:
            key = built_key(identity, self.fingerprint, wheel.name)
        except ValueError:
            return
        self._push(key, wheel, sha256_file(wheel))

    # -- answering alone, when the index cannot be reached ----------------------------

    def links(self, name: str, error: Exception) -> list[Link]:
        """What the remote holds of the files ``name``'s ``--hash`` values name: their
        wheels, and an sdist (by its hash) wherever a build of it for this target is
        there. Raises ``error`` (the index's) when the remote cannot answer for ``name``.

        The hash names the very file the requirement asks for, as the index offered
        it when the lock was made, so what is installed is that file; only which of
        the hashed files is chosen may differ from what the index would choose, if
        the remote lacks some (the best-tagged of those it holds is taken).
        """
        hashes = sorted(
            h.split(":", 1)[1] for h in self._hashes.get(name, ()) if h.startswith("sha256:")
        )
        if not hashes or self._failed:
            raise error
        out: list[Link] = []
        for sha in hashes:
            prefix = f"wheels/sha256/{sha}/"
            for obj in self._list(prefix):
                filename = obj.key[len(prefix) :]
                if self._rank(filename, name) is not None:
                    out.append(self._link(filename, sha, obj.size))
            built = f"built/sdist-{sha}/{self.fingerprint}/"
            for obj in self._list(built):
                filename = obj.key[len(built) :]
                if self._rank(filename, name) is not None:
                    version = parse_wheel_filename(filename)[1]
                    out.append(self._link(f"{name}-{version}.tar.gz", sha, None))
                    break
        if not out:
            raise error
        if not self._warned_alone:
            self._warned_alone = True
            self._warn(
                f"the index cannot be reached ({error}); requirements pinned by --hash are "
                f"answered from the remote {self.url}"
            )
        return out

    def wheel_for_metadata(self, link: Link) -> Path | None:
        """A wheel the remote answered alone, fetched to read its METADATA (and kept for
        the install, which then takes it from here)."""
        if link.source != self.source or not link.is_wheel:
            return None
        if self._scratch is None:
            self._scratch = Path(tempfile.mkdtemp(prefix="remote-", dir=self._tmp))
        got = self.fetch_wheel(link, self._scratch)
        if got is None:
            return None
        with self._lock:
            self._blobs[got.sha256] = got.path
        return got.path

    def _link(self, filename: str, sha: str, size: int | None) -> Link:
        from cachedb.index import Link

        return Link(
            f"{self.source}#{filename}",
            filename,
            {"sha256": sha},
            None,
            None,
            None,
            self.source,
            size=size,
        )

    # -- plumbing ------------------------------------------------------------------------

    def _rank(self, filename: str, name: str) -> int | None:
        try:
            wheel_name, _, _, tags = parse_wheel_filename(filename)
        except InvalidWheelFilename:
            return None
        if wheel_name != name:
            return None
        ranks = [self._priority[str(t)] for t in tags if str(t) in self._priority]
        return min(ranks) if ranks else None

    def _fetch(
        self,
        key: str,
        sha: str | None,
        filename: str,
        dest_dir: Path,
        size: int | None,
        *,
        listed: bool = False,
    ) -> Downloaded | None:
        """``key`` into ``dest_dir/<unique>/<filename>``, checked against ``sha`` (else the
        sha256 stored with the object); a refused blob is removed here and reported."""
        from cachedb.fetch import DEFAULT_MAX_DOWNLOAD_SIZE, Downloaded
        from cachedb.store.unpack import sha256_file

        box = Path(tempfile.mkdtemp(prefix="remote-", dir=dest_dir))
        dest = box / filename
        limit = size if size is not None else DEFAULT_MAX_DOWNLOAD_SIZE
        # A miss costs one HEAD (``listed``: the listing just showed it). A hit announces
        # its use (the marker's LastModified, for `cachedb remote gc`) before the read:
        # gc deletes a marked blob only if no use was announced since its mark.
        if not listed and self._guard(lambda remote: remote.head(key)) is None:
            shutil.rmtree(box, ignore_errors=True)
            return None
        self._guard(lambda remote: remote.put(USES + key, b""), write=True, quiet=True)
        try:
            got = self._guard(lambda remote: remote.get(key, dest, max_size=limit))
        except RemoteTooLarge as exc:
            got = None
            self._warn(f"refused {exc}")
        if got is None:
            shutil.rmtree(box, ignore_errors=True)
            return None
        expected = sha or got.metadata.get(SHA256_META, "")
        actual = sha256_file(dest)
        if actual != expected:
            shutil.rmtree(box, ignore_errors=True)
            repaired = ""
            if sha is not None and self.push_downloads:
                # Its key names another sha256, so it is wrong for every host: taken away,
                # the push after this run's download puts the right bytes there.
                self._guard(lambda remote: remote.delete(key), write=True)
                repaired = "; deleted it there"
            self._warn(
                f"refused {key} from the remote {self.url}: its sha256 is {actual}, "
                f"not {expected or 'stated'}{repaired}"
            )
            return None
        with self._lock:
            self._own.add(dest)
        return Downloaded(dest, actual, dest.stat().st_size)

    def _list(self, prefix: str) -> list[RemoteObject]:
        return self._guard(lambda remote: list(remote.list(prefix))) or []

    def _push(self, key: str, path: Path, sha: str) -> None:
        meta = {SHA256_META: sha}
        self._guard(lambda remote: remote.put_if_absent(key, path, metadata=meta), write=True)

    def _guard(
        self, fn: Callable[[Remote], T], *, write: bool = False, quiet: bool = False
    ) -> T | None:
        """``fn(remote)``, or None once the remote has failed in this run (said once).

        A remote that cannot be reached or fails (``RemoteUnavailable``) is not asked
        again; one that refuses a write (read-only credentials) is still read from,
        and is not written to again. ``quiet``: a refused write goes unsaid (the
        last-use marks, which a read-only host cannot write).
        """
        with self._lock:
            if self._failed or (write and (self._no_marks if quiet else self._no_writes)):
                return None
            if self._remote is None:
                from cachedb.remote._client import Remote
                from cachedb.remote._credentials import from_environment, region
                from cachedb.remote._url import DEFAULT_REGION

                self._remote = Remote(
                    self.url,
                    from_environment(),
                    self.url.region or region() or DEFAULT_REGION,
                    self._timeout,
                )
            remote = self._remote
        try:
            return fn(remote)
        except RemoteTooLarge:
            raise  # that blob is refused, not the remote
        except (RemoteError, OSError) as exc:
            if write and not isinstance(exc, RemoteUnavailable | OSError):
                with self._lock:
                    if quiet:
                        self._no_marks = True
                        return None
                    first, self._no_writes = not self._no_writes, True
                if first:
                    self._warn(f"{exc}; nothing more is pushed to it in this run")
                return None
            with self._lock:
                first, self._failed = not self._failed, True
            if first:
                self._warn(f"{exc}; the remote is not used for the rest of this run")
            return None
