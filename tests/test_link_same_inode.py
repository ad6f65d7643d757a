"""Linking a file onto the very inode already there (a hardlink install over itself).

``rename(2)`` does nothing when both names are links to one file, so the
temporary name the new link was made under would stay in the environment.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from test_link import FULL, Env, archive, install, tree

from cachedb.link import uninstall

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path / "venv")


def test_relinking_onto_the_same_inode_leaves_no_temporary_files(tmp_path: Path, env: Env) -> None:
    before = tree(env.prefix)
    arc = archive(tmp_path, **FULL)
    install(env, arc, "hardlink")
    dist = install(env, arc, "hardlink")  # every file is already this inode
    assert (env.site / "foo/__init__.py").samefile(arc / "foo/__init__.py")
    assert [p for p in env.prefix.rglob("*cachedb-*")] == []  # no temp or backup names
    assert len(dist.files) == len(set(dist.files))
    uninstall("foo", env.scheme, env.prefix)
    headers_root = Path(env.scheme["headers"]).relative_to(env.prefix)
    kept = {str(headers_root), *(str(p) for p in headers_root.parents if p != Path("."))}
    assert tree(env.prefix) - kept == before - kept
