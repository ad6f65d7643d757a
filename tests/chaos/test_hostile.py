"""Hostile wheels and indexes, end to end through ``cachedb install`` from a local index.

Every case is refused with one ``error:`` line and a non-zero exit; nothing is
written outside the cache or the environment, the cache's files and rows are
exactly as before (nothing registered), and the environment is unchanged.
The same checks exist at unit level in tests/test_unpack.py; here the whole
pipeline (index, download, store, link) is in the loop.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cachestate import listing, snapshot
from chaoskit import (
    VENV_BIN,
    assert_one_line_error,
    assert_verify_clean,
    cli,
    integrity_ok,
    make_venv,
    paths_named,
    query,
    run_bounded,
    run_in,
)
from indexserver import IndexServer
from rawzip import Member, members_of, write_zip
from wheelbuilder import make_wheel

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX paths and venv layout")

DI = "demo-1.0.dist-info"
DATA = "demo-1.0.data"


@dataclass
class World:
    tmp: Path
    wheels: Path
    cache: Path
    server: IndexServer
    token: str  # every hostile path name carries it, so escapes can be searched for

    def install(self, venv: Path, *reqs: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        return cli(
            "install", "--cache-dir", self.cache, "--index-url", self.server.url,
            "--venv", venv, "--link-mode", "copy", *reqs, env=env,
        )  # fmt: skip


@pytest.fixture(scope="module")
def shared_index() -> Iterator[IndexServer]:
    with IndexServer() as server:
        yield server


@pytest.fixture(scope="module")
def warm_template(shared_index: IndexServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache that installed the good package once (built once, copied for each test)."""
    base = tmp_path_factory.mktemp("template")
    shared_index.add(make_wheel(base / "wheels", "good", "1.0"))
    proc = cli(
        "install", "--cache-dir", base / "cache", "--index-url", shared_index.url,
        "--venv", base / "venv0", "--link-mode", "copy", "good",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return base / "cache"


@pytest.fixture
def world(tmp_path: Path, shared_index: IndexServer, warm_template: Path) -> World:
    """An index with one good package, already installed once into a warm cache."""
    # Forget what earlier tests published or broke on the shared index.
    with shared_index._lock:
        shared_index._files = {k: v for k, v in shared_index._files.items() if v.project == "good"}
    shared_index.faults.clear()
    shared_index.html_only = False
    w = World(tmp_path, tmp_path / "wheels", tmp_path / "cache", shared_index, "")
    w.token = "cdbx" + secrets.token_hex(4)
    shutil.copytree(warm_template, w.cache, symlinks=True)
    return w


def _escapes(world: World) -> list[Path]:
    roots = [world.tmp, Path("/tmp"), Path("/")]
    found = [p for p in paths_named([world.tmp], world.token)]
    for root in roots[1:]:
        found += [p for p in root.iterdir() if world.token in p.name]
    return found


def assert_refused_cleanly(
    world: World, wheel_or_none: Path | None, *fragments: str, reqs: tuple[str, ...] = ("demo",)
) -> str:
    """Publish ``wheel_or_none``, install it into a fresh venv, and check the refusal."""
    if wheel_or_none is not None:
        world.server.add(wheel_or_none)
    venv = make_venv(world.tmp / f"venv-{secrets.token_hex(3)}")
    venv_before = listing(venv)
    before = snapshot(world.cache, caches=False)
    proc = world.install(venv, *reqs)
    line = assert_one_line_error(proc, *fragments)
    after = snapshot(world.cache, caches=False)
    assert after.files == before.files
    assert after.rows == before.rows
    assert listing(venv) == venv_before
    assert _escapes(world) == []
    integrity_ok(world.cache)
    return line


# -- wheels whose members try to escape --------------------------------------------


def _wheel_with(extra: dict[str, bytes]) -> Callable[[Path, str], Path]:
    def build(d: Path, t: str) -> Path:
        members = {k.format(t=t): v for k, v in extra.items()}
        return make_wheel(d, "demo", "1.0", extra_members=members)

    return build


def _listed(name: str, data: bytes = b"x = 1\n") -> Callable[[Path, str], Path]:
    """A member that RECORD lists correctly too, so only its name can be refused."""

    def build(d: Path, t: str) -> Path:
        member = name.format(t=t)
        digest = hashlib.sha256(data).digest()
        import base64

        b64 = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        row = f'"{member}",sha256={b64},{len(data)}'
        return make_wheel(d, "demo", "1.0", extra_members={member: data}, extra_record_rows=[row])

    return build


def _raw(
    edit: Callable[[list[Member], str], list[Member]], **kw: bytes
) -> Callable[[Path, str], Path]:
    """Rewrite a valid demo wheel byte by byte after ``edit`` changed its members."""

    def build(d: Path, t: str) -> Path:
        good = make_wheel(d / "src", "demo", "1.0", files={"demo/__init__.py": "X = 1\n"})
        return write_zip(d / good.name, edit(members_of(good), t), **kw)

    return build


def _local_name(m: list[Member], t: str) -> list[Member]:
    # The central directory names demo/__init__.py; the local header an escaping path.
    for member in m:
        if member.name == "demo/__init__.py":
            member.local_name = f"../../{t}.py"
    return m


def _local_other(m: list[Member], t: str) -> list[Member]:
    for member in m:
        if member.name == "demo/__init__.py":
            member.local_name = "demo/__init__.pz"  # same length, another file
    return m


def _local_size(m: list[Member], t: str) -> list[Member]:
    for member in m:
        if member.name == "demo/__init__.py":
            member.local_size = len(member.data) + 4
    return m


def _hidden(m: list[Member], t: str) -> list[Member]:
    # A local entry a streaming reader would extract, absent from the central directory.
    return [m[0], Member(f"../{t}.py", b"evil = 1\n", in_central=False), *m[1:]]


def _symlink_member(target: str) -> Callable[[list[Member], str], list[Member]]:
    def edit(m: list[Member], t: str) -> list[Member]:
        return [*m, Member(f"demo/{t}", target.format(t=t).encode(), mode=0o120777)]

    return edit


def _dup(m: list[Member], t: str) -> list[Member]:
    return [*m, Member("demo/__init__.py", b"X = 2\n")]


def _script_entry_points(names: dict[str, str]) -> Callable[[Path, str], Path]:
    def build(d: Path, t: str) -> Path:
        entries = {k.format(t=t): v.format(t=t) for k, v in names.items()}
        return make_wheel(d, "demo", "1.0", entry_points={"console_scripts": entries})

    return build


WHEELS: dict[str, tuple[Callable[[Path, str], Path], str]] = {
    # zip slip, every form
    "dot-dot": (_listed("../{t}.py"), "'..'"),
    "nested dot-dot": (_listed("demo/../../{t}.py"), "'..'"),
    "deep dot-dot to /tmp": (_listed("../" * 30 + "tmp/{t}.py"), "'..'"),
    "absolute": (_listed("/tmp/{t}.py"), "absolute"),
    "drive letter": (_listed("C:/{t}.py"), "drive letter"),
    "backslash dot-dot": (_listed("demo\\..\\..\\{t}.py"), "backslash"),
    "UNC path": (_listed("\\\\server\\share\\{t}.py"), "backslash"),
    "empty segment": (_listed("demo//{t}.py"), "empty path segment"),
    "dot segment": (_listed("demo/./{t}.py"), "'.'"),
    "dot-dot through .data": (_listed(DATA + "/purelib/../../../{t}.py"), "'..'"),
    "dot-dot through scripts": (_listed(DATA + "/scripts/../../../../{t}"), "'..'"),
    "dot-dot directory entry": (_wheel_with({"../{t}/": b""}), "'..'"),
    "control character": (_listed("demo/{t}\x1b.py"), "control character"),
    "overlong name": (_listed("demo/{t}" + "x" * 300 + ".py"), "demo"),
    # links and names that collide
    "symlink to /etc/passwd": (_raw(_symlink_member("/etc/passwd")), "symlink"),
    "symlink escaping": (_raw(_symlink_member("../../../../{t}")), "symlink"),
    "duplicate names": (_raw(_dup), "duplicate"),
    "case-colliding names": (
        lambda d, t: make_wheel(
            d, "demo", files={"demo/__init__.py": "", "demo/Mod.py": "", "demo/mod.py": ""}
        ),
        "case-colliding",
    ),  # fmt: skip
    "unicode-normalisation collision": (
        lambda d, t: make_wheel(
            d, "demo", files={"demo/__init__.py": "", "demo/\u00e9.py": "", "demo/e\u0301.py": ""}
        ),
        "case-colliding",
    ),  # fmt: skip
    # headers that disagree, bytes nothing accounts for
    "local name escapes": (_raw(_local_name), "demo"),
    "local name differs": (_raw(_local_other), "demo"),
    "local size differs": (_raw(_local_size), "demo"),
    "hidden local entry": (_raw(_hidden), "demo"),
    "trailing data": (_raw(lambda m, t: m, trailing=b"\0" * 64 + b"trailing"), "demo"),
    "second zip appended": (
        lambda d, t: _append_zip(_raw(lambda m, t: m)(d, t), d, t),
        "demo",
    ),
    "prepended data": (_raw(lambda m, t: m, prefix=b"#!/bin/sh\necho pwned\n"), "demo"),
    # RECORD that points outside
    "RECORD with ../ path": (
        lambda d, t: make_wheel(d, "demo", extra_record_rows=[f"../../{t}.py,sha256=abc,3"]),
        "'..'",
    ),
    "RECORD with absolute path": (
        lambda d, t: make_wheel(d, "demo", extra_record_rows=[f"/tmp/{t}.py,sha256=abc,3"]),
        "absolute",
    ),
    # scripts that would escape the scripts directory or replace the interpreter
    "entry point ../x": (_script_entry_points({"../{t}": "demo:main"}), "unsafe name"),
    "entry point a/b": (_script_entry_points({"sub/{t}": "demo:main"}), "unsafe name"),
    "entry point python": (_script_entry_points({"python": "demo:main"}), "interpreter"),
    "entry point python3.11": (_script_entry_points({"python3.11": "demo:main"}), "interpreter"),
    "gui entry point pythonw": (
        lambda d, t: make_wheel(d, "demo", entry_points={"gui_scripts": {"pythonw": "demo:m"}}),
        "interpreter",
    ),
    "entry point code injection": (
        _script_entry_points({"{t}": "os;import os;os.system('touch /tmp/{t}'):x"}),
        "invalid entry point",
    ),
    "data script named python": (_listed(DATA + "/scripts/python", b"#!python\n"), "interpreter"),
    "data in an unknown scheme": (_listed(DATA + "/elsewhere/{t}.py"), "unknown scheme"),
    # the data scheme is the environment's prefix: bin/ there is the scripts directory
    "data file bin/python3.11": (_listed(DATA + "/data/bin/python3.11", b"#!x\n"), "interpreter"),
    "data file bin/python": (_listed(DATA + "/data/bin/python", b"#!x\n"), "interpreter"),
    "data file Scripts/python.exe": (
        _listed(DATA + "/data/Scripts/python.exe", b"MZ"),
        "interpreter",
    ),
    "data file pyvenv.cfg": (_listed(DATA + "/data/pyvenv.cfg", b"home = /x\n"), "environment"),
}


def _append_zip(first: Path, d: Path, t: str) -> Path:
    # Two whole wheels in one file: zipfile reads the second, a streaming reader the first.
    files = {"demo/__init__.py": "X = 2\n", f"demo/{t}.py": "evil = 1\n"}
    second = make_wheel(d / "second", "demo", "1.0", files=files)
    first.write_bytes(first.read_bytes() + second.read_bytes())
    return first


@pytest.mark.parametrize("case", sorted(WHEELS))
def test_hostile_wheel_is_refused_end_to_end(case: str, world: World) -> None:
    build, fragment = WHEELS[case]
    wheel = build(world.tmp / "bad", world.token)
    assert_refused_cleanly(world, wheel, fragment)


def test_refused_wheel_does_not_stop_a_later_good_install(world: World) -> None:
    assert_refused_cleanly(world, _listed("../{t}.py")(world.tmp / "bad", world.token), "'..'")
    venv = world.tmp / "after"
    proc = world.install(venv, "good")
    assert proc.returncode == 0, proc.stderr
    assert run_in(venv, "import good").returncode == 0
    assert_verify_clean(world.cache)


# -- what is planted in the cache ----------------------------------------------------


def _pointer_link(cache: Path, name: str) -> Path:
    (key,) = query(
        cache,
        "SELECT p.bucket || '/' || p.key FROM pointers p JOIN archives a ON a.id = p.archive_id"
        " WHERE a.name = ?",
        [name],
    )[0]
    return cache / str(key)


def test_pointer_link_planted_outside_the_cache_is_never_followed(world: World) -> None:
    outside = world.tmp / f"outside-{world.token}"
    (outside / "good").mkdir(parents=True)
    (outside / "good" / "__init__.py").write_text("raise SystemExit('planted code ran')\n")
    outside_before = listing(outside)
    link = _pointer_link(world.cache, "good")
    os.unlink(link)
    os.symlink(outside, link, target_is_directory=True)

    venv = world.tmp / "venv1"
    proc = world.install(venv, "good")
    assert proc.returncode == 0, proc.stderr
    ran = run_in(venv, "import good; print(good.VERSION)")
    assert ran.returncode == 0 and ran.stdout.strip() == "1.0", ran.stderr
    # The planted link was treated as a miss: the entry was fetched again and re-linked.
    assert os.path.realpath(_pointer_link(world.cache, "good")).startswith(str(world.cache))
    assert listing(outside) == outside_before
    assert (
        query(world.cache, "SELECT count(*) FROM events WHERE kind = 'pointer.tampered'")[0][0] == 1
    )
    assert_verify_clean(world.cache)


def test_link_without_row_pointing_outside_is_removed_not_followed(world: World) -> None:
    outside = world.tmp / f"outside-{world.token}"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    stray = world.cache / "wheels-v0" / "evil-src" / "good" / "good-1.0-py3-none-any"
    stray.parent.mkdir(parents=True)
    os.symlink(outside, stray, target_is_directory=True)

    problems = [p["kind"] for p in _verify_json(world.cache)]
    assert problems == ["link-without-row"]
    proc = cli("gc", "--cache-dir", world.cache, "--grace", "0s")
    assert proc.returncode == 0, proc.stderr
    assert not os.path.lexists(stray)
    assert (outside / "precious.txt").read_text() == "keep me"
    assert_verify_clean(world.cache)


def test_archive_replaced_by_a_link_outside_is_a_miss(world: World) -> None:
    (archive_id,) = query(world.cache, "SELECT id FROM archives WHERE name = 'good'")[0]
    archive = world.cache / "archive-v0" / str(archive_id)
    outside = world.tmp / f"outside-{world.token}"
    os.rename(archive, outside)
    (outside / "good" / "__init__.py").write_text("raise SystemExit('planted code ran')\n")
    os.symlink(outside, archive, target_is_directory=True)
    planted = listing(outside)

    venv = world.tmp / "venv1"
    proc = world.install(venv, "good")
    assert proc.returncode == 0, proc.stderr
    ran = run_in(venv, "import good; print(good.VERSION)")
    assert ran.returncode == 0 and ran.stdout.strip() == "1.0", ran.stderr
    assert not os.path.islink(archive) and archive.is_dir()
    assert listing(outside) == planted
    cli("gc", "--cache-dir", world.cache, "--grace", "0s")
    assert listing(outside) == planted
    assert_verify_clean(world.cache)


def _verify_json(cache: Path) -> list[dict[str, str]]:
    import json

    proc = cli("verify", "--cache-dir", cache, "--json")
    return list(json.loads(proc.stdout)["problems"])


# -- hostile indexes -----------------------------------------------------------------


@pytest.mark.parametrize("html", [False, True], ids=["json", "html"])
def test_index_hash_that_disagrees_with_the_file(world: World, html: bool) -> None:
    world.server.html_only = html
    wheel = make_wheel(world.wheels / "demo", "demo", "1.0")
    world.server.add(wheel, bad_hash=True)
    assert_refused_cleanly(world, None, "hash")


def test_redirect_loop_on_the_project_page(world: World) -> None:
    world.server.add(make_wheel(world.wheels / "demo", "demo", "1.0"))
    world.server.faults["demo"] = "redirect-loop"
    assert_refused_cleanly(world, None, "redirect")


def test_redirect_loop_on_the_file(world: World) -> None:
    wheel = make_wheel(world.wheels / "demo", "demo", "1.0")
    world.server.add(wheel)
    world.server.faults[wheel.name] = "redirect-loop"
    assert_refused_cleanly(world, None, "redirect")


def _huge_metadata_wheel(world: World) -> Path:
    # 11 MiB of METADATA compresses to almost nothing: cheap to serve, costly to trust.
    d = world.wheels / "huge"
    wheel = make_wheel(d, "demo", "1.0")
    members = members_of(wheel)
    for m in members:
        if m.name.endswith("METADATA"):
            m.data += b"Description: " + b"x" * (11 * 1024 * 1024) + b"\n"
    record = next(m for m in members if m.name.endswith("RECORD"))
    import base64

    rows = []
    for m in members:
        if m is record:
            continue
        b64 = base64.urlsafe_b64encode(hashlib.sha256(m.data).digest()).rstrip(b"=").decode()
        rows.append(f"{m.name},sha256={b64},{len(m.data)}")
    record.data = ("\n".join([*rows, f"{record.name},,"]) + "\n").encode()
    import zipfile

    out = d / "out" / wheel.name
    out.parent.mkdir()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for m in members:
            zf.writestr(m.name, m.data)
    return out


@pytest.mark.parametrize("pep658", [True, False], ids=["pep658", "in-wheel"])
def test_huge_metadata_file(world: World, pep658: bool) -> None:
    world.server.add(_huge_metadata_wheel(world), metadata=pep658)
    assert_refused_cleanly(world, None, "larger than")


class StallingServer:
    """Accepts connections and then says nothing more, until closed.

    With ``head``, it answers the request line with headers and a few bytes of
    body, then stalls mid-body.
    """

    def __init__(self, *, head: bool = False) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/simple"
        self._head = head
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            self._conns.append(conn)
            if self._head:
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.pypi.simple.v1+json\r\n"
                    b'Content-Length: 100000\r\n\r\n{"meta": '
                )

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self._conns:
            conn.close()
        self._sock.close()


