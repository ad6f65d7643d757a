"""The remote's URL: ``s3://bucket/prefix?endpoint=http://host:port&region=us-east-1``."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from cachedb.errors import UsageError

DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class RemoteUrl:
    bucket: str
    prefix: str
    """Key prefix inside the bucket, without leading or trailing ``/`` ("" for none)."""
    endpoint: str | None
    """``scheme://host[:port]`` of an S3-compatible server; None for AWS itself."""
    region: str | None
    """None: from the environment (``AWS_REGION``, ``AWS_DEFAULT_REGION``), else us-east-1."""

    @classmethod
    def parse(cls, url: str) -> RemoteUrl:
        parts = urlsplit(url)
        if "@" in url:  # user:secret@ in the bucket's place or the endpoint's
            # Credentials come from the AWS variables or profile, never from a URL
            # that would end up in shell history, configuration files and logs (and
            # such a URL is never repeated in a message).
            raise UsageError("remote URL must not carry credentials; use the AWS variables")
        if parts.scheme != "s3":
            raise UsageError(f"remote {url!r}: only s3://bucket/prefix URLs are supported")
        bucket = parts.hostname or ""
        if not bucket or not _valid_bucket(parts.netloc):
            raise UsageError(f"remote {url!r}: missing or invalid bucket name")
        query = parse_qs(parts.query, keep_blank_values=True)
        unknown = sorted(set(query) - {"endpoint", "region"})
        if unknown:
            raise UsageError(f"remote {url!r}: unknown parameter {unknown[0]!r}")
        endpoint = _one(query, "endpoint", url)
        if endpoint is not None:
            ep = urlsplit(endpoint)
            if ep.scheme not in ("http", "https") or not ep.hostname or ep.path not in ("", "/"):
                raise UsageError(f"remote {url!r}: endpoint must be http(s)://host[:port]")
            if ep.username or ep.password or ep.query:
                raise UsageError(f"remote {url!r}: endpoint must be http(s)://host[:port]")
            endpoint = f"{ep.scheme}://{ep.netloc}"
        prefix = parts.path.strip("/")
        if any(seg in ("", ".", "..") for seg in prefix.split("/")) and prefix:
            raise UsageError(f"remote {url!r}: invalid prefix")
        return cls(bucket, prefix, endpoint, _one(query, "region", url))

    def __str__(self) -> str:
        text = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        params = [f"endpoint={self.endpoint}"] if self.endpoint else []
        if self.region:
            params.append(f"region={self.region}")
        return text + ("?" + "&".join(params) if params else "")


def _one(query: dict[str, list[str]], name: str, url: str) -> str | None:
    values = query.get(name)
    if not values:
        return None
    if len(values) > 1 or not values[0]:
        raise UsageError(f"remote {url!r}: give {name}= once, with a value")
    return values[0]


def _valid_bucket(netloc: str) -> bool:
    # S3's rules: 3-63 characters of lower-case letters, digits, dots and hyphens.
    return (
        3 <= len(netloc) <= 63
        and all(c.islower() or c.isdigit() or c in ".-" for c in netloc)
        and netloc[0].isalnum()
        and netloc[-1].isalnum()
    )
