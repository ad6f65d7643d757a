"""AWS Signature Version 4 for S3 requests (header form), with the stdlib only.

The steps of AWS's "Signature Version 4 signing process": a canonical request,
a string to sign over its digest, and an HMAC chain key derived from the secret,
the date, the region and the service.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote

from cachedb.remote._credentials import Credentials

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_ALGORITHM = "AWS4-HMAC-SHA256"


def sign(
    method: str,
    host: str,
    path: str,
    query: dict[str, str],
    payload_sha256: str,
    credentials: Credentials,
    region: str,
    now: datetime | None = None,
    amz_headers: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The headers that authorise this request (``path`` already URI-encoded).

    ``amz_headers`` (``x-amz-meta-*``, lower case) are sent too, and signed: S3
    requires every ``x-amz-`` header of a request to be.
    """
    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    day = moment[:8]
    headers = {"host": host, "x-amz-content-sha256": payload_sha256, "x-amz-date": moment}
    headers.update(amz_headers or {})
    if credentials.session_token:
        headers["x-amz-security-token"] = credentials.session_token
    names = sorted(headers)
    canonical = "\n".join(
        [
            method,
            path,
            canonical_query(query),
            "".join(f"{n}:{headers[n].strip()}\n" for n in names),
            ";".join(names),
            payload_sha256,
        ]
    )
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join([_ALGORITHM, moment, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + credentials.secret_key).encode()
    for part in (day, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"{_ALGORITHM} Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    del headers["host"]  # httpx sends it from the URL; it was signed all the same
    return headers


def encode_path(path: str) -> str:
    """S3's URI encoding of an object path: every byte but unreserved ones and ``/``."""
    return quote(path, safe="/-_.~")


def canonical_query(query: dict[str, str]) -> str:
    return "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query.items())
    )
