"""Digests computed while bytes stream past, and the check against promised ones."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from cachedb.errors import HashMismatch

# Only algorithms every Python has count; an index may list others (e.g. blake2b variants
# we cannot name reliably) and those are ignored rather than trusted.
_KNOWN = frozenset(hashlib.algorithms_guaranteed) - {"shake_128", "shake_256"}


def usable(hashes: Mapping[str, str] | None) -> dict[str, str]:
    """The promised digests we can check, algorithm names lower-cased, hex lower-cased."""
    return {k.lower(): v.lower() for k, v in (hashes or {}).items() if k.lower() in _KNOWN}


class Hasher:
    """sha256 always (the cache keys on it), plus whatever the promises need."""

    def __init__(self, algorithms: Iterable[str] = ()) -> None:
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
