"""cachedb.link against real virtual environments, real files and pip as the referee."""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from wheelbuilder import make_wheel

from cachedb.errors import InstallError, UsageError
from cachedb.link import (
    LINK_MODES,
    InstalledDist,
    choose_link_mode,
    install_archive,
    installed_distributions,
    uninstall,
)
from cachedb.link.modes import link_mode_works
from cachedb.store.unpack import unpack_wheel

PIP_ENV = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INDEX": "1"}

FOO_INIT = "VERSION = '1.0'\n\ndef main():\n    print('hello from foo')\n"


class Env:
    def __init__(self, root: Path) -> None:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
        self.prefix = root
        self.python = str(root / "bin" / "python")
        out = subprocess.run(
            [
                self.python,
                "-c",
                "import json, sys, sysconfig; "
                "print(json.dumps([sysconfig.get_paths(), '%d.%d' % sys.version_info[:2]]))",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        paths, xy = json.loads(out)
        self.scheme = {
            "purelib": paths["purelib"],
            "platlib": paths["platlib"],
            "scripts": paths["scripts"],
            "data": paths["data"],
            # pip's venv scheme for headers, without the project name it appends.
            "headers": os.path.join(paths["data"], "include", "site", f"python{xy}"),
        }
        self.site = Path(paths["purelib"])
        self.bin = Path(paths["scripts"])

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*args], capture_output=True, text=True)

    def pip(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pip", "--python", self.python, *args],
            capture_output=True,
            text=True,
            env=PIP_ENV,
        )


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path / "venv")


def archive(tmp_path: Path, name: str = "foo", version: str = "1.0", **kwargs: object) -> Path:
    wheel = make_wheel(tmp_path / "wheels", name, version, **kwargs)  # type: ignore[arg-type]
    return unpack_wheel(wheel, tmp_path / "stage").directory


def unchecked_archive(tmp_path: Path, **kwargs: object) -> Path:
    """An archive directory that skipped unpack's checks (which now refuse hostile scripts
    first), so the linker's own refusal is still tested."""
    import zipfile

    wheel = make_wheel(tmp_path / "wheels", "foo", "1.0", **kwargs)  # type: ignore[arg-type]
    target = tmp_path / "stage" / "unchecked"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(target)
    return target


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            out[str(path.relative_to(root))] = (path.read_bytes(), path.stat().st_mode)
    return out


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def record_digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def install(env: Env, archive_dir: Path, mode: str = "hardlink", **kwargs: object) -> InstalledDist:
    return install_archive(
        archive_dir,
        scheme=env.scheme,
        python_executable=env.python,
        link_mode=mode,
        **kwargs,  # type: ignore[arg-type]
    )


FULL: dict[str, Any] = {
    "files": {
        "foo/__init__.py": FOO_INIT,
        "foo/sub/mod.py": "X = 1\n",
        "foo-1.0.data/scripts/runme": "#!python\nimport foo\nprint('ran', foo.VERSION)\n",
        "foo-1.0.data/scripts/plain.sh": "#!/bin/sh\necho plain\n",
        "foo-1.0.data/data/share/foo/notes.txt": "notes\n",
        "foo-1.0.data/headers/foo.h": "#define FOO 1\n",
    },
    "executable": ["foo-1.0.data/scripts/runme", "foo-1.0.data/scripts/plain.sh"],
    "entry_points": {
        "console_scripts": {"foo-cli": "foo:main"},
        "gui_scripts": {"foo-gui": "foo:main"},
    },
}


