"""The remote's URL, credentials and request signing, without a server.

The S3 calls themselves run against a real SeaweedFS server in test_remote_tier.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from cachedb.errors import UsageError
from cachedb.remote import RemoteUrl, wheel_key
from cachedb.remote._credentials import Credentials, from_environment
from cachedb.remote._sigv4 import EMPTY_SHA256, sign

# AWS's published example (the Signature Version 4 documentation for S3, "GET Bucket").
_AWS = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


def test_signature_matches_aws_published_example() -> None:
    headers = sign(
        "GET",
        "examplebucket.s3.amazonaws.com",
        "/",
        {"max-keys": "2", "prefix": "J"},
        EMPTY_SHA256,
        _AWS,
        "us-east-1",
        datetime(2013, 5, 24, tzinfo=UTC),
    )
    assert headers["authorization"].endswith(
        "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
    )
    assert headers["x-amz-date"] == "20130524T000000Z"


def test_session_token_is_signed() -> None:
    creds = Credentials("AKID", "secret", "token")
    headers = sign("GET", "h", "/k", {}, EMPTY_SHA256, creds, "us-east-1")
    assert headers["x-amz-security-token"] == "token"
    assert "x-amz-security-token" in headers["authorization"]


def test_url_parsing() -> None:
    url = RemoteUrl.parse("s3://my-bucket/team/cache/?endpoint=http://127.0.0.1:8333&region=eu-1")
    assert (url.bucket, url.prefix, url.endpoint, url.region) == (
        "my-bucket",
        "team/cache",
        "http://127.0.0.1:8333",
        "eu-1",
    )
    assert RemoteUrl.parse("s3://bkt").prefix == ""


@pytest.mark.parametrize(
    "bad",
    [
        "http://bucket/x",
        "s3://AK:SECRET@bucket/x",
        "http://AK:SECRET@bucket/x",
        "s3://bucket/x?endpoint=http://AK:SECRET@127.0.0.1:1",
        "s3:///x",
        "s3://bucket/x?endpoint=ftp://h",
        "s3://bucket/x?endpoint=http://u:p@h:1",
        "s3://bucket/x?colour=red",
        "s3://bucket/a/../b",
    ],
)
def test_bad_urls_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError) as info:
        RemoteUrl.parse(bad)
    assert "SECRET" not in str(info.value)


def test_credentials_from_variables_then_profile(tmp_path: Path) -> None:
    env = {"AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK", "AWS_SESSION_TOKEN": "ST"}
    assert from_environment(env) == Credentials("AK", "SK", "ST")
    creds_file = tmp_path / "credentials"
    creds_file.write_text(
        "[default]\naws_access_key_id = D\naws_secret_access_key = DS\n"
        "[ci]\naws_access_key_id = C\naws_secret_access_key = CS\n"
    )
    env = {"AWS_SHARED_CREDENTIALS_FILE": str(creds_file)}
    assert from_environment(env) == Credentials("D", "DS")
    assert from_environment({**env, "AWS_PROFILE": "ci"}) == Credentials("C", "CS")
    assert from_environment({**env, "AWS_PROFILE": "none"}) is None
    assert "CS" not in repr(from_environment({**env, "AWS_PROFILE": "ci"}))


def test_keys() -> None:
    digest = "a" * 64
    name = "x-1.0-py3-none-any.whl"
    assert wheel_key(digest, name) == f"wheels/sha256/{digest}/{name}"
    with pytest.raises(ValueError):
        wheel_key("../" + digest, "x-1.0-py3-none-any.whl")
    with pytest.raises(ValueError):
        wheel_key(digest, "../x.whl")
