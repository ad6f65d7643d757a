"""A file an index or find-links location offers for a project."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cachedb._redact import redact_url


@dataclass(frozen=True)
class Link:
    url: str
    """Absolute URL of the file, without fragment. May carry credentials: show ``redacted_url``."""
    filename: str
    hashes: Mapping[str, str]
    """Promised digests, e.g. ``{"sha256": "<hex>"}`` (PEP 691 ``hashes`` or URL fragment)."""
    requires_python: str | None
    yanked: str | None
    """None: not yanked. Otherwise the reason, possibly ``""`` (PEP 592)."""
    metadata_hashes: Mapping[str, str] | None
    """PEP 658/714: None = no ``.metadata`` file; ``{}`` = one exists without a digest."""
    source: str
    """The index URL or find-links location this came from, credentials redacted."""
    size: int | None = None
    upload_time: str | None = None
    """PEP 700 ``upload-time`` (ISO 8601, UTC) where a JSON page gives it."""
    mtime_ns: int | None = None
    """For a file in a local directory: its modification time when listed (its identity, with
    ``size``, in ``cachedb._cachekey``)."""

    # The mappings make the generated hash fail; a link is identified by where it points.
    def __hash__(self) -> int:
        return hash((self.url, self.filename, self.source))

    @property
    def redacted_url(self) -> str:
        return redact_url(self.url)

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")

    @property
    def metadata_url(self) -> str:
        """Where PEP 658 puts the core metadata of this file."""
        return self.url + ".metadata"