def test_installs_importable_package_and_working_scripts(tmp_path: Path, env: Env) -> None:
    arc = archive(tmp_path, **FULL)
    before = snapshot(arc)

    dist = install(env, arc)

    assert (dist.name, dist.version) == ("foo", "1.0")
    assert dist.dist_info == env.site / "foo-1.0.dist-info"
    imported = env.run(env.python, "-c", "import foo, foo.sub.mod; print(foo.VERSION)")
    assert imported.stdout.strip() == "1.0", imported.stderr
    for script in ("foo-cli", "foo-gui"):
        launcher = env.bin / script
        assert launcher.read_bytes().startswith(f"#!{env.python}\n".encode())
        assert os.access(launcher, os.X_OK)
        assert env.run(str(launcher)).stdout == "hello from foo\n"
    # "#!python" is rewritten into a fresh file; the cache copy keeps its shebang.
    runme = env.bin / "runme"
    assert runme.read_bytes().startswith(f"#!{env.python}\n".encode())
    assert env.run(str(runme)).stdout == "ran 1.0\n"
    assert (arc / "foo-1.0.data/scripts/runme").read_bytes().startswith(b"#!python\n")
    assert env.run(str(env.bin / "plain.sh")).stdout == "plain\n"
    assert (env.prefix / "share/foo/notes.txt").read_text() == "notes\n"
    headers = Path(env.scheme["headers"]) / "foo" / "foo.h"
    assert headers.read_text() == "#define FOO 1\n"
    assert (dist.dist_info / "INSTALLER").read_text() == "cachedb\n"
    assert (dist.dist_info / "REQUESTED").read_bytes() == b""
    assert snapshot(arc) == before


def test_record_lists_every_file_with_correct_digests(tmp_path: Path, env: Env) -> None:
    arc = archive(tmp_path, **FULL)
    direct_url = {"url": "file:///wheels/foo-1.0-py3-none-any.whl", "archive_info": {}}
    dist = install(env, arc, direct_url=direct_url, requested=False)

    record = dist.dist_info / "RECORD"
    with open(record, newline="") as fh:
        rows = list(csv.reader(fh))
    listed = {os.path.normpath(env.site / path): (h, size) for path, h, size in rows}
    installed = {str(p) for p in dist.files}
    assert set(listed) == installed
    assert str(record) in installed and listed[str(record)] == ("", "")
    for path, (digest, size) in listed.items():
        if path != str(record):
            data = Path(path).read_bytes()
            assert (digest, size) == (record_digest(data), str(len(data))), path
    assert [r[0] for r in rows if r[0].endswith("bin/foo-cli")] == ["../../../bin/foo-cli"]
    assert json.loads((dist.dist_info / "direct_url.json").read_text()) == direct_url
    assert not (dist.dist_info / "REQUESTED").exists()
    # The archive's own RECORD is never linked into the environment.
    assert record.stat().st_ino != (arc / "foo-1.0.dist-info/RECORD").stat().st_ino
    # Every file under the environment that is not the venv's own belongs to RECORD.
    on_disk = {str(p) for p in env.prefix.rglob("*") if p.is_file() and "foo" in str(p)}
    assert on_disk <= installed | {str(env.bin / s) for s in ("runme", "plain.sh")}


def test_pip_sees_and_uninstalls_what_cachedb_installed(tmp_path: Path, env: Env) -> None:
    dist = install(env, archive(tmp_path, **FULL))

    listed = env.pip("list", "--format", "json")
    assert {"name": "foo", "version": "1.0"} in json.loads(listed.stdout), listed.stderr
    inspected = json.loads(env.pip("inspect").stdout)
    foo = next(d for d in inspected["installed"] if d["metadata"]["name"] == "foo")
    assert foo["installer"] == "cachedb"
    assert foo["requested"] is True

    removed = env.pip("uninstall", "-y", "foo")
    assert removed.returncode == 0, removed.stderr
    assert [p for p in dist.files if os.path.lexists(p)] == []
    assert not dist.dist_info.exists()


@pytest.mark.parametrize("mode", ["hardlink", "copy", "symlink"])
def test_link_modes(tmp_path: Path, env: Env, mode: str) -> None:
    arc = archive(tmp_path, **FULL)
    install(env, arc, mode)

    source = arc / "foo/__init__.py"
    target = env.site / "foo/__init__.py"
    linked_script = env.bin / "plain.sh"
    if mode == "hardlink":
        assert target.stat().st_ino == source.stat().st_ino
    elif mode == "copy":
        assert not target.is_symlink()
        assert target.stat().st_ino != source.stat().st_ino
        assert target.read_bytes() == source.read_bytes()
    else:
        assert target.is_symlink() and os.readlink(target) == str(source)
    assert os.access(linked_script, os.X_OK)
    assert not (env.site / "foo/__init__.py").stat().st_mode & 0o111
    # Generated files are always fresh regular files.
    for fresh in (env.bin / "runme", env.site / "foo-1.0.dist-info/RECORD"):
        assert not fresh.is_symlink() and fresh.stat().st_nlink == 1
    assert env.run(env.python, "-c", "import foo").returncode == 0


