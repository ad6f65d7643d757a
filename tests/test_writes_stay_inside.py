"""Nothing outside the cache, the target environment and the paths a user named is ever
written.

Watched from outside with strace (``writewatch``): every system call that creates, opens
for writing, links, renames, removes or changes a path, wherever the path is spelled.
Every command runs with ``HOME``, ``TMPDIR`` and the XDG directories pointed at empty
directories of the test's own, which must stay empty. The state a command needs (a filled
cache, an installed environment) is made beforehand, unwatched. Bytecode writing is left
on, as for a user.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from buildtools import backend_wheel, git, make_sdist, write_project
from indexserver import IndexServer
from installtools import cachedb, make_venv
from s3server import S3Bucket
from wheelbuilder import make_wheel
from writewatch import CACHEDB, HAVE_STRACE, outside, strace_run, watched_env, written_paths

import cachedb as cachedb_package

pytestmark = pytest.mark.skipif(not HAVE_STRACE, reason="needs strace")


def test_a_warm_install_writes_only_in_the_cache_and_the_environment(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    make_wheel(
        wheels,
        "app",
        "1.0",
        files={"app/__init__.py": "def main():\n    pass\n", "app/sub/x.py": ""},
        requires=["lib==1.0"],
        entry_points={"console_scripts": {"app": "app:main"}},
    )
    make_wheel(wheels, "lib", "1.0")
    # Enough distributions that one statement's changes outgrow SQLite's in-memory
    # statement journal (64 KiB): it then spills to a temporary file.
    names = [f"dist{i}" for i in range(80)]
    for name in names:
        make_wheel(wheels, name, "1.0")
    pins = ["app==1.0", *(f"{name}==1.0" for name in names)]
    cache = tmp_path / "cache"
    flags = ["--cache-dir", str(cache), "--no-index", "--find-links", str(wheels)]
    cachedb = str(Path(sys.executable).parent / "cachedb")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    # The cold install fills the cache. The environment's path was installed into before
    # (a venv made again where one was): its old installs are marked removed in the same
    # transaction.
    warm = tmp_path / "warm"
    for python in (make_venv(tmp_path / "cold"), make_venv(warm), make_venv(tmp_path / "other")):
        done = subprocess.run(
            [cachedb, "install", "-q", "--python", str(python), *flags, *pins],
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
    shutil.rmtree(warm)
    warm_python = make_venv(warm)
    work = tmp_path / "cwd"
    work.mkdir()
    log = tmp_path / "strace.log"
    done = subprocess.run(
        ["strace", "-f", "-y", "-qq", "-o", str(log), "--", cachedb, "install", "-q"]
        + ["--python", str(warm_python), *flags, *pins],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert (warm_python.parent / "app").exists()
    written = written_paths(log.read_text(), str(work))
    assert any(p.startswith(str(warm) + os.sep) for p in written)
    assert outside(written, [cache, warm]) == set()


def test_a_big_write_keeps_sqlite_temporary_files_out_of_tmp(tmp_path: Path) -> None:
    # One statement that changes many pages and may fail on a constraint needs a statement
    # journal; past 64 KiB SQLite spills it to a temporary file (in /var/tmp by default).
    script = (
        "import sys\n"
        "from cachedb.db.lite import LiteDatabase\n"
        "db = LiteDatabase(sys.argv[1])\n"
        "db.write(lambda run: run('CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT UNIQUE)'))\n"
        "def fill(run):\n"
        "    for i in range(5000):\n"
        "        run('INSERT INTO t (x) VALUES (?)', (f'row-{i}-' + 'z' * 50,))\n"
        "    run(\"UPDATE t SET x = x || 'a'\")\n"
        "db.write(fill)\n"
        "db.close()\n"
    )
    log = tmp_path / "strace.log"
    db_dir = tmp_path / "db"
    db_dir.mkdir()
    done = subprocess.run(
        ["strace", "-f", "-y", "-qq", "-o", str(log), "--", sys.executable, "-c", script]
        + [str(db_dir / "cache.sqlite3")],
        cwd=db_dir,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    written = written_paths(log.read_text(), str(db_dir))
    assert str(db_dir / "cache.sqlite3") in written
    assert [p for p in written if not p.startswith(str(db_dir) + os.sep)] == []


def test_reading_a_wheels_metadata_without_a_metadata_file_writes_only_in_the_cache(
    tmp_path: Path,
) -> None:
    # An index without PEP 658 files: compile downloads each wheel to read its METADATA.
    from indexserver import IndexServer

    wheels = tmp_path / "wheels"
    make_wheel(wheels, "app", "1.0", requires=["lib>=1"])
    make_wheel(wheels, "lib", "1.0")
    work = tmp_path / "cwd"
    work.mkdir()
    (work / "requirements.in").write_text("app\n")
    cache = tmp_path / "cache"
    cachedb = str(Path(sys.executable).parent / "cachedb")
    log = tmp_path / "strace.log"
    with IndexServer() as index:
        for wheel in sorted(wheels.iterdir()):
            index.add(wheel, metadata=False)
        done = subprocess.run(
            ["strace", "-f", "-y", "-qq", "-o", str(log), "--", cachedb, "compile", "-q"]
            + ["-i", index.url, "--cache-dir", str(cache), "requirements.in"],
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            cwd=work,
            capture_output=True,
            text=True,
        )
    assert done.returncode == 0, done.stderr
    assert "lib==1.0" in done.stdout
    written = written_paths(log.read_text(), str(work))
    assert outside(written, [cache]) == set()


@dataclass(frozen=True)
class World:
    """What the commands install from: an index with PEP 658 metadata files (and a newer
    lib, to upgrade to), one without, a find-links directory (wheels, sdists and the
    flit_core and setuptools they build with), the wheels `venv --seed` installs, a
    project directory and a git repository of one."""

    index: str
    bare_index: str
    links: Path
    seeds: Path
    project: Path
    repo: Path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("world")
    links = root / "links"
    wheels = [
        make_wheel(
            links,
            "app",
            "1.0",
            files={"app/__init__.py": "def main():\n    pass\n", "app/sub/x.py": ""},
            requires=["lib>=1"],
            entry_points={"console_scripts": {"app": "app:main"}},
        ),
        make_wheel(links, "lib", "1.0"),
    ]
    backend_wheel("flit_core", links)
    backend_wheel("setuptools", links)
    for backend in ("flit", "setuptools"):
        sdist_project = write_project(root / f"{backend}-src", f"sdemo-{backend}", backend=backend)
        make_sdist(sdist_project, links, f"sdemo-{backend}", "1.0")
    # Only the index has lib 2.0 (an upgrade); what `venv --seed` installs is elsewhere.
    newer = make_wheel(root / "newer", "lib", "2.0")
    seeds = root / "seeds"
    for name in ("pip", "setuptools", "wheel"):
        make_wheel(seeds, name, "99.0")
    project = write_project(root / "project", "localdemo", backend="flit")
    repo = write_project(root / "repo", "gitdemo", backend="flit")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    with ExitStack() as stack:
        index = stack.enter_context(IndexServer())
        bare = stack.enter_context(IndexServer())
        for wheel in wheels:
            index.add(wheel)
            bare.add(wheel, metadata=False)
        index.add(newer)
        yield World(index.url, bare.url, links, seeds, project, repo)


@dataclass
class Place:
    """One test's own directories: the cache, the environment, the working directory."""

    root: Path
    cache: Path
    venv: Path
    work: Path
    env: dict[str, str] = field(default_factory=dict)  # for the watched command

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def run(self, *args: str | Path) -> None:
        """Run a command unwatched, to make the state the watched one starts from."""
        done = cachedb(*args, env={"CACHEDB_CACHE_DIR": str(self.cache)}, cwd=self.work)
        assert done.returncode == 0, done.stderr


