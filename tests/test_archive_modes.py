"""Archives are readable by everyone, as uv's are: directories 0755, files 0644, 0755 where
the wheel marks them executable, whatever the umask of the process that unpacked them.
So a symlink-mode environment made by one user works for another."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from indexserver import IndexServer
from wheelbuilder import make_wheel

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")

FILES = {
    "demo/__init__.py": "V = 1\n",
    "demo/sub/deep/mod.py": "X = 1\n",
    "demo-1.0.data/scripts/tool": "#!/bin/sh\necho tool\n",
}


def _modes(root: Path) -> dict[str, int]:
    out = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        out[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return out


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_archive_modes_do_not_depend_on_the_umask(
    tmp_path: Path, index_server: IndexServer, umask: int
) -> None:
    index_server.add(
        make_wheel(tmp_path / "wheels", "demo", "1.0", files=FILES, executable=[*FILES][-1:])
    )
    cache, venv = tmp_path / "cache", tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CACHEDB_")}
    command = [sys.executable, "-m", "cachedb", "install", "--cache-dir", str(cache)]
    command += ["--index-url", index_server.url, "--venv", str(venv), "--link-mode", "symlink"]
    proc = subprocess.run(
        [*command, "demo"],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        preexec_fn=lambda: os.umask(umask),  # noqa: PLW1509 - only sets the child's umask
    )
    assert proc.returncode == 0, proc.stderr
    (archive,) = (cache / "archive-v0").iterdir()
    modes = _modes(archive)
    executable = {"demo-1.0.data/scripts/tool"}
    for rel, mode in modes.items():
        if (archive / rel).is_dir():
            assert mode == 0o755, (rel, oct(mode))
        else:
            assert mode == (0o755 if rel in executable else 0o644), (rel, oct(mode))
