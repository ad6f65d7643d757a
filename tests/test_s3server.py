"""The S3 fixture itself: a real server, a fresh bucket per test."""

from __future__ import annotations

from s3server import S3Bucket, S3Server


def test_bucket_is_new_and_empty_and_holds_what_is_put(s3_bucket: S3Bucket) -> None:
    assert s3_bucket.objects() == {}
    s3_bucket.put("a/b.txt", b"hello")
    assert s3_bucket.objects() == {"a/b.txt": 5}
    assert s3_bucket.get("a/b.txt") == b"hello"
    s3_bucket.delete("a/b.txt")
    assert s3_bucket.objects() == {}


def test_buckets_do_not_share_objects(s3_server: S3Server, s3_bucket: S3Bucket) -> None:
    other = s3_server.new_bucket()
    s3_bucket.put("k", b"1")
    assert other.name != s3_bucket.name
    assert other.objects() == {}
    assert s3_bucket.url.startswith(f"s3://{s3_bucket.name}?endpoint=http://127.0.0.1:")