@pytest.fixture
def stalling() -> Iterator[Callable[..., StallingServer]]:
    servers: list[StallingServer] = []

    def make(**kw: bool) -> StallingServer:
        servers.append(StallingServer(**kw))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


@pytest.mark.parametrize("head", [False, True], ids=["silent", "mid-body"])
def test_stalling_index_fails_in_bounded_time(
    world: World, stalling: Callable[..., StallingServer], head: bool
) -> None:
    server = stalling(head=head)
    venv = make_venv(world.tmp / "venv1")
    before = snapshot(world.cache, caches=False)
    # The server never answers; only the timeout can end the command, and the
    # subprocess bound (far below the stall, which lasts until the test ends) proves it did.
    proc = cli(
        "install", "--cache-dir", world.cache, "--index-url", server.url, "--venv", venv, "demo",
        env={"CACHEDB_HTTP_TIMEOUT": "1"}, timeout=60,
    )  # fmt: skip
    assert_one_line_error(proc, "timed out after 1s")
    assert snapshot(world.cache, caches=False) == before


def test_stalling_file_download_fails_in_bounded_time(world: World) -> None:
    wheel = make_wheel(world.wheels / "demo", "demo", "1.0")
    world.server.add(wheel)
    world.server.faults[wheel.name] = "stall"  # 10 bytes, then nothing for 5 s
    venv = make_venv(world.tmp / "venv1")
    before = snapshot(world.cache, caches=False)
    proc = world.install(venv, "demo", env={"CACHEDB_HTTP_TIMEOUT": "0.5"})
    assert_one_line_error(proc, "timed out after 0.5s")
    assert snapshot(world.cache, caches=False) == before
    assert not (venv / VENV_BIN / "demo").exists()


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan", "inf"])
def test_bad_http_timeout_is_a_usage_error(world: World, value: str) -> None:
    proc = world.install(world.tmp / "v", "good", env={"CACHEDB_HTTP_TIMEOUT": value})
    assert proc.returncode == 2
    assert_one_line_error(proc, "CACHEDB_HTTP_TIMEOUT")


