"""A remembered compile (lock/_memo.py) writes byte for byte what a compile without the
memo writes, on random worlds, after every change that may or may not invalidate it."""

from __future__ import annotations

import contextlib
import io
import os
import random
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from indexserver import IndexServer
from installtools import make_venv
from wheelbuilder import make_wheel

import cachedb.lock as lock
from cachedb import _memo
from cachedb.errors import CachedbError
from cachedb.install.options import InstallOptions
from cachedb.install.report import Reporter
from cachedb.lock import CompileOptions, _compile
from cachedb.lock import _memo as compile_memo

PROJECTS = ["alpha", "beta", "gamma", "delta", "eps"]  # each may require the later ones
VERSIONS = ["1.0", "1.5", "2.0"]
CHANGES = ["publish", "expire", "refetch", "input", "output", "option", "python", "python"]


class World:
    def __init__(self, rng: random.Random, root: Path, server: IndexServer) -> None:
        self.rng = rng
        self.root = root
        self.server = server
        self.versions: dict[str, list[str]] = {}
        for name in PROJECTS:
            for version in rng.sample(VERSIONS, rng.randint(1, 3)):
                self.publish(name, version)
        self.inputs = sorted(rng.sample(PROJECTS, rng.randint(1, 3)))
        self.python: str | None = None
        # To standard output half the time: then no existing pins hold the old answer.
        self.output = rng.choice(["requirements.txt", None])
        self.options = {
            "generate_hashes": rng.random() < 0.5,
            "annotate": rng.random() < 0.7,
            "resolution": rng.choice(["highest", "lowest", "lowest-direct"]),
            "python_version": rng.choice([None, None, "3.11", "3.12"]),
        }

    def publish(self, name: str, version: str) -> None:
        later = PROJECTS[PROJECTS.index(name) + 1 :]
        requires = []
        for dep in self.rng.sample(later, min(len(later), self.rng.randint(0, 2))):
            spec = self.rng.choice(["", ">=1.0", "<2.0", "!=1.5"])
            marker = self.rng.choice(["", "", "; python_version >= '3.12'"])
            requires.append(f"{dep}{spec}{marker}")
        wheel = make_wheel(self.root / "wheels", name, version, requires=requires)
        self.server.add(wheel)
        self.versions.setdefault(name, []).append(version)

    def publish_new(self, versions: list[str], names: list[str] = PROJECTS) -> None:
        name = self.rng.choice(names)
        fresh = [v for v in versions if v not in self.versions[name]]
        if fresh:
            self.publish(name, self.rng.choice(fresh))

    def write_inputs(self) -> None:
        path = self.root / "requirements.in"
        path.write_text("".join(f"{name}\n" for name in self.inputs))

    def options_now(self, **install_options: Any) -> CompileOptions:
        """The compile's options now; ``install_options``: more of its InstallOptions."""
        install = InstallOptions(
            index_url=self.server.url,
            cache_dir=self.root / "cache",
            python=self.python,
            **install_options,
        )
        return CompileOptions(
            install=install,
            sources=["requirements.in"],
            output=self.output,
            command=f"cachedb compile requirements.in -o {self.output}",
            **self.options,  # type: ignore[arg-type]
        )


def _run(compile_: Callable[[CompileOptions, Reporter], int], opts: CompileOptions) -> str:
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            compile_(opts, Reporter(-1))
    except CachedbError as exc:
        return f"error: {exc}"
    return printed.getvalue() if opts.output is None else Path(opts.output).read_text()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """The wall clock, moved forward by the test (pages age; nothing else does)."""
    offset = [0.0]
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + offset[0])
    yield offset


@pytest.fixture
def server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, index_server: IndexServer
) -> IndexServer:
    """An index whose pages stay fresh for ten minutes, with the test's directory as the
    working directory; memos are written at once (every file here is written just before
    use, so none would have settled)."""
    monkeypatch.setattr(_memo, "SETTLED", 0)
    monkeypatch.chdir(tmp_path)
    index_server.cache_control = "max-age=600"
    return index_server


def _compare(world: World, monkeypatch: pytest.MonkeyPatch, hits: list[bool]) -> None:
    """The compile (memo allowed) and, from the same output file, one without the memo."""
    out = Path("requirements.txt")
    before = out.read_bytes() if out.exists() else None
    opts = world.options_now()
    remembered = _run(lock.run_compile, opts)
    if before is None:
        out.unlink(missing_ok=True)
    else:
        out.write_bytes(before)
    with monkeypatch.context() as patch:
        patch.setattr(compile_memo, "may_remember", lambda opts: False)
        full = _run(_compile.run_compile, opts)
    assert remembered == full, (hits[-1:], world.options, world.inputs)


