"""``cachedb install`` end to end: a real index on 127.0.0.1, real venvs, the real CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cachestate import snapshot
from indexserver import IndexServer
from installtools import VENV_BIN, cachedb, make_venv, pip, run_in, tree
from wheelbuilder import make_wheel

APP_FILES = {
    "app/__init__.py": "from lib import VALUE\n\ndef main():\n    print('app', VALUE)\n",
}


# Every test runs on SQLite and on PostgreSQL (the ``cachedb`` processes get the database
# ``backend`` names).
pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture
def world(tmp_path: Path, index_server: IndexServer) -> dict[str, Path]:
    """An index with a small dependency graph, and a cache directory."""
    w = tmp_path / "wheels"
    for wheel in [
        make_wheel(
            w,
            "app",
            "1.0",
            files=APP_FILES,
            requires=["lib>=1", "extra-dep; extra == 'fancy'", "winonly; sys_platform == 'win32'"],
            extras=["fancy"],
            entry_points={"console_scripts": {"app": "app:main"}},
        ),
        make_wheel(w, "lib", "1.0", files={"lib/__init__.py": "VALUE = 1\n"}),
        make_wheel(w, "lib", "2.0", files={"lib/__init__.py": "VALUE = 2\n"}),
        make_wheel(w, "extra-dep", "1.0"),
        make_wheel(w, "winonly", "1.0"),
    ]:
        index_server.add(wheel)
    # lib 3.0 is yanked; lib 4.0 needs a Python that does not exist yet.
    index_server.add(
        make_wheel(w, "lib", "3.0", files={"lib/__init__.py": "VALUE = 3\n"}), yanked="broken"
    )
    index_server.add(
        make_wheel(w, "lib", "4.0", files={"lib/__init__.py": "VALUE = 4\n"}), requires_python=">=4"
    )
    return {"wheels": w, "cache": tmp_path / "cache", "tmp": tmp_path}


def install(world: dict[str, Path], server: IndexServer, venv: Path, *args: str):  # type: ignore[no-untyped-def]
    return cachedb(
        "install", "--cache-dir", world["cache"], "--index-url", server.url, "--venv", venv, *args
    )


def test_install_resolves_extras_markers_yanked_and_requires_python(
    world: dict[str, Path], index_server: IndexServer
) -> None:
    venv = world["tmp"] / "venv"
    out = install(world, index_server, venv, "app[fancy]")
    assert out.returncode == 0, out.stderr
    assert "Installed 3 packages in" in out.stderr
    assert " + lib==2.0" in out.stderr  # 3.0 yanked, 4.0 needs Python >= 4
    assert "winonly" not in out.stderr
    ran = run_in(venv, "import app, lib, extra_dep; print(lib.VALUE)")
    assert ran.stdout.strip() == "2", ran.stderr
    script = subprocess_run([str(venv / VENV_BIN / "app")])
    assert script == "app 2"


def subprocess_run(cmd: list[str]) -> str:
    import subprocess

    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()


def test_installed_environment_agrees_with_pip(
    world: dict[str, Path], index_server: IndexServer
) -> None:
    venv = world["tmp"] / "venv"
    make_venv(venv)
    before = tree(venv)
    assert install(world, index_server, venv, "app").returncode == 0
    listed = json.loads(pip(venv, "list", "--format", "json").stdout)
    assert {(p["name"], p["version"]) for p in listed} >= {("app", "1.0"), ("lib", "2.0")}
    inspect = json.loads(pip(venv, "inspect").stdout)
    installers = {i["metadata"]["name"]: i.get("installer") for i in inspect["installed"]}
    assert installers["app"] == "cachedb" and installers["lib"] == "cachedb"
    requested = {i["metadata"]["name"]: i.get("requested") for i in inspect["installed"]}
    assert requested["app"] is True and requested["lib"] is False
    removed = pip(venv, "uninstall", "-y", "app", "lib")
    assert removed.returncode == 0, removed.stderr
    assert tree(venv) == before


def test_warm_install_makes_no_http_request(
    world: dict[str, Path], index_server: IndexServer
) -> None:
    index_server.cache_control = "max-age=600"
    assert install(world, index_server, world["tmp"] / "v1", "app==1.0", "lib==2.0").returncode == 0
    seen = len(index_server.requests)
    # Exact pins already cached, their pages still fresh: no request at all.
    out = install(world, index_server, world["tmp"] / "v2", "app==1.0", "lib==2.0")
    assert out.returncode == 0, out.stderr
    assert len(index_server.requests) == seen
    # --offline with a range: answered from the cached index page and archives.
    out = install(world, index_server, world["tmp"] / "v3", "app", "--offline")
    assert out.returncode == 0, out.stderr
    assert len(index_server.requests) == seen
    assert run_in(world["tmp"] / "v3", "import lib; print(lib.VALUE)").stdout.strip() == "2"


def test_cold_pinned_install_asks_for_each_page_once(
    world: dict[str, Path], index_server: IndexServer
) -> None:
    # The pages of a pinned set are fetched together before resolving; that must not
    # add requests: each project page once, and none for a pin whose marker is false.
    pins = ["app==1.0", "lib==2.0", "extra-dep==1.0", "winonly==1.0; sys_platform == 'win32'"]
    out = install(world, index_server, world["tmp"] / "v", *pins)
    assert out.returncode == 0, out.stderr
    pages = [r for r in index_server.requests if r.startswith("/simple/")]
    assert sorted(pages) == sorted(f"/simple/{n}/" for n in ("app", "lib", "extra-dep")), pages


def test_a_set_pinned_throughout_reads_metadata_from_the_wheels_it_downloads(
    world: dict[str, Path], index_server: IndexServer
) -> None:
    # Each wheel is downloaded anyway: its METADATA spares the .metadata request.
    out = install(world, index_server, world["tmp"] / "v", "app==1.0", "lib==2.0", "extra-dep==1.0")
    assert out.returncode == 0, out.stderr
    files = sorted(r for r in index_server.requests if r.startswith("/files/"))
    assert files == sorted(
        f"/files/{n}-py3-none-any.whl" for n in ("app-1.0", "lib-2.0", "extra_dep-1.0")
    ), files
    assert run_in(world["tmp"] / "v", "import app, lib").returncode == 0


def test_a_partly_pinned_set_asks_for_metadata_before_downloading(
    world: dict[str, Path], index_server: IndexServer
) -> None:
    # "lib" is not pinned: app's metadata names what to look up next, before any download.
    out = install(world, index_server, world["tmp"] / "v", "app==1.0", "lib")
    assert out.returncode == 0, out.stderr
    assert "/files/app-1.0-py3-none-any.whl.metadata" in index_server.requests


def test_offline_miss_is_a_clear_error(world: dict[str, Path], index_server: IndexServer) -> None:
    out = install(world, index_server, world["tmp"] / "v", "app", "--offline")
    assert out.returncode != 0
    assert out.stderr.startswith("error: ") and "--offline" in out.stderr
    assert index_server.requests == []


def test_unsatisfiable_set_explains_the_conflict(
    world: dict[str, Path], index_server: IndexServer
) -> None:
    index_server.add(make_wheel(world["wheels"], "old-app", "1.0", requires=["lib<2"]))
    out = install(world, index_server, world["tmp"] / "v", "old-app", "lib>=2")
    assert out.returncode == 1
    assert "conflicting dependencies" in out.stderr
    assert "old-app 1.0 depends on lib<2" in out.stderr


def test_backtracking_picks_an_older_version(
    world: dict[str, Path], index_server: IndexServer
) -> None:
    w = world["wheels"]
    index_server.add(make_wheel(w, "top", "1.0", requires=["lib<2"]))
    index_server.add(make_wheel(w, "top", "2.0", requires=["lib>=5"]))
    out = install(world, index_server, world["tmp"] / "v", "top")
    assert out.returncode == 0, out.stderr
    assert " + top==1.0" in out.stderr and " + lib==1.0" in out.stderr


def test_html_only_index(world: dict[str, Path], index_server: IndexServer) -> None:
    index_server.html_only = True
    out = install(world, index_server, world["tmp"] / "v", "app")
    assert out.returncode == 0, out.stderr
    assert run_in(world["tmp"] / "v", "import app").returncode == 0


def test_upgrade_replaces_old_version_files(
    world: dict[str, Path], index_server: IndexServer
) -> None:
    venv = world["tmp"] / "v"
    w = world["wheels"]
    index_server.add(
        make_wheel(w, "mover", "1.0", files={"mover/__init__.py": "", "mover/old.py": ""})
    )
    assert install(world, index_server, venv, "mover==1.0").returncode == 0
    index_server.add(
        make_wheel(w, "mover", "2.0", files={"mover/__init__.py": "", "mover/new.py": ""})
    )
    # Already installed and satisfying: kept without --upgrade.
    out = install(world, index_server, venv, "mover")
    assert out.returncode == 0 and "Installed" not in out.stderr
    out = install(world, index_server, venv, "mover", "--upgrade")
    assert out.returncode == 0, out.stderr
    assert " - mover==1.0" in out.stderr and " + mover==2.0" in out.stderr
    files = tree(venv)
    assert any(k.endswith("mover/new.py") for k in files)
    assert not any(k.endswith("mover/old.py") for k in files)
    assert not any("mover-1.0.dist-info" in k for k in files)


def test_uninstall_and_list(world: dict[str, Path], index_server: IndexServer) -> None:
    venv = world["tmp"] / "v"
    make_venv(venv)
    before = tree(venv)
    assert install(world, index_server, venv, "app").returncode == 0
    listed = cachedb("list", "--venv", venv, "--cache-dir", world["cache"], "--json")
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert rows["app"]["version"] == "1.0" and rows["app"]["installer"] == "cachedb"
    assert rows["lib"]["link_mode"] in ("clone", "hardlink", "copy")
    out = cachedb("uninstall", "--venv", venv, "--cache-dir", world["cache"], "app", "lib")
    assert out.returncode == 0, out.stderr
    assert tree(venv) == before
    out = cachedb("uninstall", "--venv", venv, "--cache-dir", world["cache"], "app")
    assert out.returncode == 0 and "not installed" in out.stderr


def test_local_wheel_and_file_url_write_direct_url(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "dist", "localpkg", "0.1")
    other = make_wheel(tmp_path / "dist2", "urlpkg", "0.2")
    venv = tmp_path / "v"
    out = cachedb(
        "install",
        "--cache-dir",
        tmp_path / "cache",
        "--venv",
        venv,
        "--no-index",
        str(wheel),
        other.as_uri(),
    )
    assert out.returncode == 0, out.stderr
    site = next(venv.glob("lib/python*/site-packages"))
    info = json.loads((site / "localpkg-0.1.dist-info" / "direct_url.json").read_text())
    assert info["url"] == wheel.as_uri()
    assert info["archive_info"]["hashes"]["sha256"]
    info = json.loads((site / "urlpkg-0.2.dist-info" / "direct_url.json").read_text())
    assert info["url"] == other.as_uri()


def test_symlink_mode_links_into_the_archive(
    world: dict[str, Path], index_server: IndexServer
) -> None:
    venv = world["tmp"] / "v"
    out = install(world, index_server, venv, "lib==1.0", "--link-mode", "symlink")
    assert out.returncode == 0, out.stderr
    init = next(venv.glob("lib/python*/site-packages/lib/__init__.py"))
    assert init.is_symlink()
    assert Path(os.readlink(init)).is_relative_to(world["cache"] / "archive-v0")
    assert run_in(venv, "import lib; print(lib.VALUE)").stdout.strip() == "1"


def test_requirements_file_with_hashes(world: dict[str, Path], index_server: IndexServer) -> None:
    import hashlib

    lib = world["wheels"] / "lib-1.0-py3-none-any.whl"
    digest = hashlib.sha256(lib.read_bytes()).hexdigest()
    reqs = world["tmp"] / "requirements.txt"
    reqs.write_text(f"# pinned\nlib==1.0 \\\n    --hash=sha256:{digest}\n")
    out = install(world, index_server, world["tmp"] / "v", "-r", str(reqs))
    assert out.returncode == 0, out.stderr
    out = install(world, index_server, world["tmp"] / "v2", "lib>=1", "--require-hashes")
    assert out.returncode == 2 and "pinned" in out.stderr


# -- bad input: a clear one-line error, and nothing changes ---------------------------


def _bad(world: dict[str, Path], server: IndexServer, *args: str, index: str | None = None) -> str:
    venv = world["tmp"] / "env"
    if not venv.exists():
        make_venv(venv)
        assert install(world, server, venv, "lib==1.0").returncode == 0
    cache_before = snapshot(world["cache"])
    env_before = tree(venv)
    out = cachedb(
        "install",
        "--cache-dir",
        world["cache"],
        "--index-url",
        index or server.url,
        "--venv",
        venv,
        *args,
    )
    assert out.returncode != 0
    errors = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, out.stderr
    assert snapshot(world["cache"]) == cache_before  # not a file, not a row
    assert tree(venv) == env_before
    return out.stderr


def test_unknown_package(world: dict[str, Path], index_server: IndexServer) -> None:
    err = _bad(world, index_server, "no-such-package")
    assert "No matching distribution found for no-such-package" in err


def test_bad_requirement_syntax(world: dict[str, Path], index_server: IndexServer) -> None:
    err = _bad(world, index_server, "lib>>>1")
    assert "invalid requirement" in err.lower()


def test_hash_mismatch_from_requirements_file(
    world: dict[str, Path], index_server: IndexServer
) -> None:
    reqs = world["tmp"] / "r.txt"
    reqs.write_text("lib==2.0 --hash=sha256:" + "0" * 64 + "\n")
    err = _bad(world, index_server, "-r", str(reqs))
    assert "hash mismatch" in err.lower()


def test_index_advertising_wrong_hash(world: dict[str, Path], index_server: IndexServer) -> None:
    index_server.add(make_wheel(world["wheels"] / "bad", "tampered", "1.0"), bad_hash=True)
    err = _bad(world, index_server, "tampered")
    assert "hash" in err.lower()


def test_truncated_download(world: dict[str, Path], index_server: IndexServer) -> None:
    index_server.faults["lib-2.0-py3-none-any.whl"] = "truncate"
    err = _bad(world, index_server, "lib==2.0")
    assert "lib-2.0-py3-none-any.whl" in err


def test_unreachable_index(world: dict[str, Path], index_server: IndexServer) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    err = _bad(world, index_server, "lib==2.0", index=f"http://127.0.0.1:{port}/simple")
    assert f"127.0.0.1:{port}" in err


def test_no_compatible_wheel(world: dict[str, Path], index_server: IndexServer) -> None:
    index_server.add(make_wheel(world["wheels"], "winpkg", "1.0", tag="cp39-cp39-win_amd64"))
    err = _bad(world, index_server, "winpkg")
    assert "compatible" in err


def test_missing_venv_is_created_and_removed_again_on_failure(
    world: dict[str, Path], index_server: IndexServer
) -> None:
    venv = world["tmp"] / "fresh"
    out = install(world, index_server, venv, "no-such-package")
    assert out.returncode == 1
    assert not venv.exists()
    out = install(world, index_server, venv, "lib")
    assert out.returncode == 0
    assert not (venv / VENV_BIN / "pip").exists()


def test_credentials_never_reach_output_database_or_cache(tmp_path: Path) -> None:
    from indexserver import IndexServer

    secret = "s3cr3t-pw"
    with IndexServer(auth=("alice", secret)) as server:
        server.add(make_wheel(tmp_path / "w", "lib", "1.0"))
        url = server.url.replace("http://", f"http://alice:{secret}@")
        cache_dir = tmp_path / "cache"
        args = ["install", "--cache-dir", cache_dir, "--index-url", url, "--venv", tmp_path / "v"]
        out = cachedb(*args, "lib", "-v")
        assert out.returncode == 0, out.stderr
        bad = cachedb(*args, "nothing-here")
        assert bad.returncode != 0
    for text in (out.stdout, out.stderr, bad.stdout, bad.stderr):
        assert secret not in text
    for path in [*cache_dir.rglob("*"), *(tmp_path / "v").rglob("*")]:
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


@pytest.mark.parametrize("value", ["0", "many", "-3"])
def test_a_bad_concurrent_downloads_setting_is_refused_up_front(
    world: dict[str, Path], index_server: IndexServer, value: str
) -> None:
    venv = world["tmp"] / "never"
    assert install(world, index_server, world["tmp"] / "first", "lib==1.0").returncode == 0
    cache_before = snapshot(world["cache"])
    out = cachedb(
        "install", "--cache-dir", world["cache"], "--index-url", index_server.url,
        "--venv", venv, "lib==1.0", env={"CACHEDB_CONCURRENT_DOWNLOADS": value},
    )  # fmt: skip
    assert out.returncode == 2
    assert out.stderr == (
        f"error: CACHEDB_CONCURRENT_DOWNLOADS must be a positive whole number, not {value!r}\n"
    )
    assert not venv.exists()
    assert snapshot(world["cache"]) == cache_before


def test_one_download_at_a_time_when_asked(
    world: dict[str, Path], index_server: IndexServer
) -> None:
    venv = world["tmp"] / "serial"
    out = cachedb(
        "install", "--cache-dir", world["cache"], "--index-url", index_server.url,
        "--venv", venv, "app", env={"CACHEDB_CONCURRENT_DOWNLOADS": "1"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert run_in(venv, "import app, lib").returncode == 0