# -- bounded reads: what an index links to cannot exhaust memory or disk -------------

# A generous bound on a hang, not a speed target: an unbounded read runs far longer.
HANG_BOUND = 2.0
RSS_BOUND = 200 * 1024 * 1024


def assert_refused_bounded(
    world: World, *fragments: str, args: tuple[str, ...] = (), env: dict[str, str] | None = None
) -> str:
    """Install ``demo`` from the world's index (or ``args``): a one-line error, well within
    HANG_BOUND seconds and RSS_BOUND bytes, and nothing changed."""
    venv = make_venv(world.tmp / f"venv-{secrets.token_hex(3)}")
    venv_before = listing(venv)
    before = snapshot(world.cache, caches=False)
    source = args or ("--index-url", world.server.url)
    proc, rss = run_bounded(
        "install", "--cache-dir", world.cache, "--venv", venv, "--link-mode", "copy",
        *source, "demo", env=env, timeout=HANG_BOUND,
    )  # fmt: skip
    line = assert_one_line_error(proc, *fragments)
    assert rss < RSS_BOUND, f"peak RSS {rss >> 20} MiB"
    assert snapshot(world.cache, caches=False) == before
    assert listing(venv) == venv_before
    assert list((world.cache / "tmp").iterdir()) == []
    return line


