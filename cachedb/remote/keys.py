"""Where a blob lives in the remote: keys that name their content.

- A wheel: ``wheels/sha256/<hex>/<filename>`` — the digest is the wheel's, so a
  key holds one content, whoever pushed it.
- A built wheel: ``built/<source-identity>/<fingerprint>/<filename>`` — the
  source's identity (``sdist-sha256-<hex>`` or ``git-<commit>``) and the target's
  fingerprint (a digest of the interpreter tags the build was made for), the
  same two parts a local built-wheels-v0 entry is keyed by.
"""

from __future__ import annotations

import re

_HEX64 = re.compile(r"[0-9a-f]{64}")
_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


def wheel_key(sha256: str, filename: str) -> str:
    if not _HEX64.fullmatch(sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return f"wheels/sha256/{sha256}/{_filename(filename)}"


def built_key(source_identity: str, fingerprint: str, filename: str) -> str:
    for part in (source_identity, fingerprint):
        if not _SAFE.fullmatch(part):
            raise ValueError(f"not a key part: {part!r}")
    return f"built/{source_identity}/{fingerprint}/{_filename(filename)}"


def _filename(filename: str) -> str:
    if not filename.endswith(".whl") or not _SAFE.fullmatch(filename):
        raise ValueError(f"not a wheel filename: {filename!r}")
    return filename