@dataclass(frozen=True)
class Case:
    """A command: ``prepare`` makes its state unwatched and returns its arguments and the
    paths its user names (where it may write)."""

    prepare: Callable[[World, Place], tuple[list[str], list[Path]]]
    slow: bool = False
    fails: bool = False  # bad input: a one-line error, and still nothing written outside


def _index_install(w: World, p: Place) -> list[str]:
    return ["install", "-q", "--python", str(p.python), "-i", w.index, "app"]


def _links_install(w: World, p: Place) -> list[str]:
    return ["install", "-q", "--python", str(p.python), "--no-index", "-f", str(w.links), "app"]


def _warm(install: Callable[[World, Place], list[str]]) -> Callable[[World, Place], list[str]]:
    def warm(w: World, p: Place) -> list[str]:
        other = Place(p.root, p.cache, p.root / "other", p.work)
        make_venv(other.venv)
        other.run(*install(w, other))
        return install(w, p)

    return warm


def _installed(w: World, p: Place) -> None:
    p.run(*_links_install(w, p))


def _named(
    args: Callable[[World, Place], list[str]], before: Callable[[World, Place], None] | None = None
) -> Callable[[World, Place], tuple[list[str], list[Path]]]:
    def prepare(w: World, p: Place) -> tuple[list[str], list[Path]]:
        if before is not None:
            before(w, p)
        return args(w, p), []

    return prepare