@pytest.mark.parametrize("seed", range(12))
def test_a_remembered_compile_writes_what_a_full_one_writes(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    server: IndexServer,
    clock: list[float],
    seed: int,
) -> None:
    rng = random.Random(seed)
    hits: list[bool] = []
    real_replay = compile_memo.replay

    def replay(opts: CompileOptions, reporter: Reporter) -> int | None:
        done = real_replay(opts, reporter)
        hits.append(done is not None)
        return done

    monkeypatch.setattr(compile_memo, "replay", replay)
    world = World(rng, tmp_path, server)
    world.write_inputs()
    venv = make_venv(tmp_path / "venv") if seed % 2 else None
    for change in [*rng.sample(CHANGES, len(CHANGES)), "none"]:
        if change == "publish":  # pages still fresh: the new release stays unseen
            world.publish_new(["2.5", "3.0", "3.1"])
        elif change == "expire":  # a release, then every page outlives its max-age
            world.publish_new(["5.0"], world.inputs)
            clock[0] += 700
        elif change == "refetch":  # another run revalidates every page it reads
            world.publish_new(["4.0", "4.1"])
            scratch = world.options_now(refresh=True)._replace(output="other.txt")
            _run(_compile.run_compile, scratch)
        elif change == "input":
            world.inputs = sorted(rng.sample(PROJECTS, rng.randint(1, 3)))
            world.write_inputs()
        elif change == "output":
            _edit_output(rng, world)
        elif change == "option":
            key = rng.choice(["generate_hashes", "annotate"])
            world.options[key] = not world.options[key]
        elif change == "python":  # another --python, or another Python at its path
            if world.python is not None:
                _another_python(tmp_path / "venv", world)
            world.python = None if venv is None else str(venv)
            world.options["python_version"] = None
        for _ in range(3):
            _compare(world, monkeypatch, hits)
        if not _failed(world):
            # Unchanged twice over: the third compile is answered from the memo.
            assert hits[-1], change
    assert sum(hits) >= 2


def _another_python(venv: Path, world: World) -> None:
    """The venv made again at the same path, with the Python it does not have now."""
    now = (venv / "pyvenv.cfg").read_text()
    version = "3.11" if "version = 3.12" in now or "version_info = 3.12" in now else "3.12"
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = next((str(p) for p in sorted(root.glob(f"{version}.*/bin/python{version}"))), None)
    if found is None:
        pytest.skip(f"no python{version}")
    shutil.rmtree(venv)
    subprocess.run([found, "-m", "venv", "--without-pip", str(venv)], check=True)
    world.options["python_version"] = None


def _failed(world: World) -> bool:
    return _run(_compile.run_compile, world.options_now()._replace(output="probe.txt")).startswith(
        "error"
    )


def _edit_output(rng: random.Random, world: World) -> None:
    """Move one pin of the output file to another published version (a preference)."""
    out = Path("requirements.txt")
    if not out.exists():
        return
    lines = out.read_text().splitlines(keepends=True)
    pins = [i for i, line in enumerate(lines) if "==" in line and not line.startswith(" ")]
    if not pins:
        return
    i = rng.choice(pins)
    name, rest = lines[i].split("==", 1)
    version = rest.split(" ")[0].strip()
    lines[i] = lines[i].replace(f"=={version}", f"=={rng.choice(world.versions[name])}", 1)
    out.write_text("".join(lines))


def test_a_page_another_run_fetched_again_is_not_taken_for_the_remembered_one(
    tmp_path: Path, server: IndexServer
) -> None:
    """Fresh pages, but rewritten by another run (``--refresh``) after a release: the memo
    checks each page file it rests on, not only the clock."""
    world = World(random.Random(7), tmp_path, server)
    world.inputs = ["alpha"]
    world.options["resolution"] = "highest"
    world.write_inputs()
    opts = world.options_now()
    for _ in range(3):
        _run(lock.run_compile, opts)
    Path("requirements.txt").unlink()  # no preference
    for _ in range(3):
        _run(lock.run_compile, opts)
    world.publish("alpha", "9.0")
    scratch = world.options_now(refresh=True)._replace(output="other.txt")
    assert "alpha==9.0" in _run(_compile.run_compile, scratch)
    Path("requirements.txt").unlink()
    assert "alpha==9.0" in _run(lock.run_compile, opts)