def _dev_zero_named_as_a_wheel(world: World) -> Path:
    # An HTML link's filename is the last part of its URL: a link to /dev/zero by that name.
    link = world.tmp / "zero" / "demo-1.0-py3-none-any.whl"
    link.parent.mkdir()
    link.symlink_to("/dev/zero")
    return link


@pytest.mark.parametrize("page", ["json", "html-without-hash"])
def test_remote_index_linking_to_dev_zero_is_refused(world: World, page: str) -> None:
    world.server.html_only = page != "json"
    url = "file:///dev/zero" if page == "json" else _dev_zero_named_as_a_wheel(world).as_uri()
    wheel = make_wheel(world.wheels / "demo", "demo", "1.0")
    world.server.add(wheel, href=url, metadata=False, hashed=page == "json")
    assert_refused_bounded(world, url, "not a file")


def test_find_links_page_linking_to_dev_zero_is_refused(world: World) -> None:
    page = world.tmp / "links.html"
    url = _dev_zero_named_as_a_wheel(world).as_uri()
    page.write_text(f'<a href="{url}">demo-1.0-py3-none-any.whl</a>\n')
    args = ("--no-index", "--find-links", str(page))
    assert_refused_bounded(world, "demo-1.0-py3-none-any.whl", "not a file", args=args)