def test_choose_link_mode(tmp_path: Path, env: Env) -> None:
    arc = archive(tmp_path)
    if link_mode_works("clone", arc, env.site):
        pytest.skip("this filesystem supports reflinks")
    warnings: list[str] = []

    assert choose_link_mode("clone", arc, env.site, warnings.append) == "hardlink"
    assert len(warnings) == 1 and "hardlink" in warnings[0] and "\n" not in warnings[0]
    assert choose_link_mode(None, arc, env.site, warnings.append) == "hardlink"
    for mode in ("hardlink", "copy", "symlink"):
        assert choose_link_mode(mode, arc, env.site, warnings.append) == mode
    assert len(warnings) == 1
    assert set(LINK_MODES) == {"clone", "hardlink", "copy", "symlink"}
    with pytest.raises(UsageError):
        choose_link_mode("reflink", arc, env.site)


def test_clone_mode_install_falls_back_per_file(tmp_path: Path, env: Env) -> None:
    arc = archive(tmp_path, **FULL)
    install(env, arc, "clone")
    assert (env.site / "foo/__init__.py").read_text() == FOO_INIT
    assert env.run(str(env.bin / "foo-cli")).stdout == "hello from foo\n"


def test_hardlink_mode_copies_a_file_that_cannot_be_linked(tmp_path: Path) -> None:
    # The environment on another file system (tmpfs): every link fails with EXDEV.
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK):
        pytest.skip("no writable /dev/shm")
    arc = archive(tmp_path, **FULL)
    if os.stat(shm).st_dev == os.stat(arc).st_dev:
        pytest.skip("/dev/shm is on the archive's file system")
    import tempfile

    with tempfile.TemporaryDirectory(dir=shm) as where:
        env = Env(Path(where) / "venv")
        install(env, arc, "hardlink")
        linked = env.site / "foo/__init__.py"
        assert linked.read_text() == FOO_INIT
        assert linked.stat().st_nlink == 1  # a copy
        assert env.run(str(env.bin / "foo-cli")).stdout == "hello from foo\n"


@pytest.mark.parametrize(
    ("group", "name", "value"),
    [
        ("console_scripts", "../evil", "foo:main"),
        ("console_scripts", "sub/evil", "foo:main"),
        ("console_scripts", "..", "foo:main"),
        ("console_scripts", "python", "foo:main"),
        ("gui_scripts", "python3", "foo:main"),
        ("console_scripts", "python3.11", "foo:main"),
        ("console_scripts", "pythonw", "foo:main"),
        ("console_scripts", "foo", "os; import shutil:main"),
        ("console_scripts", "foo", "foo:main()"),
    ],
)
def test_hostile_entry_points_refused_before_writing(
    tmp_path: Path, env: Env, group: str, name: str, value: str
) -> None:
    arc = unchecked_archive(
        tmp_path,
        files={"foo/__init__.py": FOO_INIT},
        entry_points={group: {"ok": "foo:main", name: value}},
    )
    before = tree(env.prefix)
    with pytest.raises(InstallError) as info:
        install(env, arc)
    assert "\n" not in str(info.value)
    assert tree(env.prefix) == before


def test_data_script_named_python_refused(tmp_path: Path, env: Env) -> None:
    arc = unchecked_archive(
        tmp_path, files={"foo/__init__.py": "", "foo-1.0.data/scripts/python3": "x"}
    )
    before = tree(env.prefix)
    with pytest.raises(InstallError, match="interpreter"):
        install(env, arc)
    assert tree(env.prefix) == before
    assert env.run(env.python, "-c", "print(1)").stdout == "1\n"


@pytest.mark.parametrize(
    "member",
    [
        "foo-1.0.data/data/bin/python3",
        "foo-1.0.data/data/bin/python",
        "foo-1.0.data/data/BIN/Python3.exe",
        "foo-1.0.data/data/Scripts/pythonw.exe",
        "foo-1.0.data/data/pyvenv.cfg",
        "foo-1.0.data/data/.lock",
    ],
)
def test_data_file_on_an_interpreter_or_reserved_file_refused(
    tmp_path: Path, env: Env, member: str
) -> None:
    # The data scheme is the environment's prefix: its bin/ holds the interpreter.
    arc = unchecked_archive(tmp_path, files={"foo/__init__.py": "", member: "x"})
    before = tree(env.prefix)
    with pytest.raises(InstallError, match="interpreter|environment's own"):
        install(env, arc)
    assert tree(env.prefix) == before
    assert env.run(env.python, "-c", "print(1)").stdout == "1\n"


