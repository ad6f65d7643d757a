"""Building from source end to end: sdists, project directories, editable installs, git URLs.

Real builds: setuptools and flit_core run as PEP 517 backends in isolated build
environments that cachedb itself fills from a local index on 127.0.0.1. The
backends' wheels are re-packed from the test venv's own installs, so nothing is
downloaded. One index and one cache serve the whole module, so the backends are
installed into the cache once and later builds reuse them.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pytest
from buildtools import backend_wheel, git, make_sdist, write_project
from indexserver import IndexServer
from installtools import cachedb, run_in
from packaging.version import Version
from wheelbuilder import make_wheel

from cachedb.build.git import parse_git_url
from cachedb.build.policy import BuildPolicy, parse_names
from cachedb.build.sdist import extract_sdist
from cachedb.build.sources import fingerprint, metadata_fingerprint
from cachedb.errors import BuildError, UsageError
from cachedb.requirements import parse_requirement

# Re-packed from the test venv; setuptools before 70.1 would also need "wheel".
BACKENDS = {"setuptools": "70.1", "flit_core": "3.4"}
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    """A local index serving the build backends (and whatever a test adds)."""
    wheels = tmp_path_factory.mktemp("backends")
    with IndexServer() as srv:
        for dist, minimum in BACKENDS.items():
            try:
                have = Version(version(dist))
            except PackageNotFoundError:
                have = None
            if have is None or have < Version(minimum):
                pytest.fail(f"the test extra must install {dist}>={minimum} (found {have})")
            srv.add(backend_wheel(dist, wheels))
        srv.add(make_wheel(wheels, "lib", "1.0", files={"lib/__init__.py": "VALUE = 'lib'\n"}))
        yield srv


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache") / "c"


def install(
    cache: Path, server: IndexServer, venv: Path, *args: str | Path
) -> subprocess.CompletedProcess[str]:
    return cachedb(
        "install", "--cache-dir", cache, "--index-url", server.url, "--venv", venv, *args
    )


def ok(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 0, out.stderr
    return out.stderr


def value(venv: Path, module: str) -> str:
    ran = run_in(venv, f"import {module}; print({module}.VALUE)")
    assert ran.returncode == 0, ran.stderr
    return ran.stdout.strip()


def direct_url(venv: Path, name: str) -> dict[str, Any]:
    (found,) = venv.glob(f"lib/python*/site-packages/{name}-*.dist-info/direct_url.json")
    data: dict[str, Any] = json.loads(found.read_text())
    return data


def query(cache: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(cache / "cachedb.sqlite3")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def built_events(cache: Path, name: str) -> list[tuple[object, ...]]:
    return query(
        cache,
        "SELECT kind, subject FROM events WHERE subject LIKE 'built-wheels-v0/%/"
        f"{name}/%' ORDER BY id",
    )


def tmp_entries(cache: Path) -> list[str]:
    return sorted(os.listdir(cache / "tmp"))


# --- sdists from the index ---------------------------------------------------------


def test_sdist_in_a_find_links_directory_is_built_once_until_it_changes(
    cache: Path, server: IndexServer, tmp_path: Path
) -> None:
    """A local sdist has no stated hash: its build is reused while its bytes (known by
    path, size and mtime) are the same, and rebuilt once it is rewritten."""
    links = tmp_path / "links"
    project = write_project(tmp_path / "src", "sdlocal", "1.0", code="VALUE = 'first'\n")
    sdist = make_sdist(project, links, "sdlocal", "1.0")
    args = ["-f", links, "sdlocal==1.0"]
    assert "Built sdlocal==1.0" in ok(install(cache, server, tmp_path / "v1", *args))
    assert "Built" not in ok(install(cache, server, tmp_path / "v2", *args))
    assert value(tmp_path / "v2", "sdlocal") == "first"

    write_project(project, "sdlocal", "1.0", code="VALUE = 'second'\n")
    stat = sdist.stat()
    make_sdist(project, links, "sdlocal", "1.0")
    os.utime(sdist, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert "Built sdlocal==1.0" in ok(install(cache, server, tmp_path / "v3", *args))
    assert value(tmp_path / "v3", "sdlocal") == "second"


def test_sdist_only_package_builds_once(cache: Path, server: IndexServer, tmp_path: Path) -> None:
    project = write_project(tmp_path / "src", "sdonly", "1.0", dependencies=("lib",))
    server.add(make_sdist(project, tmp_path / "dist", "sdonly", "1.0"))

    err = ok(install(cache, server, tmp_path / "v1", "sdonly"))
    assert "Built sdonly==1.0" in err and " + lib==1.0" in err
    assert value(tmp_path / "v1", "sdonly") == "1.0"
    assert [kind for kind, _ in built_events(cache, "sdonly")] == ["pointer.insert"]
    assert tmp_entries(cache) == []

    # A fresh environment: nothing is built, no file is fetched (the pages are
    # revalidated: the cached build is used while the index still offers its sdist).
    seen = len(server.requests)
    err = ok(install(cache, server, tmp_path / "v2", "sdonly==1.0", "lib==1.0"))
    assert "Built" not in err
    assert sorted(server.requests[seen:]) == ["/simple/lib/", "/simple/sdonly/"]
    assert value(tmp_path / "v2", "sdonly") == "1.0"
    # Unpinned, the index page is revalidated, but no file is downloaded again.
    err = ok(install(cache, server, tmp_path / "v3", "sdonly"))
    assert "Built" not in err
    assert not [r for r in server.requests[seen:] if r.startswith("/files/")]
    assert len(built_events(cache, "sdonly")) == 1
    # The same sdist by URL is the same source (same sha256): downloaded, not built.
    url = f"{server.root_url}/files/sdonly-1.0.tar.gz"
    err = ok(install(cache, server, tmp_path / "v4", f"sdonly @ {url}"))
    assert "Built" not in err
    assert direct_url(tmp_path / "v4", "sdonly")["url"] == url


def test_a_hashed_lock_keeps_an_installed_build_of_its_sdist(
    cache: Path, server: IndexServer, tmp_path: Path
) -> None:
    """A lock hashes the sdist, cachedb records the wheel it built from it: that wheel
    is the lock's build, so a second sync has nothing to do (it used to reinstall)."""
    project = write_project(tmp_path / "src", "sdlock", "1.0")
    server.add(make_sdist(project, tmp_path / "dist", "sdlock", "1.0"))
    (tmp_path / "requirements.in").write_text("sdlock\n")
    compiled = cachedb(
        "compile", "requirements.in", "-o", "requirements.txt", "--generate-hashes",
        "--cache-dir", cache, "--index-url", server.url, cwd=tmp_path,
    )  # fmt: skip
    assert compiled.returncode == 0, compiled.stderr
    venv = tmp_path / "venv"
    ok(cachedb("venv", venv))
    sync = ("sync", tmp_path / "requirements.txt", "--python", venv / "bin" / "python",
            "--cache-dir", cache, "--index-url", server.url)  # fmt: skip
    assert " + sdlock==1.0" in ok(cachedb(*sync))
    (dist_info,) = venv.glob("lib/python*/site-packages/sdlock-1.0.dist-info")
    before = dist_info.stat().st_ino
    err = ok(cachedb(*sync))
    assert "sdlock" not in err
    assert dist_info.stat().st_ino == before
    # Another build of that version (not from the locked sdist) is still replaced.
    other = make_wheel(tmp_path / "other", "sdlock", "1.0", files={"sdlock/__init__.py": ""})
    ok(install(cache, server, venv, "--reinstall", "--no-index", "-f", other.parent, "sdlock"))
    assert " + sdlock==1.0" in ok(cachedb(*sync))
    assert value(venv, "sdlock") == "1.0"