def _gzip_bomb(decoded: int) -> bytes:
    """A gzip stream of ``decoded`` zero bytes (a few MiB on the wire), made cheaply: one
    fully flushed deflate segment repeated (each segment stands alone)."""
    import struct
    import zlib

    piece = 16 * 1024 * 1024
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    segment = squeeze.compress(bytes(piece)) + squeeze.flush(zlib.Z_FULL_FLUSH)
    count = decoded // piece
    crc = 0
    zeros = bytes(piece)
    for _ in range(count):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    end = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS).flush(zlib.Z_FINISH)
    trailer = struct.pack("<II", crc, (piece * count) & 0xFFFFFFFF)
    return header + segment * count + end + trailer


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    return _gzip_bomb(8 * 1024**3)


@pytest.mark.parametrize("page", ["json", "html"])
def test_gzip_bomb_download_is_refused(world: World, gzip_bomb: bytes, page: str) -> None:
    world.server.html_only = page == "html"  # no declared size then
    wheel = make_wheel(world.wheels / "demo", "demo", "1.0")
    world.server.add(wheel, metadata=False)
    world.server.encoded[wheel.name] = ("gzip", gzip_bomb)
    try:
        assert_refused_bounded(world, "Content-Encoding")
    finally:
        world.server.encoded.clear()
    asked = world.server.accept_encoding[f"/files/{wheel.name}"]
    assert asked == "identity"