def test_failed_install_leaves_nothing_behind(tmp_path: Path, env: Env) -> None:
    arc = archive(
        tmp_path,
        files={"foo/__init__.py": FOO_INIT, "foo/a.py": "A = 1\n", "foo/zzz.py": "Z = 1\n"},
    )
    (env.site / "foo").mkdir()
    (env.site / "foo/__init__.py").write_text("OLD = True\n")
    (env.site / "foo/zzz.py").mkdir()  # a directory where a file must go
    (env.site / "foo/zzz.py/keep").write_text("")
    before = snapshot(env.prefix)

    with pytest.raises(InstallError, match="cannot install foo 1.0"):
        install(env, arc)

    assert snapshot(env.prefix) == before
    assert tree(env.site) == {"foo", "foo/__init__.py", "foo/zzz.py", "foo/zzz.py/keep"}


def test_reinstall_replaces_existing_files(tmp_path: Path, env: Env) -> None:
    arc = archive(tmp_path, **FULL)
    install(env, arc, "copy")
    (env.site / "foo/__init__.py").write_text("stale\n")
    dist = install(env, arc, "hardlink")
    assert (env.site / "foo/__init__.py").stat().st_ino == (arc / "foo/__init__.py").stat().st_ino
    assert not [p for p in env.prefix.rglob("*cachedb-*")]  # no temp or backup names left
    assert len(dist.files) == len(set(dist.files))


def test_many_files_linked_in_parallel(tmp_path: Path, env: Env) -> None:
    files = {f"foo/m{i}.py": f"N = {i}\n" for i in range(1000)}
    files["foo/__init__.py"] = ""
    arc = archive(tmp_path, files=files)
    dist = install(env, arc)
    # the modules, METADATA, WHEEL, INSTALLER, REQUESTED, RECORD
    assert len(dist.files) == 1001 + 5
    assert (env.site / "foo/m999.py").stat().st_ino == (arc / "foo/m999.py").stat().st_ino
    out = env.run(env.python, "-c", "import foo.m500 as m; print(m.N)")
    assert out.stdout == "500\n"


def test_installed_distributions(tmp_path: Path, env: Env) -> None:
    assert installed_distributions(env.scheme) == {}
    install(env, archive(tmp_path, "Foo.Bar", "2.0"))
    assert installed_distributions(env.scheme) == {
        "foo-bar": ("2.0", env.site / "foo_bar-2.0.dist-info")
    }


def test_uninstall_removes_everything(tmp_path: Path, env: Env) -> None:
    before = tree(env.prefix)
    dist = install(env, archive(tmp_path, **FULL))
    # Importing writes bytecode that RECORD does not list; it goes too.
    compile_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([env.python, "-c", "import foo.sub.mod"], check=True, env=compile_env)
    assert list((env.site / "foo").rglob("*.pyc"))

    removed = uninstall("FOO", env.scheme, env.prefix)

    assert set(dist.files) <= set(removed)
    assert not (Path(env.scheme["headers"]) / "foo").exists()
    # Like pip, the (empty) headers root of the scheme itself is left in place.
    headers_root = Path(env.scheme["headers"]).relative_to(env.prefix)
    kept = {str(headers_root), *(str(p) for p in headers_root.parents if p != Path("."))}
    assert tree(env.prefix) - kept == before - kept
    assert all(Path(v).is_dir() for v in env.scheme.values() if "include" not in v)
    assert installed_distributions(env.scheme) == {}
    assert uninstall("foo", env.scheme, env.prefix) == []


def test_uninstall_refuses_paths_outside_prefix(tmp_path: Path, env: Env) -> None:
    dist = install(env, archive(tmp_path, **FULL))
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    rel = os.path.relpath(victim, env.site)
    assert rel.startswith("../../../../")
    with open(dist.dist_info / "RECORD", "a") as fh:
        fh.write(f"{rel},,\n")

    with pytest.raises(InstallError, match="outside"):
        uninstall("foo", env.scheme, env.prefix)

    assert victim.read_text() == "precious\n"
    assert all(p.exists() for p in dist.files)