def test_no_build_and_only_binary_refuse_to_build(
    cache: Path, server: IndexServer, tmp_path: Path
) -> None:
    project = write_project(tmp_path / "src", "needsbuild", "1.0")
    server.add(make_sdist(project, tmp_path / "dist", "needsbuild", "1.0"))
    for flags in (["--no-build"], ["--only-binary", ":all:"], ["--only-binary", "needsbuild"]):
        out = install(cache, server, tmp_path / "v", *flags, "needsbuild")
        assert out.returncode == 1
        lines = out.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: no wheel of needsbuild")
        assert flags[0] in lines[0]
    out = install(cache, server, tmp_path / "v", "--no-build", project)
    assert out.returncode == 1 and "--no-build forbids building" in out.stderr
    assert not (tmp_path / "v").exists()
    assert built_events(cache, "needsbuild") == []


@pytest.mark.slow
def test_no_binary_builds_the_sdist_and_refresh_package_rebuilds(
    cache: Path, server: IndexServer, tmp_path: Path
) -> None:
    both = write_project(tmp_path / "src", "both", "1.0", code="VALUE = 'from sdist'\n")
    server.add(make_sdist(both, tmp_path / "dist", "both", "1.0"))
    server.add(
        make_wheel(
            tmp_path / "dist", "both", "1.0", files={"both/__init__.py": "VALUE = 'wheel'\n"}
        )
    )
    ok(install(cache, server, tmp_path / "v1", "both"))
    assert value(tmp_path / "v1", "both") == "wheel"
    ok(install(cache, server, tmp_path / "v2", "--no-binary", "both", "both"))
    assert value(tmp_path / "v2", "both") == "from sdist"
    assert len(built_events(cache, "both")) == 1
    # A cached build is used even where building is forbidden...
    err = ok(install(cache, server, tmp_path / "v3", "--no-binary", "both", "--no-build", "both"))
    assert "Built" not in err
    # ...and --refresh-package builds it again.
    err = ok(
        install(
            cache,
            server,
            tmp_path / "v4",
            "--no-binary",
            "both",
            "--refresh-package",
            "both",
            "both",
        )
    )
    assert "Built both==1.0" in err


