"""``cachedb remote push|pull|ls|gc`` against a real S3 server (SeaweedFS) and a real index."""

from __future__ import annotations

import hashlib
import json
import socket
import time
from pathlib import Path

import pytest
from buildtools import backend_wheel, make_sdist, write_project
from cachestate import snapshot
from indexserver import IndexServer
from installtools import cachedb, make_venv, tree
from s3server import S3Bucket
from wheelbuilder import make_wheel


@pytest.fixture
def wheels(tmp_path: Path, index_server: IndexServer) -> dict[str, Path]:
    """app 1.0 (needs lib) and lib 2.0 on the index, by filename."""
    w = tmp_path / "wheels"
    built = [
        make_wheel(
            w, "app", "1.0", files={"app/__init__.py": "from lib import V\n"}, requires=["lib"]
        ),
        make_wheel(w, "lib", "2.0", files={"lib/__init__.py": "V = 2\n"}),
    ]
    for wheel in built:
        index_server.add(wheel)
    return {p.name: p for p in built}


def blob_key(wheel: Path) -> str:
    return f"wheels/sha256/{hashlib.sha256(wheel.read_bytes()).hexdigest()}/{wheel.name}"


def host_a_pushes(tmp_path: Path, index: IndexServer, bucket: S3Bucket) -> Path:
    """Host A installs app from the index into its own cache, then pushes that cache."""
    cache = tmp_path / "cache-a"
    venv = tmp_path / "venv-a"
    out = cachedb("install", "--cache-dir", cache, "-i", index.url, "--venv", venv, "app")
    assert out.returncode == 0, out.stderr
    push = ["remote", "push", "--remote", bucket.url, "--cache-dir", cache, "-i", index.url]
    dry = cachedb(*push, "--dry-run")
    assert dry.returncode == 0 and "Would push 2, 0 already there" in dry.stdout, dry.stderr
    assert bucket.objects() == {}
    out = cachedb(*push)
    assert out.returncode == 0, out.stderr
    return venv


