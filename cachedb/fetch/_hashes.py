"""Digests computed while bytes stream past, and the check against promised ones."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from cachedb.errors import HashMismatch

# Only algorithms every Python has count; an index may list others (e.g. blake2b variants
# we cannot name reliably) and those are ignored rather than trusted.
# hashlib.algorithms_guaranteed less the shakes (tests/test_fetch.py compares): importing
# hashlib to ask would load OpenSSL on every run that reads an index page.
_KNOWN = frozenset(
    {"blake2b", "blake2s", "md5", "sha1", "sha224", "sha256", "sha384", "sha512"}
    | {"sha3_224", "sha3_256", "sha3_384", "sha3_512"}
)


def usable(hashes: Mapping[str, str] | None) -> dict[str, str]:
    """The promised digests we can check, algorithm names lower-cased, hex lower-cased."""
    return {k.lower(): v.lower() for k, v in (hashes or {}).items() if k.lower() in _KNOWN}


class Hasher:
    """sha256 always (the cache keys on it), plus whatever the promises need."""

    def __init__(self, algorithms: Iterable[str] = ()) -> None:
        import hashlib

        self._hashes = {name: hashlib.new(name) for name in {"sha256", *algorithms}}
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self.size += len(chunk)
        for h in self._hashes.values():
            h.update(chunk)

    def hexdigest(self, algorithm: str = "sha256") -> str:
        return self._hashes[algorithm].hexdigest()

    def check(self, what: str, *promises: Mapping[str, str]) -> None:
        """Raise HashMismatch naming both digests if any promise disagrees."""
        for promise in promises:
            for algorithm, expected in promise.items():
                actual = self.hexdigest(algorithm)
                if actual != expected:
                    raise HashMismatch(
                        f"hash mismatch for {what}: expected {algorithm}:{expected}, "
                        f"got {algorithm}:{actual}"
                    )


def hasher_for(*promises: Mapping[str, str]) -> Hasher:
    return Hasher({alg for p in promises for alg in p})