def _compile(w: World, p: Place) -> tuple[list[str], list[Path]]:
    (p.work / "requirements.in").write_text("app\n")
    out = p.work / "requirements.txt"
    return ["compile", "-q", "-i", w.bare_index, "requirements.in", "-o", str(out)], [out]


def _sync(w: World, p: Place) -> tuple[list[str], list[Path]]:
    (p.work / "requirements.txt").write_text("app==1.0\nlib==1.0\n")
    return ["sync", "-q", "--python", str(p.python), "-i", w.index, "requirements.txt"], []


def _venv(w: World, p: Place) -> tuple[list[str], list[Path]]:
    shutil.rmtree(p.venv)
    return ["venv", "-q", str(p.venv)], []


def _report(w: World, p: Place) -> tuple[list[str], list[Path]]:
    report = p.work / "report.json"
    return [*_links_install(w, p), "--report", str(report)], [report]


def _into(option: str) -> Callable[[World, Place], tuple[list[str], list[Path]]]:
    def prepare(w: World, p: Place) -> tuple[list[str], list[Path]]:
        # A directory that does not exist yet, in a directory of the user's.
        place = p.root / "place" / "target"
        (p.root / "place").mkdir()
        args = ["install", "-q", option, str(place), "--no-index", "-f", str(w.links), "app"]
        return args, [place]

    return prepare


def _new_venv(w: World, p: Place) -> tuple[list[str], list[Path]]:
    shutil.rmtree(p.venv)
    return ["install", "-q", "--venv", str(p.venv), "--no-index", "-f", str(w.links), "app"], []


def _seeded_venv(w: World, p: Place) -> tuple[list[str], list[Path]]:
    shutil.rmtree(p.venv)
    return ["venv", "-q", "--seed", "--no-index", "-f", str(w.seeds), str(p.venv)], []


def _tampered(w: World, p: Place) -> tuple[list[str], list[Path]]:
    # A hardlinked file edited in the environment alters the archive: verify quarantines
    # it and links the environment again to a clean copy.
    p.run(*_index_install(w, p), "--link-mode", "hardlink")
    (p.venv / "lib" / "python3.11" / "site-packages" / "app" / "sub" / "x.py").write_text("x\n")
    p.env["CACHEDB_INDEX_URL"] = w.index  # where the clean copy comes from
    return ["verify", "--check-contents", "--repair"], []


def _setuptools_tree(w: World, p: Place) -> tuple[list[str], list[Path]]:
    # Built in place, as pip and uv build a directory: setuptools writes build/ and
    # *.egg-info into the tree, which its user named.
    project = write_project(p.root / "tree", "treedemo", backend="setuptools")
    return [*_links_install(w, p)[:-1], str(project)], [project]


def _failing_build(w: World, p: Place) -> tuple[list[str], list[Path]]:
    project = write_project(p.root / "broken", "broken", backend="flit")
    shutil.rmtree(project / "broken")  # flit_core: no module to build
    return [*_links_install(w, p)[:-1], str(project)], []


def _wrong_hash(w: World, p: Place) -> tuple[list[str], list[Path]]:
    (p.work / "requirements.txt").write_text(f"lib==1.0 --hash=sha256:{'0' * 64}\n")
    return [*_index_install(w, p)[:-1], "-r", "requirements.txt"], []


def _hostile_record(w: World, p: Place) -> tuple[list[str], list[Path]]:
    # A distribution installed by hand whose RECORD names files outside the environment,
    # directly and through a link inside it.
    victim = p.root / "victim"
    victim.mkdir()
    (victim / "f").write_text("keep\n")
    site = p.venv / "lib" / "python3.11" / "site-packages"
    (site / "evil").mkdir()
    (site / "evil" / "linked").symlink_to(victim)
    info = site / "evil-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n")
    rows = ["evil/linked/f", "../../../../victim/f", str(victim / "f"), "evil-1.0.dist-info/RECORD"]
    (info / "RECORD").write_text("".join(f"{row},,\n" for row in rows))
    return ["uninstall", "--python", str(p.python), "evil"], []


def _wheel_of(w: World, name: str) -> Path:
    (wheel,) = w.links.glob(f"{name}-*.whl")
    return wheel


def _filled(args: list[str]) -> Callable[[World, Place], tuple[list[str], list[Path]]]:
    return _named(lambda w, p: args, _installed)


def _in_env(*args: str) -> Callable[[World, Place], tuple[list[str], list[Path]]]:
    return _named(lambda w, p: [args[0], "--python", str(p.python), *args[1:]], _installed)


