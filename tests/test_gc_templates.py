"""gc removes stale venv templates (gc/templates.py): the trees ``cachedb venv`` copies new
venvs from, once their base interpreter is gone or their record is unreadable, and the
leftovers of a killed maker; never a template still usable, nor anything through a link."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from installtools import cachedb

from cachedb.store.layout import Layout


def _gc(cache: Path, *args: str) -> dict[str, object]:
    done = cachedb("gc", "--cache-dir", cache, "--json", *args)
    assert done.returncode == 0, done.stderr
    report: dict[str, object] = json.loads(done.stdout)
    return report


def _base(where: Path) -> Path:
    """A base interpreter at a path of the test's own (a link to the real executable)."""
    exe = where / "bin" / "python3"
    exe.parent.mkdir(parents=True)
    exe.symlink_to(os.path.realpath(sys.executable))
    return exe


def _venv(cache: Path, base: Path, path: Path) -> None:
    done = cachedb("venv", "--python", base, "--cache-dir", cache, path)
    assert done.returncode == 0, done.stderr
    assert (path / "pyvenv.cfg").is_file()


def _templates(cache: Path) -> list[Path]:
    return sorted(Layout(cache).interpreters.glob("venv-tree-*"))


def test_a_template_of_a_gone_interpreter_is_removed_a_usable_one_stays(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    gone, kept = _base(tmp_path / "gone"), _base(tmp_path / "kept")
    _venv(cache, gone, tmp_path / "v1")
    _venv(cache, kept, tmp_path / "v2")
    first, second = _templates(cache)
    assert _gc(cache)["templates"] == []  # both interpreters are there
    gone.unlink()
    stale = [
        p for p in (first, second) if (p / "template.rec").read_bytes().find(os.fsencode(gone)) >= 0
    ]
    assert len(stale) == 1
    rel = stale[0].relative_to(cache).as_posix()
    assert _gc(cache, "--dry-run")["templates"] == [rel]
    assert stale[0].is_dir()  # a dry run changes nothing
    done = cachedb("gc", "--cache-dir", cache)
    assert done.returncode == 0, done.stderr
    assert ", 1 stale venv template in " in done.stdout
    assert _templates(cache) == [p for p in (first, second) if p != stale[0]]
    # The template left still serves, and the venvs made from either are untouched.
    _venv(cache, kept, tmp_path / "v3")
    assert (tmp_path / "v1" / "pyvenv.cfg").is_file()


def test_damaged_templates_and_old_leftovers_go_links_stay(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    base = _base(tmp_path / "base")
    _venv(cache, base, tmp_path / "v1")
    (template,) = _templates(cache)
    here = template.parent
    damaged = here / ("venv-tree-" + "0" * 32 + "-plain")
    (damaged / "bin").mkdir(parents=True)  # no record: no venv can be copied from it
    old = time.time() - 2 * 3600
    leftover = here / f".{template.name}.4242.0badcafe.tmp"
    (leftover / "bin").mkdir(parents=True)
    os.utime(leftover, (old, old))
    young = here / f".{template.name}.4243.old"  # a maker at work
    young.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("mine")
    os.utime(outside, (old, old))
    (here / ("venv-tree-" + "1" * 32 + "-plain")).symlink_to(outside)
    (here / f".{template.name}.4244.old").symlink_to(outside)
    assert sorted(_gc(cache)["templates"]) == sorted(  # type: ignore[arg-type]
        [p.relative_to(cache).as_posix() for p in (damaged, leftover)]
    )
    assert not damaged.exists() and not leftover.exists()
    assert template.is_dir() and young.is_dir()
    assert (outside / "keep").read_text() == "mine"
    _venv(cache, base, tmp_path / "v2")  # the template still serves