def test_local_zip_sdist(cache: Path, server: IndexServer, tmp_path: Path) -> None:
    project = write_project(tmp_path / "src", "zipped", "1.0", backend="flit")
    sdist = tmp_path / "zipped-1.0.zip"
    with zipfile.ZipFile(sdist, "w") as zf:
        for path in sorted(project.rglob("*")):
            if path.is_file():
                zf.write(path, f"zipped-1.0/{path.relative_to(project).as_posix()}")
        zf.writestr("zipped-1.0/PKG-INFO", "Metadata-Version: 2.1\nName: zipped\nVersion: 1.0\n")
    err = ok(install(cache, server, tmp_path / "v1", sdist))
    assert "Built zipped==1.0" in err
    assert value(tmp_path / "v1", "zipped") == "1.0"
    info = direct_url(tmp_path / "v1", "zipped")
    assert info["url"] == sdist.as_uri()
    assert set(info["archive_info"]) == {"hash", "hashes"}
    # The same file by URL is the same source: its build is reused.
    err = ok(install(cache, server, tmp_path / "v2", f"zipped @ {sdist.as_uri()}"))
    assert "Built" not in err


# --- local project directories -----------------------------------------------------


@pytest.mark.parametrize("build_backend", ["setuptools", "flit"])
def test_local_project_directory(
    cache: Path, server: IndexServer, tmp_path: Path, build_backend: str
) -> None:
    name = f"dir-{build_backend}"
    module = name.replace("-", "_")
    project = write_project(tmp_path / "proj", name, "1.0", backend=build_backend)
    err = ok(install(cache, server, tmp_path / "v1", project))
    assert f"Built {name}==1.0" in err
    assert value(tmp_path / "v1", module) == "1.0"
    assert direct_url(tmp_path / "v1", module) == {"url": project.as_uri(), "dir_info": {}}
    # Not editable: the environment has its own copy.
    (project / module / "__init__.py").write_text("VALUE = 'changed'\n")
    assert value(tmp_path / "v1", module) == "1.0"

    # The same files again: no build. Build output in the tree does not count.
    (project / module / "__init__.py").write_text("VALUE = '1.0'\n")
    (project / "build").mkdir(exist_ok=True)
    (project / "build" / "junk.txt").write_text("junk")
    err = ok(install(cache, server, tmp_path / "v2", project))
    assert "Built" not in err

    # Changed files build anew, and the pointer moves to the new archive. The build
    # environment is filled from the cache: not a single request.
    (project / module / "__init__.py").write_text("VALUE = 'changed'\n")
    seen = len(server.requests)
    err = ok(install(cache, server, tmp_path / "v2", project))
    assert f"Built {name}==1.0" in err
    assert server.requests[seen:] == []
    assert value(tmp_path / "v2", module) == "changed"
    kinds = [kind for kind, _ in built_events(cache, name)]
    assert kinds == ["pointer.insert", "pointer.swap"]
    assert tmp_entries(cache) == []