def test_another_python_at_the_same_path_is_not_taken_for_the_remembered_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: IndexServer
) -> None:
    """``--python`` names the same path, but the interpreter there is another one."""
    world = World(random.Random(3), tmp_path, server)
    server.add(make_wheel(tmp_path / "wheels", "zeta", "1.0"))
    server.add(
        make_wheel(tmp_path / "wheels", "app", "1.0", requires=["zeta; python_version>='3.12'"])
    )
    world.inputs = ["app"]
    world.options.update(python_version=None, resolution="highest")
    world.output = None
    world.write_inputs()
    venv = make_venv(tmp_path / "venv")
    world.python = str(venv)
    _another_python(tmp_path / "venv", world)  # a known version: 3.11 or 3.12
    before = [_run(lock.run_compile, world.options_now()) for _ in range(3)]
    _another_python(tmp_path / "venv", world)
    after = _run(lock.run_compile, world.options_now())
    with monkeypatch.context() as patch:
        patch.setattr(compile_memo, "may_remember", lambda opts: False)
        assert after == _run(_compile.run_compile, world.options_now())
    assert ("zeta==" in before[-1]) != ("zeta==" in after)


def test_another_index_named_by_the_variable_is_not_taken_for_the_remembered_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: IndexServer
) -> None:
    """No ``--index-url``: the index is ``CACHEDB_INDEX_URL``'s, and part of the request."""
    with IndexServer() as other:
        other.cache_control = server.cache_control
        for index, version in ((server, "1.0"), (other, "7.0")):
            index.add(make_wheel(tmp_path / f"wheels-{version}", "alpha", version))
        Path("requirements.in").write_text("alpha\n")
        opts = CompileOptions(
            install=InstallOptions(cache_dir=tmp_path / "cache"),
            sources=["requirements.in"],
        )
        monkeypatch.setenv("CACHEDB_INDEX_URL", server.url)
        before = [_run(lock.run_compile, opts) for _ in range(3)]
        monkeypatch.setenv("CACHEDB_INDEX_URL", other.url)
        after = _run(lock.run_compile, opts)
    assert "alpha==1.0" in before[-1]
    assert "alpha==7.0" in after


@pytest.mark.parametrize(
    "case",
    ["upgrade", "upgrade-package", "refresh", "find-links", "include", "variable", "pylock"],
)
def test_what_a_memo_cannot_prove_is_never_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: IndexServer, case: str
) -> None:
    world = World(random.Random(5), tmp_path, server)
    world.inputs = ["alpha"]
    world.write_inputs()
    opts = world.options_now()
    if case == "upgrade":
        opts = world.options_now(upgrade=True)
    elif case == "upgrade-package":
        opts = opts._replace(upgrade_packages=["alpha"])
    elif case == "refresh":
        opts = world.options_now(refresh=True)
    elif case == "find-links":
        (tmp_path / "links").mkdir()
        opts = world.options_now(find_links=[str(tmp_path / "links")])
    elif case == "include":
        Path("more.in").write_text("beta\n")
        Path("requirements.in").write_text("alpha\n-r more.in\n")
    elif case == "variable":
        monkeypatch.setenv("WHICH", "alpha")
        Path("requirements.in").write_text("${WHICH}\n")
    elif case == "pylock":
        opts = opts._replace(output="pylock.toml", format=None)
    for _ in range(3):
        assert not _run(lock.run_compile, opts).startswith("error")
    assert list((tmp_path / "cache").glob("interpreters-v0/*/compile-*")) == []


def test_a_compile_that_prepared_an_sdists_metadata_is_not_remembered(
    tmp_path: Path, server: IndexServer
) -> None:
    """A build's answer rests on its backend and build environment: not kept."""
    from buildtools import backend_wheel, make_sdist, write_project

    server.add(backend_wheel("flit_core", tmp_path / "backends"))
    project = write_project(tmp_path / "src", "sdonly", "1.0", backend="flit_core")
    server.add(make_sdist(project, tmp_path / "dist", "sdonly", "1.0"))
    Path("requirements.in").write_text("sdonly\n")
    opts = CompileOptions(
        install=InstallOptions(index_url=server.url, cache_dir=tmp_path / "cache"),
        sources=["requirements.in"],
        output="requirements.txt",
    )
    for _ in range(3):
        assert "sdonly==1.0" in _run(lock.run_compile, opts)
    assert list((tmp_path / "cache").glob("interpreters-v0/*/compile-*")) == []
