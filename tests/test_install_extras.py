"""``install`` options users bring from pip and uv: --dry-run, --report, --compile-bytecode,
--reinstall(-package), --exact, --target, --prefix, and --user (refused)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from installtools import cachedb, make_venv, pip, tree
from wheelbuilder import make_wheel


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("wheels")
    make_wheel(d, "App", "1.0", requires=["lib-a>=1", "shared"])
    make_wheel(d, "App", "2.0", requires=["lib-a>=1", "shared"])
    make_wheel(d, "lib_a", "1.5", requires=["shared==2.0"])
    make_wheel(
        d, "shared", "2.0", files={"shared/__init__.py": "X = 1\n", "shared/sub.py": "Y=2\n"}
    )
    make_wheel(d, "other", "1.0")
    make_wheel(
        d,
        "tool",
        "1.0",
        files={"tool/__init__.py": "def main():\n    print('tool ran')\n"},
        entry_points={"console_scripts": {"tool": "tool:main"}},
        extras=["fancy"],
        requires=['other; extra == "fancy"'],
    )
    return d


def install(cache: Path, wheels: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return cachedb("install", "--cache-dir", cache, "--no-index", "-f", wheels, *args)


def ok(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 0, out.stderr
    return out.stderr


def site(venv: Path) -> Path:
    return next((venv / "lib").glob("python3.*/site-packages"))


def rows(cache: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(cache / "cachedb.sqlite3")
    try:
        envs = conn.execute("SELECT * FROM environments ORDER BY id").fetchall()
        installs = conn.execute("SELECT * FROM installs ORDER BY id").fetchall()
    finally:
        conn.close()
    return [*envs, *installs]


# --- --user ------------------------------------------------------------------------


def test_user_is_refused_with_one_line(tmp_path: Path, wheels: Path) -> None:
    venv = tmp_path / "v"
    make_venv(venv)
    before = tree(venv)
    out = install(tmp_path / "c", wheels, "--python", venv / "bin" / "python", "--user", "App")
    assert out.returncode == 2
    assert out.stderr.startswith("error: --user is not supported")
    assert len(out.stderr.strip().splitlines()) == 1
    assert tree(venv) == before


# --- --dry-run ---------------------------------------------------------------------


def test_dry_run_changes_neither_the_venv_nor_the_environment_records(
    tmp_path: Path, wheels: Path
) -> None:
    cache, venv = tmp_path / "c", tmp_path / "v"
    ok(install(cache, wheels, "--venv", venv, "App==1.0", "other"))
    before, recorded = tree(venv), rows(cache)
    stat_before = {p: os.lstat(p).st_mtime_ns for p in venv.rglob("*")}
    err = ok(install(cache, wheels, "--venv", venv, "--dry-run", "--exact", "App==2.0"))
    assert "Would uninstall 1 package" in err
    assert "Would install 1 package" in err
    assert " - app==1.0" in err and " + app==2.0" in err and " - other==1.0" in err
    assert tree(venv) == before
    assert {p: os.lstat(p).st_mtime_ns for p in venv.rglob("*")} == stat_before
    assert rows(cache) == recorded
    assert "App==1.0" in pip(venv, "freeze", "--all").stdout


def test_dry_run_creates_no_venv(tmp_path: Path, wheels: Path) -> None:
    venv = tmp_path / "new"
    err = ok(install(tmp_path / "c", wheels, "--venv", venv, "--dry-run", "App"))
    assert " + app==2.0" in err and " + shared==2.0" in err
    assert not venv.exists()


def test_dry_run_of_what_is_installed_makes_no_changes(tmp_path: Path, wheels: Path) -> None:
    cache, venv = tmp_path / "c", tmp_path / "v"
    ok(install(cache, wheels, "--venv", venv, "shared"))
    assert "Would make no changes" in ok(
        install(cache, wheels, "--venv", venv, "--dry-run", "shared")
    )


# --- --report ----------------------------------------------------------------------


def _comparable(report: dict[str, object]) -> list[tuple[object, ...]]:
    entries = report["install"]
    assert isinstance(entries, list)
    return sorted(
        (
            e["metadata"]["name"],
            e["metadata"]["version"],
            e["requested"],
            e.get("requested_extras"),
            e["is_direct"],
            e["is_yanked"],
            json.dumps(e["metadata"], sort_keys=True),
        )
        for e in entries
    )


@pytest.mark.parametrize("dry_run", [True, False])
def test_report_matches_pips_installation_report(
    tmp_path: Path, wheels: Path, dry_run: bool
) -> None:
    venv = tmp_path / "v"
    make_venv(venv)
    python = venv / "bin" / "python"
    flags = ["--dry-run"] if dry_run else []
    out = install(tmp_path / "c", wheels, "--python", python, *flags, "--report", "-", "App==1.0",
                  "tool[fancy]")  # fmt: skip
    ok(out)
    ours = json.loads(out.stdout)  # nothing but the report on stdout
    theirs_out = pip(
        venv, "install", "--dry-run", "--ignore-installed", "--no-index", "-f", str(wheels),
        "--quiet", "--report", "-", "App==1.0", "tool[fancy]",
    )  # fmt: skip
    assert theirs_out.returncode == 0, theirs_out.stderr
    theirs = json.loads(theirs_out.stdout)
    assert ours["version"] == theirs["version"] == "1"
    assert ours["environment"] == theirs["environment"]
    assert _comparable(ours) == _comparable(theirs)
    urls = {e["metadata"]["name"]: e["download_info"]["url"] for e in theirs["install"]}
    assert {e["metadata"]["name"]: e["download_info"]["url"] for e in ours["install"]} == urls


def test_report_from_a_warm_cache_names_the_offered_file(tmp_path: Path, wheels: Path) -> None:
    cache = tmp_path / "c"
    ok(install(cache, wheels, "--venv", tmp_path / "v1", "shared"))
    out = install(cache, wheels, "--venv", tmp_path / "v2", "--report", "-", "shared")
    (item,) = json.loads(ok(out) and out.stdout)["install"]
    sha = next(p.name for p in (cache / "archive-v0").iterdir())
    assert item["download_info"] == {
        "url": (wheels / "shared-2.0-py3-none-any.whl").as_uri(),
        "archive_info": {"hashes": {"sha256": sha}, "hash": f"sha256={sha}"},
    }


def test_report_to_a_file(tmp_path: Path, wheels: Path) -> None:
    venv = tmp_path / "v"
    report = tmp_path / "report.json"
    ok(install(tmp_path / "c", wheels, "--venv", venv, "--report", report, "shared"))
    data = json.loads(report.read_text())
    assert [e["metadata"]["name"] for e in data["install"]] == ["shared"]
    assert data["install"][0]["requested"] is True


# --- --compile-bytecode -------------------------------------------------------------


def test_compiled_bytecode_is_what_compileall_would_write(tmp_path: Path, wheels: Path) -> None:
    venv = tmp_path / "v"
    env = {"CACHEDB_COMPILE_BYTECODE": "1"}
    out = cachedb("install", "--cache-dir", tmp_path / "c", "--no-index", "-f", wheels,
                  "--venv", venv, "App", env=env)  # fmt: skip
    assert "Bytecode compiled" in ok(out)
    packages = site(venv)
    sources = sorted(packages.rglob("*.py"))
    assert {p.name for p in sources} >= {"__init__.py", "sub.py"}
    pycs = sorted(packages.rglob("*.pyc"))
    tag = f"cpython-{sys.version_info.major}{sys.version_info.minor}"
    for source in sources:
        assert (source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc").is_file(), source
    before = {p: (p.read_bytes(), os.stat(p).st_mtime_ns) for p in pycs}
    ran = subprocess.run([str(venv / "bin" / "python"), "-m", "compileall", "-q", str(packages)],
                         capture_output=True, text=True)  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert sorted(packages.rglob("*.pyc")) == pycs
    assert {p: (p.read_bytes(), os.stat(p).st_mtime_ns) for p in pycs} == before


# --- --reinstall / --reinstall-package ----------------------------------------------


def test_reinstall_package_relinks_only_that_package(tmp_path: Path, wheels: Path) -> None:
    cache, venv = tmp_path / "c", tmp_path / "v"
    ok(install(cache, wheels, "--venv", venv, "App==1.0"))
    packages = site(venv)
    (packages / "shared" / "sub.py").unlink()
    (packages / "lib_a" / "__init__.py").unlink()
    assert "Audited" in ok(install(cache, wheels, "--venv", venv, "App==1.0"))
    assert not (packages / "shared" / "sub.py").exists()
    err = ok(install(cache, wheels, "--venv", venv, "App==1.0", "--reinstall-package", "Shared"))
    assert " + shared==2.0" in err and "lib-a" not in err
    assert (packages / "shared" / "sub.py").read_text() == "Y=2\n"
    assert not (packages / "lib_a" / "__init__.py").exists()
    err = ok(install(cache, wheels, "--venv", venv, "App==1.0", "--reinstall"))
    assert " + lib-a==1.5" in err and " + app==1.0" in err
    assert (packages / "lib_a" / "__init__.py").exists()
    assert pip(venv, "check").returncode == 0


# --- --exact ------------------------------------------------------------------------


def test_exact_removes_what_was_not_asked_for(tmp_path: Path, wheels: Path) -> None:
    cache, venv = tmp_path / "c", tmp_path / "v"
    ok(install(cache, wheels, "--venv", venv, "App==1.0", "other"))
    err = ok(install(cache, wheels, "--venv", venv, "--exact", "lib-a"))
    assert " - app==1.0" in err and " - other==1.0" in err
    assert pip(venv, "freeze", "--all").stdout.splitlines() == ["lib_a==1.5", "shared==2.0"]
    listed = json.loads(cachedb("list", "--venv", venv, "--cache-dir", cache, "--json").stdout)
    assert sorted(r["name"] for r in listed) == ["lib-a", "shared"]


# --- --target and --prefix ----------------------------------------------------------


def relative_files(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.mark.parametrize("option", ["--target", "--prefix"])
def test_target_and_prefix_lay_out_files_as_pip_does(
    tmp_path: Path, wheels: Path, option: str
) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    ok(install(tmp_path / "c", wheels, "--python", sys.executable, option, ours, "App", "tool"))
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-compile",
         "--no-index", "-f", str(wheels), option, str(theirs), "App", "tool"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert relative_files(ours) == relative_files(theirs)
    lib = ours if option == "--target" else next((ours / "lib").glob("python3.*/site-packages"))
    env = {**os.environ, "PYTHONPATH": str(lib)}
    ran = subprocess.run([str(ours / "bin" / "tool")], capture_output=True, text=True, env=env)
    assert ran.stdout == "tool ran\n", ran.stderr


def test_target_with_prefix_or_venv_is_refused(tmp_path: Path, wheels: Path) -> None:
    for args in (
        ["--target", tmp_path / "t", "--prefix", tmp_path / "p"],
        ["--target", tmp_path / "t", "--venv", tmp_path / "v"],
        ["--target", tmp_path / "t", "--link-mode", "symlink"],
    ):
        out = install(tmp_path / "c", wheels, *args, "shared")
        assert out.returncode == 2, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1
    assert not any((tmp_path / n).exists() for n in ("t", "p", "v"))