# Python writes the bytecode of cachedb's own modules (and its libraries') where they are
# installed, as for any program: that is the tool's installation, not the user's files.
_TOOL = (os.path.dirname(os.path.dirname(cachedb_package.__file__)), sys.prefix)
# compileall -j starts a process pool: multiprocessing's POSIX semaphores appear under
# /dev/shm and are unlinked the moment they are made. Not files anything is kept in.
_SEMAPHORE = re.compile(r"^/dev/shm/sem\.[\w-]+$")


def _exempt(path: str) -> bool:
    in_tool = any(path.startswith(root + os.sep) for root in _TOOL)
    bytecode = f"{os.sep}__pycache__{os.sep}" in path or path.endswith(f"{os.sep}__pycache__")
    return (in_tool and bytecode) or bool(_SEMAPHORE.match(path))


def _replacing(path: str, named: Path) -> bool:
    sibling = re.escape(str(named.parent / f".{named.name}.")) + r"\d+\.[0-9a-f]{8}\.tmp"
    return re.fullmatch(sibling, path) is not None


CASES: dict[str, Case] = {
    "install-cold-index": Case(_named(_index_install)),
    "install-warm-index": Case(_named(_warm(_index_install))),
    "install-cold-index-without-metadata": Case(
        _named(lambda w, p: ["install", "-q", "--python", str(p.python), "-i", w.bare_index, "app"])
    ),
    "install-cold-find-links": Case(_named(_links_install)),
    "install-warm-find-links": Case(_named(_warm(_links_install))),
    "install-compile-bytecode": Case(
        _named(lambda w, p: [*_links_install(w, p), "--compile-bytecode"])
    ),
    "install-report": Case(_report),
    "install-dry-run": Case(_named(lambda w, p: [*_index_install(w, p), "--dry-run"])),
    "install-warm-offline": Case(_named(lambda w, p: [*_warm(_index_install)(w, p), "--offline"])),
    "install-warm-refresh": Case(_named(lambda w, p: [*_warm(_index_install)(w, p), "--refresh"])),
    "install-upgrade": Case(_named(lambda w, p: [*_index_install(w, p), "-U"], _installed)),
    "install-symlink-mode": Case(
        _named(lambda w, p: [*_links_install(w, p), "--link-mode", "symlink"])
    ),
    "install-copy-mode": Case(_named(lambda w, p: [*_links_install(w, p), "--link-mode", "copy"])),
    "install-new-venv": Case(_new_venv),
    "install-target": Case(_into("--target")),
    "install-prefix": Case(_into("--prefix")),
    "install-sdist-flit": Case(
        _named(lambda w, p: [*_links_install(w, p)[:-1], "sdemo-flit"]), slow=True
    ),
    "install-sdist-setuptools": Case(
        _named(lambda w, p: [*_links_install(w, p)[:-1], "sdemo-setuptools"]), slow=True
    ),
    "install-local-directory": Case(
        _named(lambda w, p: [*_links_install(w, p)[:-1], str(w.project)]), slow=True
    ),
    "install-local-directory-setuptools": Case(_setuptools_tree, slow=True),
    "install-editable": Case(
        _named(lambda w, p: [*_links_install(w, p)[:-1], "-e", str(w.project)]), slow=True
    ),
    "install-wheel-file": Case(
        _named(lambda w, p: [*_links_install(w, p)[:-1], str(_wheel_of(w, "app"))])
    ),
    "install-wheel-url": Case(
        _named(
            lambda w, p: [
                *_links_install(w, p)[:-1],
                f"app @ {w.index.rsplit('/simple', 1)[0]}/files/{_wheel_of(w, 'app').name}",
            ]
        )
    ),
    "install-git": Case(
        _named(lambda w, p: [*_links_install(w, p)[:-1], f"gitdemo @ git+{w.repo.as_uri()}"]),
        slow=True,
    ),
    "install-failing-build": Case(_failing_build, slow=True, fails=True),
    "install-wrong-hash": Case(_wrong_hash, fails=True),
    "install-no-such-version": Case(
        _named(lambda w, p: [*_index_install(w, p)[:-1], "app==9.9"]), fails=True
    ),
    "uninstall": Case(_in_env("uninstall", "app")),
    "uninstall-record-outside": Case(_hostile_record, fails=True),
    "sync": Case(_sync),
    "compile": Case(_compile),
    "venv": Case(_venv),
    "venv-seed": Case(_seeded_venv),
    "list": Case(_in_env("list")),
    "freeze": Case(_in_env("freeze")),
    "show": Case(_in_env("show", "-f", "app")),
    "tree": Case(_in_env("tree")),
    "check": Case(_in_env("check")),
    "config": Case(_filled(["config"])),
    "dir": Case(_filled(["dir"])),
    "info": Case(_filled(["info"])),
    "ls": Case(_filled(["ls"])),
    "sql": Case(_filled(["sql", "SELECT count(*) FROM archives"])),
    "gc": Case(_filled(["gc"])),
    "gc-max-size-0": Case(_filled(["gc", "--grace", "0s", "--max-size", "0"])),
    "clean": Case(_filled(["clean"])),
    "clean-one": Case(_filled(["clean", "lib"])),
    "verify-repair": Case(_filled(["verify", "--check-contents", "--repair"])),
    "verify-repair-tampered": Case(_tampered),
}


