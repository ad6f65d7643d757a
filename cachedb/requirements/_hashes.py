"""Normalise hashes from ``--hash`` options and ``#sha256=`` URL fragments."""

from __future__ import annotations

import re

from cachedb.errors import UsageError

HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_HEX = re.compile(r"[0-9a-f]+")


def normalise_hash(algorithm: str, digest: str) -> str:
    """Return ``"<algorithm>:<lowercase hex>"`` or raise UsageError."""
    algo = algorithm.lower()
    if algo not in HEX_LENGTHS:
        raise UsageError(f"unsupported hash algorithm {algorithm!r}: use sha256, sha384 or sha512")
    hexdigest = digest.lower()
    if len(hexdigest) != HEX_LENGTHS[algo] or not _HEX.fullmatch(hexdigest):
        raise UsageError(
            f"invalid {algo} digest {digest!r}: expected {HEX_LENGTHS[algo]} hex digits"
        )
    return f"{algo}:{hexdigest}"


def parse_hash_option(value: str) -> str:
    """Parse the value of ``--hash=<algorithm>:<hex>``."""
    algorithm, sep, digest = value.partition(":")
    if not sep:
        raise UsageError(f"invalid --hash value {value!r}: expected <algorithm>:<hex digest>")
    return normalise_hash(algorithm, digest)
