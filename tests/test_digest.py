"""``cachedb._digest``: the sha256 that names cache folders equals ``hashlib``'s."""

from __future__ import annotations

import hashlib
import random

from cachedb._digest import sha256_digest, sha256_hex


def test_the_digest_is_hashlibs() -> None:
    rng = random.Random(1)
    samples = [b"", b"/usr/bin/python3", "/päth/ü".encode("utf-8", "surrogateescape")]
    samples += [rng.randbytes(rng.randrange(0, 300)) for _ in range(200)]
    for data in samples:
        assert sha256_hex(data) == hashlib.sha256(data).hexdigest()
        assert sha256_digest(data) == hashlib.sha256(data).digest()