def test_download_larger_than_its_declared_size_is_refused(world: World) -> None:
    wheel = make_wheel(world.wheels / "demo", "demo", "1.0")
    world.server.add(wheel, size=100)  # PEP 700: the index says 100 bytes
    assert_refused_bounded(world, "larger than", "100")


@pytest.mark.parametrize("how", ["env", "option"])
def test_download_larger_than_the_configured_cap_is_refused(world: World, how: str) -> None:
    world.server.html_only = True  # no declared size: only the cap bounds it
    wheel = make_wheel(world.wheels / "demo", "demo", "1.0")
    world.server.add(wheel)
    if how == "env":
        assert_refused_bounded(world, "larger than", env={"CACHEDB_MAX_DOWNLOAD_SIZE": "500B"})
    else:
        args = ("--index-url", world.server.url, "--max-download-size", "500B")
        assert_refused_bounded(world, "larger than", args=args)


def test_bad_max_download_size_is_a_usage_error(world: World) -> None:
    proc = world.install(world.tmp / "v", "good", env={"CACHEDB_MAX_DOWNLOAD_SIZE": "lots"})
    assert proc.returncode == 2
    assert_one_line_error(proc, "CACHEDB_MAX_DOWNLOAD_SIZE")


# -- one URL, two names ----------------------------------------------------------------