@pytest.mark.parametrize("build_backend", ["setuptools", "flit"])
def test_editable_install_sees_edits(
    cache: Path, server: IndexServer, tmp_path: Path, build_backend: str
) -> None:
    name = f"ed-{build_backend}"
    module = name.replace("-", "_")
    project = write_project(tmp_path / "proj", name, "1.0", backend=build_backend)
    err = ok(install(cache, server, tmp_path / "v1", "-e", project))
    assert f"Built {name}==1.0" in err
    assert value(tmp_path / "v1", module) == "1.0"
    assert direct_url(tmp_path / "v1", module) == {
        "url": project.as_uri(),
        "dir_info": {"editable": True},
    }
    (project / module / "__init__.py").write_text("VALUE = 'edited'\n")
    assert value(tmp_path / "v1", module) == "edited"  # no reinstall

    # Code edits keep the editable wheel valid; a metadata change builds a new one.
    err = ok(install(cache, server, tmp_path / "v2", "-e", project))
    assert "Built" not in err
    assert value(tmp_path / "v2", module) == "edited"
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('version = "1.0"', 'version = "1.1"'))
    err = ok(install(cache, server, tmp_path / "v2", "-e", project))
    assert f"Built {name}==1.1" in err
    assert f" + {name}==1.1" in err


# --- git ---------------------------------------------------------------------------