def test_uninstall_refuses_absolute_and_symlinked_escapes(tmp_path: Path, env: Env) -> None:
    dist = install(env, archive(tmp_path))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_text("precious\n")
    (env.site / "sneaky").symlink_to(outside)
    for row in (f"{outside / 'victim.txt'},,", "sneaky/victim.txt,,"):
        original = (dist.dist_info / "RECORD").read_text()
        (dist.dist_info / "RECORD").write_text(original + row + "\n")
        with pytest.raises(InstallError):
            uninstall("foo", env.scheme, env.prefix)
        (dist.dist_info / "RECORD").write_text(original)
    assert (outside / "victim.txt").exists()
    assert all(p.exists() for p in dist.files)


MANY_DIRS = {f"foo/locale/l{i}/LC_MESSAGES/django.mo": f"{i}\n" for i in range(150)}


@pytest.mark.parametrize("threaded_from", [1, 10**9])
def test_directories_made_on_two_threads_equal_one_thread(
    tmp_path: Path, env: Env, monkeypatch: pytest.MonkeyPatch, threaded_from: int
) -> None:
    monkeypatch.setattr("cachedb.link.place._THREADED_LEVEL", threaded_from)
    arc = archive(tmp_path, files={"foo/__init__.py": "", **MANY_DIRS})
    before = tree(env.site)
    dist = install(env, arc)
    made = tree(env.site) - before
    dirs = {f"foo/locale/l{i}" for i in range(150)}
    dirs |= {f"{d}/LC_MESSAGES" for d in dirs}
    files = {str(Path(p).relative_to(env.site)) for p in dist.paths}
    dirs |= {"foo", "foo/locale", "foo-1.0.dist-info"}
    assert made == dirs | files
    assert {p for p in made if (env.site / p).is_dir()} == dirs


@pytest.mark.parametrize("threaded_from", [1, 10**9])
def test_failed_install_removes_the_directories_it_made_on_threads(
    tmp_path: Path, env: Env, monkeypatch: pytest.MonkeyPatch, threaded_from: int
) -> None:
    monkeypatch.setattr("cachedb.link.place._THREADED_LEVEL", threaded_from)
    arc = archive(tmp_path, files={"foo/__init__.py": "", "foo/zzz.py": "Z = 1\n", **MANY_DIRS})
    (env.site / "foo/locale/l7").mkdir(parents=True)  # one there before: it stays
    (env.site / "foo/zzz.py").mkdir()  # a directory where a file must go
    before = snapshot(env.prefix), tree(env.prefix)

    with pytest.raises(InstallError, match="cannot install foo 1.0"):
        install(env, arc)

    assert (snapshot(env.prefix), tree(env.prefix)) == before


def test_parent_dirs_is_dirname_of_each() -> None:
    from cachedb.link.install import parent_dirs

    cases = [
        ["/venv/lib/a.py", "/venv/lib/pkg/b.py", "/venv/bin/tool"],
        ["/a.py", "/venv/x.py"],  # a file at the root: dirname says "/"
        ["/venv//double/a.py", "/venv/lib/b.py"],  # two separators: dirname strips both
        ["relative", "/venv/lib/a.py"],  # no separator: dirname says ""
        ["/venv/dir/", "/venv/lib/a.py"],
        [],
    ]
    for paths in cases:
        assert parent_dirs(paths) == {os.path.dirname(p) for p in paths}, paths


def test_directories_made_for_an_install_are_undone_by_a_rollback(tmp_path: Path) -> None:
    # Whether the directory all of them share exists (site-packages) or not (a new
    # --target), every missing one is made, and a rollback removes exactly those.
    from cachedb.link.place import Journal

    existing = tmp_path / "site-packages"
    (existing / "old").mkdir(parents=True)
    for root in (existing, tmp_path / "new" / "target"):
        wanted = [str(root / "pkg" / "sub"), str(root / "pkg.dist-info"), str(root / "old")]
        journal = Journal()
        journal.make_dirs(wanted)
        assert all(os.path.isdir(d) for d in wanted)
        journal.rollback()
        assert not (root / "pkg").exists() and not (root / "pkg.dist-info").exists()
    assert (existing / "old").is_dir() and not (tmp_path / "new").exists()
