"""One writer per environment: concurrent installs into one venv take turns.

Real ``cachedb install`` processes race into one virtual environment, half
asking for ``conf==1.0`` and half for ``conf==2.0`` (each version with files
of its own). Whatever order they run in, the environment must end in one
consistent state: one ``conf`` dist-info, every file of the package from that
version (as its RECORD says), and ``pip check`` clean.
"""

from __future__ import annotations

import base64
import csv
import fcntl
import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cachestate import listing
from chaoskit import (
    VENV_BIN,
    assert_one_line_error,
    base_env,
    cli,
    command,
    make_venv,
)
from indexserver import IndexServer
from wheelbuilder import make_wheel

pytestmark = pytest.mark.skipif(os.name == "nt", reason="flock and POSIX venv layout")

FILES_PER_VERSION = 400


def _conf_files(version: str) -> dict[str, str]:
    tag = version.replace(".", "_")
    files = {"conf/__init__.py": f"VERSION = {version!r}\n"}
    for i in range(FILES_PER_VERSION):
        files[f"conf/v{tag}_{i}.py"] = f"X = {i}  # {version}\n"
    files["conf/shared.py"] = f"FROM = {version!r}\n"
    return files


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    wheels = tmp_path_factory.mktemp("wheels")
    with IndexServer() as server:
        server.add(make_wheel(wheels, "conf", "1.0", files=_conf_files("1.0")))
        server.add(make_wheel(wheels, "conf", "2.0", files=_conf_files("2.0"), requires=["helper"]))
        server.add(make_wheel(wheels, "helper", "1.0"))
        yield server


@pytest.fixture(scope="module")
def warm_cache(index: IndexServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache holding both versions, so each racing install is only a link step."""
    base = tmp_path_factory.mktemp("warm")
    for version in ("1.0", "2.0"):
        proc = cli(
            "install", "--cache-dir", base / "cache", "--index-url", index.url,
            "--venv", base / f"venv-{version}", f"conf=={version}",
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
    return base / "cache"


def _site_packages(venv: Path) -> Path:
    (site,) = (venv / "lib").glob("python*/site-packages")
    return site


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def assert_consistent(venv: Path) -> str:
    """One conf dist-info, every conf file from its version, pip check clean; its version."""
    site = _site_packages(venv)
    dist_infos = sorted(p.name for p in site.glob("conf-*.dist-info"))
    assert len(dist_infos) == 1, dist_infos
    dist_info = site / dist_infos[0]
    version = dist_infos[0][len("conf-") : -len(".dist-info")]
    with open(dist_info / "RECORD", newline="") as f:
        rows = {row[0]: row[1] for row in csv.reader(f) if row}
    for rel, digest in rows.items():
        if digest:
            data = (site / rel).read_bytes()
            assert _record_hash(data) == digest, f"{rel} is not the file of conf {version}"
    on_disk = {
        p.relative_to(site).as_posix()
        for p in (site / "conf").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    listed = {rel for rel in rows if rel.startswith("conf/")}
    assert on_disk == listed, sorted(on_disk ^ listed)[:5]
    assert (site / "conf" / "shared.py").read_text() == f"FROM = {version!r}\n"
    check = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / VENV_BIN / "python"),
         "--disable-pip-version-check", "check"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    return version


def _race(index: IndexServer, cache: Path, venv: Path, writers: int) -> list[str]:
    procs = []
    for i in range(writers):
        version = "1.0" if i % 2 == 0 else "2.0"
        procs.append(
            subprocess.Popen(
                command(
                    "install",
                    "--cache-dir",
                    cache,
                    "--index-url",
                    index.url,
                    "--venv",
                    venv,
                    "--link-mode",
                    "copy",
                    "-q",
                    f"conf=={version}",
                ),  # fmt: skip
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                env=base_env(),
            )
        )
    errors = []
    for proc in procs:
        _, err = proc.communicate(timeout=180)
        if proc.returncode != 0:
            errors.append(err)
    return errors


def _rounds(index: IndexServer, warm: Path, tmp: Path, rounds: int, writers: int) -> None:
    venv = make_venv(tmp / "venv")
    seen = set()
    for n in range(rounds):
        errors = _race(index, warm, venv, writers)
        assert errors == [], f"round {n}: {errors[0]}"
        seen.add(assert_consistent(venv))
    print(f"{rounds} rounds of {writers} writers, final versions seen: {sorted(seen)}")


def test_concurrent_installs_of_two_versions_leave_one_consistent_env(
    index: IndexServer, warm_cache: Path, tmp_path: Path
) -> None:
    _rounds(index, warm_cache, tmp_path, rounds=4, writers=6)


@pytest.mark.slow
def test_concurrent_installs_of_two_versions_many_rounds(
    index: IndexServer, warm_cache: Path, tmp_path: Path
) -> None:
    _rounds(index, warm_cache, tmp_path, rounds=12, writers=6)


def _hold(venv: Path) -> int:
    fd = os.open(venv / ".lock", os.O_RDWR | os.O_CREAT, 0o666)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def test_no_wait_fails_at_once_while_another_writer_holds_the_env(
    index: IndexServer, warm_cache: Path, tmp_path: Path
) -> None:
    venv = make_venv(tmp_path / "venv")
    fd = _hold(venv)
    try:
        before = listing(venv)
        for args, env in ((["--no-wait"], None), ([], {"CACHEDB_NO_WAIT": "1"})):
            proc = cli(
                "install", "--cache-dir", warm_cache, "--index-url", index.url,
                "--venv", venv, *args, "conf==1.0", env=env, timeout=60,
            )  # fmt: skip
            assert proc.returncode == 1
            assert_one_line_error(proc, str(venv), "another process")
            assert listing(venv) == before
        proc = cli("uninstall", "--venv", venv, "--cache-dir", warm_cache, "--no-wait", "conf")
        assert_one_line_error(proc, "another process")
    finally:
        os.close(fd)


def test_second_writer_waits_says_so_then_installs(
    index: IndexServer, warm_cache: Path, tmp_path: Path
) -> None:
    venv = make_venv(tmp_path / "venv")
    fd = _hold(venv)
    try:
        proc = subprocess.Popen(
            command(
                "install",
                "--cache-dir",
                warm_cache,
                "--index-url",
                index.url,
                "--venv",
                venv,
                "conf==1.0",
            ),  # fmt: skip
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=base_env(),
        )
        assert proc.stderr is not None
        # The message comes after about a second; the install cannot finish before we let go.
        first = proc.stderr.readline()
        assert "Waiting for another process" in first and str(venv) in first, first
        time.sleep(0.2)
        assert proc.poll() is None
    finally:
        os.close(fd)
    _, rest = proc.communicate(timeout=120)
    assert proc.returncode == 0, rest
    assert assert_consistent(venv) == "1.0"