@needs_git
@pytest.mark.parametrize("name", ["requirements.txt", "pylock.toml"])
def test_a_git_requirement_is_locked_at_its_commit(
    cache: Path, server: IndexServer, tmp_path: Path, name: str
) -> None:
    """A lock pins the commit a branch resolved to (a pylock ``vcs`` entry with its
    commit_id, as PEP 751 asks), so a later commit on the branch does not change
    what the lock installs."""
    repo = write_project(tmp_path / "repo", "gitlock", "1.0", code="VALUE = 'one'\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    first = git(repo, "rev-parse", "HEAD")
    (tmp_path / "requirements.in").write_text(f"gitlock @ git+{repo.as_uri()}@main\n")
    ok(cachedb("compile", "requirements.in", "-o", name, "--cache-dir", cache,
               "--index-url", server.url, cwd=tmp_path))  # fmt: skip
    text = (tmp_path / name).read_text()
    assert first in text
    if name == "pylock.toml":
        from packaging.pylock import Pylock

        (package,) = Pylock.from_dict(tomllib.loads(text)).packages
        assert package.vcs is not None and package.archive is None
        assert (package.vcs.type, package.vcs.commit_id) == ("git", first)
        assert package.vcs.url == repo.as_uri() and package.vcs.requested_revision == "main"
    (repo / "gitlock" / "__init__.py").write_text("VALUE = 'two'\n")
    git(repo, "commit", "-q", "-a", "-m", "two")
    venv = tmp_path / "venv"
    ok(cachedb("venv", venv))
    ok(cachedb("sync", tmp_path / name, "--python", venv / "bin" / "python",
               "--cache-dir", cache, "--index-url", server.url))  # fmt: skip
    assert value(venv, "gitlock") == "one"
    assert direct_url(venv, "gitlock")["vcs_info"]["commit_id"] == first
    # A branch names no fixed tree: hash-checking mode still refuses it.
    (tmp_path / "branch.txt").write_text(f"gitlock @ git+{repo.as_uri()}@main\n")
    refused = cachedb("sync", tmp_path / "branch.txt", "--require-hashes",
                      "--python", venv / "bin" / "python",
                      "--cache-dir", cache, "--index-url", server.url)  # fmt: skip
    assert refused.returncode != 0 and "missing for: gitlock" in refused.stderr
    assert value(venv, "gitlock") == "one"


@needs_git
def test_git_branch_and_commit(cache: Path, server: IndexServer, tmp_path: Path) -> None:
    repo = write_project(tmp_path / "repo", "gitpkg", "1.0", code="VALUE = 'one'\n")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    first = git(repo, "rev-parse", "HEAD")
    branch = f"gitpkg @ git+{repo.as_uri()}@main"

    err = ok(install(cache, server, tmp_path / "v1", branch))
    assert "Built gitpkg==1.0" in err
    assert value(tmp_path / "v1", "gitpkg") == "one"
    assert direct_url(tmp_path / "v1", "gitpkg") == {
        "url": repo.as_uri(),
        "vcs_info": {"vcs": "git", "commit_id": first, "requested_revision": "main"},
    }
    err = ok(install(cache, server, tmp_path / "v2", branch))
    assert "Built" not in err

    # A new commit on the branch: built anew, the branch's pointer swapped.
    (repo / "gitpkg" / "__init__.py").write_text("VALUE = 'two'\n")
    git(repo, "commit", "-q", "-a", "-m", "two")
    second = git(repo, "rev-parse", "HEAD")
    err = ok(install(cache, server, tmp_path / "v3", branch))
    assert "Built gitpkg==1.0" in err
    assert value(tmp_path / "v3", "gitpkg") == "two"
    assert direct_url(tmp_path / "v3", "gitpkg")["vcs_info"] == {
        "vcs": "git",
        "commit_id": second,
        "requested_revision": "main",
    }
    kinds = [kind for kind, _ in built_events(cache, "gitpkg")]
    assert kinds == ["pointer.insert", "pointer.swap"]

    # A commit id: its own entry, found again without the repository's help.
    at_commit = f"gitpkg @ git+{repo.as_uri()}@{first}"
    ok(install(cache, server, tmp_path / "v4", at_commit))
    assert value(tmp_path / "v4", "gitpkg") == "one"
    moved = tmp_path / "moved"
    repo.rename(moved)
    err = ok(install(cache, server, tmp_path / "v5", at_commit))
    assert "Built" not in err
    assert value(tmp_path / "v5", "gitpkg") == "one"
    assert tmp_entries(cache) == []


# --- failures ----------------------------------------------------------------------


def test_failing_build_shows_the_backend_error_and_leaves_nothing(
    cache: Path, server: IndexServer, tmp_path: Path
) -> None:
    # Warm the backend into the cache first, so only the failing build is measured.
    ok(install(cache, server, tmp_path / "warm", write_project(tmp_path / "good", "good", "1.0")))
    archives = query(cache, "SELECT id FROM archives ORDER BY id")
    pointers = query(cache, "SELECT bucket, key, archive_id FROM pointers ORDER BY key")
    built_dir = sorted(
        p.relative_to(cache).as_posix() for p in (cache / "built-wheels-v0").rglob("*")
    )

    broken = write_project(
        tmp_path / "broken",
        "broken",
        "1.0",
        extra_files={"setup.py": "raise SystemExit('the backend refuses: broken on purpose')\n"},
    )
    out = install(cache, server, tmp_path / "v", broken)
    assert out.returncode == 1
    first, *rest = out.stderr.splitlines()
    assert first.startswith("error: failed to build ")
    assert "the backend refuses: broken on purpose" in first
    assert any("broken on purpose" in line for line in rest)  # the build output follows
    assert query(cache, "SELECT id FROM archives ORDER BY id") == archives
    assert query(cache, "SELECT bucket, key, archive_id FROM pointers ORDER BY key") == pointers
    after = sorted(p.relative_to(cache).as_posix() for p in (cache / "built-wheels-v0").rglob("*"))
    assert after == built_dir
    assert tmp_entries(cache) == []
    assert not (tmp_path / "v").exists()


def test_a_build_that_needs_itself_fails_instead_of_hanging(
    cache: Path, server: IndexServer, tmp_path: Path
) -> None:
    project = write_project(tmp_path / "src", "ouroboros", "1.0")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('requires = ["setuptools>=70.1"]', 'requires = ["ouroboros"]')
    )
    server.add(make_sdist(project, tmp_path / "dist", "ouroboros", "1.0"))
    out = install(cache, server, tmp_path / "v", "ouroboros")
    assert out.returncode == 1
    assert out.stderr.startswith("error: cannot install the build requirements of ouroboros")
    assert "its build requirements need it built first" in out.stderr
    assert tmp_entries(cache) == []