def _new_place(tmp_path: Path) -> Place:
    place = Place(tmp_path, tmp_path / "cache", tmp_path / "venv", tmp_path / "cwd")
    place.work.mkdir(parents=True)
    make_venv(place.venv)
    return place


def _writes_only_inside(
    place: Place, args: list[str], named: list[Path], *, fails: bool = False
) -> None:
    """Run ``cachedb *args`` watched; it must succeed (or fail with one line, if it
    ``fails``) and write nowhere else."""
    watched = watched_env(place.root / "watched")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CACHEDB_") and k not in ("VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE")
    }
    env.update(watched, CACHEDB_CACHE_DIR=str(place.cache), **place.env)
    log = place.root / "strace.log"
    done = strace_run([CACHEDB, *args], log, env=env, cwd=place.work)
    if fails:
        assert done.returncode != 0
        assert [line for line in done.stderr.splitlines() if line.startswith("error: ")]
        # Ours: no traceback (a failed build quotes its backend's, indented).
        assert not any(line.startswith("Traceback") for line in done.stderr.splitlines())
    else:
        assert done.returncode == 0, done.stderr
    written = written_paths(log.read_text(), str(place.work))
    left = {p for p in outside(written, [place.cache, place.venv, *named]) if not _exempt(p)}
    # A named file is replaced at once through a new sibling (cachedb._fdio.replace_file),
    # which must be gone afterwards.
    siblings = {p for p in left if any(_replacing(p, path) for path in named)}
    assert not any(os.path.lexists(p) for p in siblings)
    left -= siblings
    assert left == set()
    assert {k: sorted(os.listdir(v)) for k, v in watched.items()} == {k: [] for k in watched}


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=[pytest.mark.slow] if c.slow else []) for n, c in CASES.items()],
)
def test_a_command_writes_only_in_the_cache_the_environment_and_named_paths(
    name: str, world: World, tmp_path: Path
) -> None:
    place = _new_place(tmp_path)
    case = CASES[name]
    args, named = case.prepare(world, place)
    _writes_only_inside(place, args, named, fails=case.fails)


REMOTE_CASES = {
    "push": ["remote", "push", "-i", "{index}"],
    "pull": ["remote", "pull", "-i", "{index}", "--python", "{python}", "app"],
    # From an index without PEP 658 files: each wheel is read for its metadata.
    "pull-without-metadata": ["remote", "pull", "-i", "{bare}", "--python", "{python}", "app"],
    "ls": ["remote", "ls"],
    "gc": ["remote", "gc", "--max-age", "0s", "--grace", "0s"],
    "install-remote-push": ["install", "-q", "-i", "{index}", "--python", "{python}", "app"],
}


@pytest.mark.slow
@pytest.mark.parametrize("name", REMOTE_CASES)
def test_a_remote_command_writes_only_in_the_cache_and_the_environment(
    name: str, world: World, tmp_path: Path, s3_bucket: S3Bucket
) -> None:
    # Pushing from a filled cache; the rest against a bucket holding what another host
    # pushed (so pull, ls and gc have blobs).
    host_a = _new_place(tmp_path / "a")
    host_a.run(*_index_install(world, host_a))
    if name != "push":
        host_a.run("remote", "push", "--remote", s3_bucket.url, "-i", world.index)
    place = host_a if name == "push" else _new_place(tmp_path / "b")
    fields = {"index": world.index, "bare": world.bare_index, "python": str(place.python)}
    args = [arg.format(**fields) for arg in REMOTE_CASES[name]]
    _writes_only_inside(place, [*args, "--remote", s3_bucket.url], [])