@pytest.mark.parametrize("evil_first", [True, False], ids=["evil-listed-first", "demo-first"])
def test_one_url_listed_under_two_names_installs_neither_as_the_other(
    world: World, evil_first: bool
) -> None:
    # demo's page lists one URL, serving evilpkg's wheel, as demo-1.0 and as evilpkg-1.0.
    evil = make_wheel(world.wheels / "evil", "evilpkg", "1.0")
    as_demo = "demo-1.0-py3-none-any.whl"
    for listed in [None, as_demo] if evil_first else [as_demo, None]:
        world.server.add(evil, listed_as=listed, project="demo", metadata=False)
    line = assert_refused_cleanly(world, None, "demo")
    assert "evilpkg" in line


def test_two_projects_linking_one_url_get_separate_downloads(world: World) -> None:
    # demo's and evilpkg's pages link the same URL (demo's wheel): one download must
    # not serve both names.
    demo = make_wheel(world.wheels / "demo", "demo", "1.0")
    world.server.add(demo, metadata=False)
    world.server.add(demo, listed_as="evilpkg-1.0-py3-none-any.whl", metadata=False)
    line = assert_refused_cleanly(world, None, "evilpkg", reqs=("demo==1.0", "evilpkg==1.0"))
    assert "disagrees" in line


# -- PEP 658 metadata that disagrees with the wheel ---------------------------------


@pytest.mark.parametrize(
    ("sidecar", "fragment"),
    [
        ({"name": "other"}, "Name"),
        ({"version": "2.0"}, "Version"),
        ({"requires": []}, "Requires-Dist"),
        ({"wheel_requires": [], "requires": ["good"]}, "Requires-Dist"),
    ],
    ids=["name", "version", "fewer-requires", "more-requires"],
)
def test_pep658_metadata_that_disagrees_with_the_wheel_is_refused(
    world: World, sidecar: dict[str, object], fragment: str
) -> None:
    from wheelbuilder import metadata_text

    requires = sidecar.get("wheel_requires", ["good"])
    wheel = make_wheel(world.wheels / "demo", "demo", "1.0", requires=requires)  # type: ignore[arg-type]
    told = metadata_text(
        str(sidecar.get("name", "demo")),
        str(sidecar.get("version", "1.0")),
        list(sidecar.get("requires", ["good"])),  # type: ignore[call-overload]
    )
    world.server.add(wheel, metadata_file=told.encode())
    line = assert_refused_cleanly(world, None, "metadata", fragment)
    assert wheel.name in line


def test_pep658_metadata_that_agrees_is_used(world: World) -> None:
    from wheelbuilder import metadata_text

    # Same fields, other order and spelling: not a disagreement.
    wheel = make_wheel(world.wheels / "demo", "demo", "1.0", requires=["good>=1.0"])
    told = metadata_text("Demo", "1.0.0", ["good >= 1.0"], summary="said otherwise")
    world.server.add(wheel, metadata_file=told.encode())
    proc = world.install(world.tmp / "venv", "demo")
    assert proc.returncode == 0, proc.stderr
    assert f"/files/{wheel.name}.metadata" in world.server.requests