def test_a_build_requirement_no_source_offers_is_one_error_and_leaves_nothing(
    cache: Path, server: IndexServer, tmp_path: Path
) -> None:
    project = write_project(tmp_path / "src", "needy", "1.0")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            'requires = ["setuptools>=70.1"]',
            'requires = ["setuptools>=70.1", "no-such-helper>=1"]',
        )
    )
    out = install(cache, server, tmp_path / "v", project)
    assert out.returncode == 1
    first, *rest = out.stderr.splitlines()
    assert first.startswith("error: cannot install the build requirements of ")
    assert "(no-such-helper>=1, setuptools>=70.1): " in first
    assert "no-such-helper" in first.split("): ", 1)[1]  # the nested install's own reason
    assert not any(line.startswith("error:") for line in rest)
    assert tmp_entries(cache) == []
    assert not (tmp_path / "v").exists()


def _tar(path: Path, members: list[tarfile.TarInfo]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for info in members:
            data = b"x" * info.size if info.isfile() else None
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = 1 if kind == tarfile.REGTYPE else 0
    return info


@pytest.mark.parametrize(
    ("members", "reason"),
    [
        ([_member("evil-1.0/../../escape.py")], "'..'"),
        ([_member("/etc/evil")], "absolute path"),
        ([_member("evil-1.0/a/../b.py")], "'..'"),
        ([_member("evil-1.0/link", tarfile.SYMTYPE, "/etc/passwd")], "absolute path"),
        ([_member("evil-1.0/link", tarfile.SYMTYPE, "../../../etc")], "outside the destination"),
        ([_member("evil-1.0/hard", tarfile.LNKTYPE, "../../outside")], "outside the destination"),
        ([_member("evil-1.0/dev", tarfile.CHRTYPE)], "special file"),
    ],
)
def test_malicious_tar_sdists_are_refused(
    tmp_path: Path, members: list[tarfile.TarInfo], reason: str
) -> None:
    sdist = _tar(tmp_path / "evil-1.0.tar.gz", [_member("evil-1.0/PKG-INFO"), *members])
    dest = tmp_path / "out"
    with pytest.raises(BuildError, match=reason) as info:
        extract_sdist(sdist, dest)
    assert info.value.message.startswith("refusing source distribution evil-1.0.tar.gz: ")
    assert not dest.exists() or list(dest.iterdir()) == []  # checked before writing anything
    assert not (tmp_path / "escape.py").exists()


@pytest.mark.parametrize(
    ("name", "symlink", "reason"),
    [
        ("../escape.py", False, "'..'"),
        ("/abs.py", False, "absolute path"),
        ("evil-1.0/link", True, "symlink"),
    ],
)
def test_malicious_zip_sdists_are_refused(
    tmp_path: Path, name: str, symlink: bool, reason: str
) -> None:
    sdist = tmp_path / "evil-1.0.zip"
    with zipfile.ZipFile(sdist, "w") as zf:
        zf.writestr("evil-1.0/PKG-INFO", "Name: evil\n")
        info = zipfile.ZipInfo(name)
        if symlink:
            info.external_attr = (0o777 | 0o120000) << 16
        zf.writestr(info, "/etc/passwd" if symlink else "x")
    with pytest.raises(BuildError, match=reason):
        extract_sdist(sdist, tmp_path / "out")
    assert not (tmp_path / "escape.py").exists()


def test_malicious_sdist_is_refused_by_install(
    cache: Path, server: IndexServer, tmp_path: Path
) -> None:
    sdist = _tar(tmp_path / "evil-1.0.tar.gz", [_member("evil-1.0/../../../escape.py")])
    out = install(cache, server, tmp_path / "v", sdist)
    assert out.returncode == 1
    assert out.stderr.startswith("error: refusing source distribution evil-1.0.tar.gz")
    assert tmp_entries(cache) == []
    assert built_events(cache, "evil") == []


def test_good_sdists_unpack(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", "fine", "1.0")
    root = extract_sdist(make_sdist(project, tmp_path / "d", "fine", "1.0"), tmp_path / "out")
    assert root == tmp_path / "out" / "fine-1.0"
    assert (root / "fine" / "__init__.py").read_text() == "VALUE = '1.0'\n"


# --- concurrency -------------------------------------------------------------------


@pytest.mark.slow
def test_two_processes_build_the_same_source_once(
    cache: Path, server: IndexServer, tmp_path: Path
) -> None:
    project = write_project(tmp_path / "proj", "raced", "1.0")
    base = [sys.executable, "-m", "cachedb", "install", "--cache-dir", str(cache)]
    base += ["--index-url", server.url]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CACHEDB_")}
    procs = [
        subprocess.Popen(
            [*base, "--venv", str(tmp_path / f"v{i}"), str(project)],
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(2)
    ]
    errs = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    assert sum(err.count("Built raced==1.0") for err in errs) == 1
    assert [kind for kind, _ in built_events(cache, "raced")] == ["pointer.insert"]
    assert value(tmp_path / "v0", "raced") == value(tmp_path / "v1", "raced") == "1.0"


# --- small parts -------------------------------------------------------------------


def test_fingerprint_skips_what_a_build_does_not_read(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", "fp", "1.0")
    before = fingerprint(project)
    for junk in (
        ".git/HEAD",
        "build/x",
        "dist/x.whl",
        "fp.egg-info/PKG-INFO",
        "fp/__pycache__/x.pyc",
        ".venv/x",
    ):
        (project / junk).parent.mkdir(parents=True, exist_ok=True)
        (project / junk).write_text("junk")
    assert fingerprint(project) == before
    (project / "fp" / "build").mkdir()  # a subpackage called "build" is source
    (project / "fp" / "build" / "__init__.py").write_text("")
    assert fingerprint(project) != before
    meta = metadata_fingerprint(project)
    (project / "fp" / "__init__.py").write_text("VALUE = 2\n")
    assert metadata_fingerprint(project) == meta
    (project / "setup.cfg").write_text("[metadata]\n")
    assert metadata_fingerprint(project) != meta


def test_git_urls_parse() -> None:
    parsed = parse_git_url("git+https://user:tok@host/org/repo.git@v1.2#egg=x&subdirectory=sub/dir")
    assert (parsed.repository, parsed.revision, parsed.subdirectory) == (
        "https://user:tok@host/org/repo.git",
        "v1.2",
        "sub/dir",
    )
    assert parsed.shown == "https://****@host/org/repo.git"
    ssh = parse_git_url("git+ssh://git@host/repo.git")
    assert (ssh.repository, ssh.revision) == ("ssh://git@host/repo.git", None)
    local = parse_git_url("git+file:///srv/repo@main")
    assert (local.repository, local.revision) == ("file:///srv/repo", "main")
    with pytest.raises(UsageError):
        parse_git_url("git+https://host/repo#subdirectory=../up")


def test_direct_references_to_sources_parse(tmp_path: Path) -> None:
    project = write_project(tmp_path / "proj", "My_Proj", "1.0")
    req = parse_requirement("./proj[x]", base_dir=tmp_path)
    assert (req.name, req.url, req.requirement.extras) == ("my-proj", project.as_uri(), {"x"})
    assert parse_requirement(project.as_uri()).name == "my-proj"
    sdist = make_sdist(project, tmp_path / "dist", "My_Proj", "1.0")
    assert parse_requirement(str(sdist)).name == "my-proj"
    req = parse_requirement("pkg @ git+https://host/repo.git@main#subdirectory=sub")
    assert req.url == "git+https://host/repo.git@main#subdirectory=sub"
    assert parse_requirement("git+file:///srv/repo@v1#egg=Pkg").name == "pkg"
    with pytest.raises(UsageError, match="NAME @"):
        parse_requirement("git+https://host/repo.git")


def test_build_policy_names() -> None:
    assert parse_names(["a,B_c", ":none:", "d"]) == {"d"}
    policy = BuildPolicy.from_options(no_binary=[":all:"], only_binary=["x"], refresh=["Y"])
    assert not policy.wheels_allowed("anything")
    assert not policy.may_build("x") and policy.may_build("z")
    assert policy.refreshes("y") and not policy.refreshes("z")
    assert not BuildPolicy(no_build=True).may_build("z")


@pytest.mark.parametrize("build_backend", ["setuptools", "flit"])
def test_a_run_that_installs_nothing_prepares_metadata_and_builds_no_wheel(
    server: IndexServer, tmp_path: Path, build_backend: str
) -> None:
    """``compile`` and ``install --dry-run`` need an sdist's metadata, not its wheel: a
    project with extension modules would be compiled only to be locked. Both backends
    offer ``prepare_metadata_for_build_wheel``; what it says is what the install of the
    built wheel then does."""
    project = write_project(
        tmp_path / "src", "metaonly", "1.0", backend=build_backend, dependencies=("lib",)
    )
    server.add(make_sdist(project, tmp_path / "dist", "metaonly", "1.0"))
    cache = tmp_path / "cache"
    built = cache / "built-wheels-v0"
    (tmp_path / "requirements.in").write_text("metaonly\n")
    compiled = cachedb(
        "compile", "requirements.in", "-o", "requirements.txt",
        "--cache-dir", cache, "--index-url", server.url, cwd=tmp_path,
    )  # fmt: skip
    assert compiled.returncode == 0, compiled.stderr
    assert "lib==1.0" in (tmp_path / "requirements.txt").read_text()
    assert not any(built.rglob("*"))
    venv = tmp_path / "venv"
    dry = ok(install(cache, server, venv, "--dry-run", "metaonly"))
    assert "metaonly==1.0" in dry and "lib==1.0" in dry
    assert not any(built.rglob("*"))

    ok(install(cache, server, venv, "metaonly"))

    assert any(built.rglob("*"))
    assert value(venv, "metaonly") == "1.0" and value(venv, "lib") == "lib"