def test_compile_never_writes_its_output_through_a_link_planted_beside_it(tmp_path: Path) -> None:
    # The output file is replaced at once through a sibling: one of a name that could be
    # guessed, opened as it was, wrote through a link planted at that name.
    from types import SimpleNamespace
    from typing import Any, cast

    from cachedb.lock._output import write_output

    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    work = tmp_path / "work"
    work.mkdir()
    out = work / "requirements.txt"
    for guess in (
        f".requirements.txt.cachedb-{os.getpid()}",
        f".requirements.txt.{os.getpid()}.tmp",
    ):
        (work / guess).symlink_to(victim)
    write_output(cast(Any, SimpleNamespace(output=str(out))), "lib==1.0\n")
    assert out.read_text() == "lib==1.0\n"
    assert victim.read_text() == "keep\n"
    assert sorted(p.name for p in work.iterdir() if not p.is_symlink()) == ["requirements.txt"]


def test_a_memo_is_never_written_through_a_link_planted_beside_it(tmp_path: Path) -> None:
    from cachedb._memo import read_memo, write_memo

    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    memos = tmp_path / "memos"
    memos.mkdir()
    (memos / f".m.json.{os.getpid()}.tmp").symlink_to(victim)
    write_memo(memos / "m.json", {"a": 1})
    assert read_memo(memos / "m.json") == {"a": 1}
    assert victim.read_text() == "keep\n"