def test_push_puts_each_wheel_once_by_sha256_and_ls_lists_them(
    tmp_path: Path, index_server: IndexServer, wheels: dict[str, Path], s3_bucket: S3Bucket
) -> None:
    host_a_pushes(tmp_path, index_server, s3_bucket)
    expected = {blob_key(p): p for p in wheels.values()}
    assert s3_bucket.objects("wheels/") == {k: p.stat().st_size for k, p in expected.items()}
    for key, wheel in expected.items():
        assert s3_bucket.get(key) == wheel.read_bytes()  # the very file the index serves

    listed = cachedb("remote", "ls", "--remote", s3_bucket.url, "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert {r["key"]: r["size"] for r in rows} == s3_bucket.objects("wheels/")
    assert not any(r["marked_for_gc"] for r in rows)
    text = cachedb("remote", "ls", "--remote", s3_bucket.url)
    assert all(key in text.stdout for key in expected), text.stdout
    assert "2 blobs" in text.stdout

    again = cachedb(
        "remote", "push", "--remote", s3_bucket.url, "--cache-dir", tmp_path / "cache-a",
        "-i", index_server.url,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "Pushed 0, 2 already there, 0 skipped" in again.stdout
    assert s3_bucket.objects("wheels/") == {k: p.stat().st_size for k, p in expected.items()}


def test_push_skips_a_wheel_no_source_offers_any_more(
    tmp_path: Path, index_server: IndexServer, wheels: dict[str, Path], s3_bucket: S3Bucket
) -> None:
    cache = tmp_path / "cache-a"
    out = cachedb(
        "install", "--cache-dir", cache, "-i", index_server.url, "--venv", tmp_path / "v", "app"
    )
    assert out.returncode == 0, out.stderr
    index_server.remove("lib-2.0-py3-none-any.whl")
    out = cachedb(
        "remote", "push", "--remote", s3_bucket.url, "--cache-dir", cache, "-i", index_server.url
    )
    assert out.returncode == 0, out.stderr
    assert "Skipped lib-2.0-py3-none-any.whl: no index or find-links offers it" in out.stderr
    assert set(s3_bucket.objects("wheels/")) == {blob_key(wheels["app-1.0-py3-none-any.whl"])}


def test_pull_fills_an_empty_cache_from_the_remote_then_install_needs_no_index(
    tmp_path: Path, index_server: IndexServer, wheels: dict[str, Path], s3_bucket: S3Bucket
) -> None:
    venv_a = host_a_pushes(tmp_path, index_server, s3_bucket)
    cache_b = tmp_path / "cache-b"
    venv_b = tmp_path / "venv-b"
    python_b = make_venv(venv_b)
    before = tree(venv_b)
    index_server.requests.clear()

    out = cachedb(
        "remote", "pull", "--remote", s3_bucket.url, "--cache-dir", cache_b,
        "-i", index_server.url, "--python", python_b, "app",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "Pulled 2 distributions into the cache" in out.stderr
    assert " + app==1.0" in out.stderr and "Installed" not in out.stderr
    assert tree(venv_b) == before  # pulled into the cache, installed nowhere
    # The index said what exists (pages, PEP 658 metadata); the wheels came from the remote.
    assert not [r for r in index_server.requests if r.endswith(".whl")], index_server.requests

    index_server.close()  # the index is gone now
    out = cachedb("install", "--cache-dir", cache_b, "--offline", "--python", python_b, "app")
    assert out.returncode == 0, out.stderr
    site_a = {k: v for k, v in tree(venv_a).items() if "site-packages/" in k}
    site_b = {k: v for k, v in tree(venv_b).items() if "site-packages/" in k}
    assert site_b == site_a and any("app/__init__.py" in k for k in site_b)


def test_push_with_python_puts_local_builds_and_another_host_does_not_build(
    tmp_path: Path, index_server: IndexServer, s3_bucket: S3Bucket
) -> None:
    index_server.add(backend_wheel("setuptools", tmp_path / "backends"))
    project = write_project(tmp_path / "src", "sdpush", "1.0", code="VALUE = 'built on A'\n")
    sdist = make_sdist(project, tmp_path / "dist", "sdpush", "1.0")
    index_server.add(sdist)
    cache_a, venv_a = tmp_path / "cache-a", tmp_path / "venv-a"
    out = cachedb(
        "install", "--cache-dir", cache_a, "-i", index_server.url, "--venv", venv_a, "sdpush"
    )
    assert out.returncode == 0 and "Built sdpush==1.0" in out.stderr, out.stderr

    push = [
        "remote",
        "push",
        "--remote",
        s3_bucket.url,
        "--cache-dir",
        cache_a,
        "-i",
        index_server.url,
    ]
    out = cachedb(*push)  # without --python, builds are named and left alone
    assert out.returncode == 0, out.stderr
    assert "Skipped sdpush-1.0-py3-none-any.whl: a build: give --python" in out.stderr
    assert s3_bucket.objects("built/") == {}
    out = cachedb(*push, "--python", venv_a / "bin" / "python")
    assert out.returncode == 0, out.stderr
    sha = hashlib.sha256(sdist.read_bytes()).hexdigest()
    [key] = s3_bucket.objects("built/")
    assert key.startswith(f"built/sdist-{sha}/tags-") and key.endswith(
        "/sdpush-1.0-py3-none-any.whl"
    )
    again = cachedb(*push, "--python", venv_a / "bin" / "python")
    assert "Pushed 0," in again.stdout and list(s3_bucket.objects("built/")) == [key]

    venv_b = tmp_path / "venv-b"
    out = cachedb(
        "install", "--cache-dir", tmp_path / "cache-b", "-i", index_server.url,
        "--venv", venv_b, "--remote", s3_bucket.url, "sdpush",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "Built" not in out.stderr
    site = {k: v for k, v in tree(venv_b).items() if "site-packages/sdpush" in k}
    assert site == {k: v for k, v in tree(venv_a).items() if "site-packages/sdpush" in k}


def _wait_for_next_second() -> None:
    # S3 times are whole seconds: a mark written in the blob's second would not be after it.
    time.sleep(1.1)


def gc(bucket: S3Bucket, *args: str) -> dict[str, object]:
    out = cachedb("remote", "gc", "--remote", bucket.url, "--json", *args)
    assert out.returncode == 0, out.stderr
    report: dict[str, object] = json.loads(out.stdout)
    return report


def test_gc_never_touches_a_blob_younger_than_its_grace(
    tmp_path: Path, index_server: IndexServer, wheels: dict[str, Path], s3_bucket: S3Bucket
) -> None:
    host_a_pushes(tmp_path, index_server, s3_bucket)
    before = s3_bucket.objects()
    _wait_for_next_second()
    report = gc(s3_bucket, "--max-age", "0s", "--grace", "1h")
    assert report["deleted"] == [] and report["marked"] == [] and report["kept"] == 2
    assert s3_bucket.objects() == before


def test_gc_deletes_an_unused_blob_only_a_grace_after_marking_it(
    tmp_path: Path, index_server: IndexServer, wheels: dict[str, Path], s3_bucket: S3Bucket
) -> None:
    host_a_pushes(tmp_path, index_server, s3_bucket)
    blobs = set(s3_bucket.objects("wheels/"))
    _wait_for_next_second()
    first = gc(s3_bucket, "--max-age", "0s", "--grace", "0s")
    assert {b["key"] for b in first["marked"]} == blobs  # type: ignore[union-attr]
    assert first["deleted"] == []
    assert set(s3_bucket.objects("wheels/")) == blobs  # marked, not deleted

    # Marked but within a grace of an hour: kept.
    waiting = gc(s3_bucket, "--max-age", "0s", "--grace", "1h")
    assert waiting["deleted"] == [] and set(s3_bucket.objects("wheels/")) == blobs

    # A dry run deletes nothing either.
    dry = gc(s3_bucket, "--max-age", "0s", "--grace", "0s", "--dry-run")
    assert {b["key"] for b in dry["deleted"]} == blobs  # type: ignore[union-attr]
    assert set(s3_bucket.objects("wheels/")) == blobs

    _wait_for_next_second()
    second = gc(s3_bucket, "--max-age", "0s", "--grace", "0s")
    assert {b["key"] for b in second["deleted"]} == blobs  # type: ignore[union-attr]
    assert s3_bucket.objects("wheels/") == {} and s3_bucket.objects("gc/") == {}


def test_gc_spares_a_marked_blob_used_since(
    tmp_path: Path, index_server: IndexServer, wheels: dict[str, Path], s3_bucket: S3Bucket
) -> None:
    host_a_pushes(tmp_path, index_server, s3_bucket)
    app = blob_key(wheels["app-1.0-py3-none-any.whl"])
    lib = blob_key(wheels["lib-2.0-py3-none-any.whl"])
    _wait_for_next_second()
    gc(s3_bucket, "--max-age", "0s", "--grace", "0s")
    _wait_for_next_second()
    # Host B fetches lib from the remote (an install on an empty cache): a use.
    out = cachedb(
        "install", "--cache-dir", tmp_path / "cache-b", "-i", index_server.url,
        "--venv", tmp_path / "venv-b", "--remote", s3_bucket.url, "lib",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert f"uses/{lib}" in s3_bucket.objects("uses/")
    report = gc(s3_bucket, "--max-age", "0s", "--grace", "0s")
    assert [b["key"] for b in report["unmarked"]] == [lib]  # type: ignore[index]
    assert [b["key"] for b in report["deleted"]] == [app]  # type: ignore[index]
    assert set(s3_bucket.objects("wheels/")) == {lib}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


BAD_URLS = ["", "http://bucket/x", "s3://NO_SUCH/x", "s3://bucket/x?endpoint=ftp://127.0.0.1"]


@pytest.mark.parametrize("command", [["ls"], ["gc"], ["push"], ["pull", "app"]])
def test_bad_remote_url_is_one_line_usage_error(tmp_path: Path, command: list[str]) -> None:
    cache = tmp_path / "cache"
    for url in BAD_URLS:
        args = ["remote", *command, *(["--remote", url] if url else [])]
        if command[0] in ("push", "pull"):
            args += ["--cache-dir", str(cache), "--no-index"]
        out = cachedb(*args)
        assert out.returncode == 2, (url, out.stdout, out.stderr)
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (url, out.stderr)
    assert not cache.exists()  # nothing was created


@pytest.mark.parametrize("command", [["ls"], ["gc"], ["push"]])
def test_unreachable_remote_is_one_line_error_and_changes_nothing(
    tmp_path: Path, index_server: IndexServer, wheels: dict[str, Path], command: list[str]
) -> None:
    cache = tmp_path / "cache"
    out = cachedb(
        "install", "--cache-dir", cache, "-i", index_server.url, "--venv", tmp_path / "v", "app"
    )
    assert out.returncode == 0, out.stderr
    state = snapshot(cache)
    url = f"s3://bucket/x?endpoint=http://127.0.0.1:{_closed_port()}"
    args = ["remote", *command, "--remote", url]
    if command[0] == "push":
        args += ["--cache-dir", str(cache), "-i", index_server.url]
    out = cachedb(*args)
    assert out.returncode == 1, (out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    assert "unreachable" in lines[0]
    assert snapshot(cache) == state


def test_the_remote_may_come_from_a_configuration_file(tmp_path: Path, s3_bucket: S3Bucket) -> None:
    config = tmp_path / "cachedb.toml"
    config.write_text(f'remote = "{s3_bucket.url}"\n')
    s3_bucket.put("wheels/sha256/" + "0" * 64 + "/x-1.0-py3-none-any.whl", b"x")
    out = cachedb("remote", "ls", "--json", env={"CACHEDB_CONFIG_FILE": str(config)})
    assert out.returncode == 0, out.stderr
    assert [r["key"] for r in json.loads(out.stdout)] == [
        "wheels/sha256/" + "0" * 64 + "/x-1.0-py3-none-any.whl"
    ]