@pytest.mark.parametrize("planted", ["pages", "metadata", "pages/*"])
def test_a_page_cache_folder_planted_as_a_link_is_never_followed(
    planted: str, world: World, tmp_path: Path
) -> None:
    # The cached index pages and metadata files (of a dry run: no wheel is cached, so the
    # install reads them) moved outside, and links to them left in their place: nothing
    # is read from, or written to, the outside copy.
    place = _new_place(tmp_path)
    place.run(*_index_install(world, place), "--dry-run")
    simple = place.cache / "simple-v0"
    away = tmp_path / "away"
    away.mkdir()
    for folder in sorted(simple.glob(planted)):
        moved = away / folder.relative_to(simple).as_posix().replace("/", "-")
        folder.rename(moved)
        folder.symlink_to(moved)
    before = {p: p.read_bytes() for p in away.rglob("*") if p.is_file()}
    assert before
    log = tmp_path / "strace.log"
    env = {**os.environ, "CACHEDB_CACHE_DIR": str(place.cache)}
    done = strace_run(
        [CACHEDB, *_index_install(world, place), "--refresh"], log, env=env, cwd=place.work
    )
    assert done.returncode == 0, done.stderr
    assert (place.venv / "bin" / "app").exists()
    assert str(away) not in log.read_text()  # -y shows where each descriptor leads
    assert {p: p.read_bytes() for p in away.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("planted", ["tree", "sentinel"])
def test_a_venv_template_planted_as_a_link_is_never_copied(
    planted: str, world: World, tmp_path: Path
) -> None:
    # The venv template of this host moved outside and a link to it left in its place
    # (the template's folder, or the tree inside it that venvs are copied from): a new venv
    # is not copied from outside the cache, and the outside copy is left as it was.
    place = _new_place(tmp_path)
    shutil.rmtree(place.venv)
    place.run("venv", "-q", str(tmp_path / "first"))
    (folder,) = place.cache.glob("interpreters-v0/*/venv-tree-*")
    if planted == "sentinel":
        (folder,) = (p for p in folder.iterdir() if p.is_dir())
    away = tmp_path / "away"
    folder.rename(away)
    folder.symlink_to(away)
    (marker,) = away.rglob("activate") if planted == "sentinel" else away.rglob("bin/activate")
    marker.write_text(marker.read_text() + "# planted\n")
    before = {p: p.read_bytes() for p in away.rglob("*") if p.is_file() and not p.is_symlink()}
    log = tmp_path / "strace.log"
    env = {**os.environ, "CACHEDB_CACHE_DIR": str(place.cache)}
    done = strace_run([CACHEDB, "venv", "-q", str(place.venv)], log, env=env, cwd=place.work)
    assert done.returncode == 0, done.stderr
    assert "# planted" not in (place.venv / "bin" / "activate").read_text()
    assert str(away) not in log.read_text()  # -y shows where each descriptor leads
    after = {p: p.read_bytes() for p in away.rglob("*") if p.is_file() and not p.is_symlink()}
    assert after == before


def test_remembered_answers_planted_as_links_are_never_read(world: World, tmp_path: Path) -> None:
    # What this host remembers (interpreter answers, venv records, nothing-to-do and
    # compile memos) moved outside, links to it left in its place: no command reads them.
    place = _new_place(tmp_path)
    (place.work / "requirements.in").write_text("app\n")
    compile_args = ["compile", "-q", "-i", world.index, "requirements.in"]
    commands = [
        _index_install(world, place),
        compile_args,
        ["install", "-q", "--venv", str(tmp_path / "new"), "-i", world.index, "app"],
    ]
    for args in commands[:2]:
        place.run(*args)
    time.sleep(2.2)  # statuses younger than two seconds are not remembered (_memo.SETTLED)
    for args in commands[:2]:
        place.run(*args)
    place.run("venv", "-q", str(tmp_path / "first"))
    away = tmp_path / "away"
    away.mkdir()
    host = next(place.cache.glob("interpreters-v0/*"))
    planted = [p for p in host.rglob("*") if p.is_file() and not p.is_symlink()]
    planted = [p for p in planted if "venv-tree-" not in str(p)]  # the templates: above
    assert len(planted) >= 4
    for i, memo in enumerate(planted):
        moved = away / f"{i}-{memo.name}"
        memo.rename(moved)
        memo.symlink_to(moved)
    before = {p: p.read_bytes() for p in away.iterdir()}
    env = {**os.environ, "CACHEDB_CACHE_DIR": str(place.cache)}
    for i, args in enumerate(commands):
        log = tmp_path / f"strace-{i}.log"
        done = strace_run([CACHEDB, *args], log, env=env, cwd=place.work)
        assert done.returncode == 0, done.stderr
        assert str(away) not in log.read_text(), args  # -y shows where each descriptor leads
    assert {p: p.read_bytes() for p in away.iterdir()} == before


@pytest.mark.parametrize(
    "planted", ["cachedb.sqlite3", "cachedb.sqlite3-wal", "cachedb.sqlite3-journal", "cachedb-id"]
)
def test_a_cache_file_planted_as_a_link_is_refused(
    planted: str, world: World, tmp_path: Path
) -> None:
    # The files a cache keeps at its root planted as links to a path outside that does not
    # exist yet: SQLite (or the id's writer) would create it there.
    place = _new_place(tmp_path)
    place.cache.mkdir()
    target = tmp_path / "outside" / planted
    target.parent.mkdir()
    (place.cache / planted).symlink_to(target)
    for args in (["info"], ["gc"], _index_install(world, place)):
        done = cachedb(*args, env={"CACHEDB_CACHE_DIR": str(place.cache)}, cwd=place.work)
        assert done.returncode == 1, done.stderr
        assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
        assert f"{planted} is a symbolic link" in done.stderr
        assert list(target.parent.iterdir()) == []


@pytest.mark.parametrize("planted", ["local-files", "local-files/*"])
def test_remembered_local_file_hashes_planted_as_links_are_never_read(
    planted: str, world: World, tmp_path: Path
) -> None:
    # The sha256 remembered for find-links wheels (simple-v0/local-files/) moved outside,
    # links to it left in its place: the next find-links install neither reads nor writes it.
    place = _new_place(tmp_path)
    other = Place(place.root, place.cache, place.root / "other", place.work)
    make_venv(other.venv)
    # A file's sha256 is remembered only once its status has settled (_memo.SETTLED).
    newest = max(p.stat().st_mtime for p in world.links.iterdir())
    time.sleep(max(0.0, newest + 2.2 - time.time()))
    other.run(*_links_install(world, other))
    simple = place.cache / "simple-v0"
    assert list(simple.glob("local-files/*"))
    away = tmp_path / "away"
    away.mkdir()
    for i, found in enumerate(sorted(simple.glob(planted))):
        moved = away / f"{i}-{found.name}"
        found.rename(moved)
        found.symlink_to(moved)
    before = {p: p.read_bytes() for p in away.rglob("*") if p.is_file()}
    log = tmp_path / "strace.log"
    env = {**os.environ, "CACHEDB_CACHE_DIR": str(place.cache)}
    done = strace_run([CACHEDB, *_links_install(world, place)], log, env=env, cwd=place.work)
    assert done.returncode == 0, done.stderr
    assert str(away) not in log.read_text()  # -y shows where each descriptor leads
    assert {p: p.read_bytes() for p in away.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("mode", ["hardlink", "copy", "clone", "hardlink-row-by-row"])
def test_an_archive_file_planted_as_a_link_is_never_followed(
    mode: str, world: World, tmp_path: Path
) -> None:
    # A file of a stored archive replaced by a link to a file outside the cache (archives
    # never hold links: wheels with link entries are refused): linking never opens the
    # outside file, nor gives it a second name in the environment.
    place = _new_place(tmp_path)
    other = Place(place.root, place.cache, place.root / "other", place.work)
    make_venv(other.venv)
    other.run(*_links_install(world, other))
    secret = tmp_path / "secret.py"
    secret.write_text("SECRET = 1\n")
    (planted,) = place.cache.glob("archive-v0/*/app/sub/x.py")
    planted.unlink()
    planted.symlink_to(secret)
    if mode == "hardlink-row-by-row":
        # A RECORD row csv reads differently takes the row-by-row path (link/plain.py).
        (record,) = place.cache.glob("archive-v0/*/app-1.0.dist-info/RECORD")
        record.write_text(record.read_text().replace("app/__init__.py", '"app/__init__.py"'))
    log = tmp_path / "strace.log"
    env = {**os.environ, "CACHEDB_CACHE_DIR": str(place.cache)}
    link_mode = mode.split("-")[0]
    args = [CACHEDB, *_links_install(world, place), "--link-mode", link_mode]
    done = strace_run(args, log, env=env, cwd=place.work)
    assert secret.stat().st_nlink == 1
    assert str(secret) not in log.read_text()  # -y shows where each descriptor leads
    installed = place.venv / "lib" / "python3.11" / "site-packages" / "app" / "sub" / "x.py"
    if done.returncode == 0:
        assert installed.is_symlink() or installed.read_text() != "SECRET = 1\n"
    else:
        assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr


@pytest.mark.parametrize("mode", ["hardlink", "copy", "clone", "hardlink-row-by-row"])
@pytest.mark.parametrize("folder", ["app/sub", "app", "app-1.0.dist-info"])
def test_an_archive_folder_planted_as_a_link_is_never_followed(
    folder: str, mode: str, world: World, tmp_path: Path
) -> None:
    # A folder of a stored archive replaced by a link to a copy of it outside the cache:
    # nothing below the link is read, linked or copied; the install stops with one line,
    # and nothing of app is in the environment (a failed link is undone per distribution).
    place = _new_place(tmp_path)
    other = Place(place.root, place.cache, place.root / "other", place.work)
    make_venv(other.venv)
    other.run(*_links_install(world, other))
    (archive,) = place.cache.glob("archive-v0/*/app-1.0.dist-info/..")
    archive = archive.resolve()
    if mode == "hardlink-row-by-row":
        # A RECORD row csv reads differently takes the row-by-row path (link/plain.py).
        record = archive / "app-1.0.dist-info" / "RECORD"
        record.write_text(record.read_text().replace("app/__init__.py", '"app/__init__.py"'))
    outside = tmp_path / "outside"
    (archive / folder).rename(outside)
    (archive / folder).symlink_to(outside)
    before = {p: (p.stat().st_nlink, p.read_bytes()) for p in outside.rglob("*") if p.is_file()}
    site = place.venv / "lib" / "python3.11" / "site-packages"
    log = tmp_path / "strace.log"
    env = {**os.environ, "CACHEDB_CACHE_DIR": str(place.cache)}
    link_mode = mode.split("-")[0]
    args = [CACHEDB, *_links_install(world, place), "--link-mode", link_mode]
    done = strace_run(args, log, env=env, cwd=place.work)
    assert str(outside) not in log.read_text()  # -y shows where each descriptor leads
    assert {p: (p.stat().st_nlink, p.read_bytes()) for p in outside.rglob("*") if p.is_file()} == (
        before
    )
    if done.returncode == 0:
        # Taken as a miss: what was installed came from the wheel, not from outside.
        assert (site / "app" / "sub" / "x.py").is_file()
    else:
        # (clone mode warns first that it falls back to hard links here)
        errors = [line for line in done.stderr.splitlines() if not line.startswith("warning: ")]
        assert len(errors) == 1 and errors[0].startswith("error: "), done.stderr
        assert "tampered" in done.stderr or ".dist-info" in done.stderr, done.stderr
        assert not (site / "app").exists() and not (site / "app-1.0.dist-info").exists()
        # What the error says to do mends it, still without touching the outside (its
        # exit is 1: the other environment cannot be re-linked, no sources are configured).
        repaired = cachedb("verify", "--check-contents", "--repair", env=env, cwd=place.work)
        assert "moved to quarantine" in repaired.stdout, repaired.stdout + repaired.stderr
        place.run(*_links_install(world, place), "--link-mode", link_mode)
        assert (site / "app" / "sub" / "x.py").is_file()
        assert not (archive / folder).is_symlink()  # stored again from the wheel
        after = {p: (p.stat().st_nlink, p.read_bytes()) for p in outside.rglob("*") if p.is_file()}
        assert after == before
