"""``cachedb venv``: the environment equals what ``python -m venv`` makes, and it works."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest
from indexserver import IndexServer
from installtools import cachedb, tree
from wheelbuilder import make_wheel

from cachedb.store.layout import Layout
from cachedb.target import venv_template
from cachedb.target.pythons import find_python, parse_request
from cachedb.target.venv import run_stdlib_venv

PYENV_VERSIONS = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"


def pyenv_python(minor: str) -> str:
    found = sorted(PYENV_VERSIONS.glob(f"{minor}.*/bin/python{minor}"))
    if not found:
        pytest.skip(f"no pyenv Python {minor} under {PYENV_VERSIONS}")
    return str(found[-1])


PYTHONS = [pytest.param("3.11", id="py311"), pytest.param("3.13", id="py313")]


def stdlib_tree(base: str, path: Path, prompt: str | None) -> dict[str, str]:
    """What ``base -m venv --without-pip`` makes at ``path`` (removed again afterwards)."""
    run_stdlib_venv(base, path, prompt=prompt)
    made = tree(path)
    shutil.rmtree(path)
    return made


@pytest.mark.parametrize("minor", PYTHONS)
@pytest.mark.parametrize("prompt", [None, "my-env"])
def test_a_venv_from_the_template_equals_the_stdlibs(
    tmp_path: Path, minor: str, prompt: str | None
) -> None:
    base = pyenv_python(minor)
    templates = tmp_path / "cache" / "interpreters-v0"
    target = tmp_path / "projects" / "env"
    expected = stdlib_tree(base, target, prompt)
    for _ in range(2):  # the first copy makes the template, the second only copies it
        assert venv_template.copy_template(templates, base, target, prompt)
        assert tree(target) == expected
        shutil.rmtree(target)
    assert any(templates.glob("venv-tree-*"))


def test_a_path_the_stdlib_would_quote_is_made_by_the_stdlib(tmp_path: Path) -> None:
    base = pyenv_python("3.11")
    target = tmp_path / "with space"
    assert not venv_template.copy_template(tmp_path / "t", base, target, None)
    assert not target.exists()
    code = cachedb("venv", target, "--python", base, "--cache-dir", tmp_path / "cache")
    assert code.returncode == 0, code.stderr
    made = tree(target)
    shutil.rmtree(target)
    assert made == stdlib_tree(base, target, None)


def activated(env: Path, command: str) -> list[str]:
    script = f'. "{env}/bin/activate" && {command}'
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


@pytest.mark.parametrize("minor", PYTHONS)
def test_the_venv_works_and_activates_with_its_prompt(tmp_path: Path, minor: str) -> None:
    base = pyenv_python(minor)
    cache = tmp_path / "cache"
    for name, prompt in [("plain", None), ("prompted", "proj")]:
        env = tmp_path / name
        # 3.13 by version (only pyenv has it here), 3.11 by path (the system has one too).
        args = ["venv", env, "--python", minor if minor == "3.13" else base, "--cache-dir", cache]
        out = cachedb(*args, *(["--prompt", prompt] if prompt else []))
        assert out.returncode == 0, out.stderr
        assert f"Activate with: source {env}/bin/activate" in out.stderr
        cfg = (env / "pyvenv.cfg").read_text()
        assert f"home = {Path(base).parent}\n" in cfg
        assert f"version = {Path(base).parents[1].name}\n" in cfg
        assert ("prompt = 'proj'\n" in cfg) == (prompt is not None)
        lines = activated(
            env,
            'echo "$VIRTUAL_ENV"; echo "$VIRTUAL_ENV_PROMPT"; '
            'python -c "import sys; print(sys.prefix); print(sys.base_prefix)"',
        )
        assert lines[0] == str(env)
        # 3.13 sets the bare prompt, older versions the decorated one.
        assert lines[1] in (prompt or name, f"({prompt or name}) ")
        assert lines[2] == str(env)
        assert lines[3] == str(Path(base).parents[1])


def test_python_by_version_is_found_in_pyenv(tmp_path: Path) -> None:
    base = pyenv_python("3.13")
    # A PATH without interpreters: the version must come from pyenv's directory.
    found = find_python((3, 13), {"PATH": str(tmp_path), "PYENV_ROOT": str(PYENV_VERSIONS.parent)})
    assert found == base
    assert parse_request("3.13") == (3, 13)
    assert parse_request("python3") is None
    out = cachedb("venv", tmp_path / "e", "--python", "3.99", "--cache-dir", tmp_path / "c")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "error: --python 3.99: no Python 3.99 on PATH or in pyenv"
    ]
    assert not (tmp_path / "e").exists()


def test_default_path_is_dot_venv(tmp_path: Path) -> None:
    out = cachedb("venv", "--cache-dir", tmp_path / "cache", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / ".venv" / "pyvenv.cfg").is_file()


def test_what_is_not_a_venv_is_refused_and_left_alone(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("keep me")
    before = tree(notes)
    for extra in ([], ["--clear"]):
        out = cachedb("venv", notes, "--cache-dir", cache, *extra)
        assert out.returncode == 2
        assert "is not a virtual environment" in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1
        assert tree(notes) == before
    a_file = tmp_path / "file"
    a_file.write_text("x")
    out = cachedb("venv", a_file, "--cache-dir", cache)
    assert out.returncode == 2 and "not a directory" in out.stderr
    assert a_file.read_text() == "x"


def test_an_existing_venv_is_replaced_only_with_clear(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    env = tmp_path / "env"
    assert cachedb("venv", env, "--cache-dir", cache).returncode == 0
    marker = env / "lib" / "marker.txt"
    marker.write_text("old")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "kept").write_text("kept")
    (env / "link-out").symlink_to(outside)
    out = cachedb("venv", env, "--cache-dir", cache)
    assert out.returncode == 2
    assert "--clear" in out.stderr and "CACHEDB_CLEAR" in out.stderr
    assert marker.exists()
    out = cachedb("venv", env, "--cache-dir", cache, env={"CACHEDB_CLEAR": "1"})
    assert out.returncode == 0, out.stderr
    assert not marker.exists() and not (env / "link-out").exists()
    assert (outside / "kept").read_text() == "kept"
    assert (env / "bin" / "python").exists()


def _seed_wheels(directory: Path) -> None:
    for name in ("pip", "setuptools", "wheel"):
        make_wheel(directory, name, "99.0")


@pytest.mark.parametrize(("minor", "expected"), [("3.11", 3), ("3.13", 1)])
def test_seed_installs_pip_and_for_old_pythons_setuptools_and_wheel(
    tmp_path: Path, index_server: IndexServer, minor: str, expected: int
) -> None:
    pyenv_python(minor)
    wheels = tmp_path / "wheels"
    _seed_wheels(wheels)
    for wheel in wheels.iterdir():
        index_server.add(wheel)
    env = tmp_path / "env"
    out = cachedb(
        "venv",
        env,
        "--seed",
        "--python",
        minor,
        "-i",
        index_server.url,
        "--cache-dir",
        tmp_path / "cache",
    )
    assert out.returncode == 0, out.stderr
    site = next((env / "lib").glob("python3.*/site-packages"))
    names = sorted(p.name for p in site.glob("*.dist-info"))
    wanted = ["pip-99.0.dist-info", "setuptools-99.0.dist-info", "wheel-99.0.dist-info"]
    assert names == (wanted if expected == 3 else wanted[:1])


def test_a_failed_seed_leaves_no_venv(tmp_path: Path) -> None:
    env = tmp_path / "env"
    out = cachedb(
        "venv", env, "--seed", "--no-index", "--offline", "--cache-dir", tmp_path / "cache"
    )
    assert out.returncode != 0
    assert not env.exists()


def record_fields(made: Path) -> list[str]:
    """A template's record: NUL-separated fields (magic, stamp length, stamp, origin, entries)."""
    return (made / "template.rec").read_bytes().decode().split("\0")


def write_record(made: Path, fields: list[str]) -> None:
    (made / "template.rec").write_bytes("\0".join(fields).encode())


class Made(NamedTuple):
    base: str
    templates: Path
    target: Path
    expected: dict[str, str]  # what the stdlib makes at target
    made: Path  # the template's directory


def made_template(tmp_path: Path) -> Made:
    """A template of pyenv's 3.11, made by copying it to ``target`` once (removed again)."""
    base = pyenv_python("3.11")
    templates = tmp_path / "cache" / "interpreters-v0"
    target = tmp_path / "env"
    expected = stdlib_tree(base, target, None)
    assert venv_template.copy_template(templates, base, target, None)
    shutil.rmtree(target)
    (made,) = templates.glob("venv-tree-*")
    return Made(base, templates, target, expected, made)


def test_a_damaged_or_stale_template_is_never_copied(tmp_path: Path) -> None:
    base, templates, target, expected, made = made_template(tmp_path)
    # Damaged: a file of the template is gone. The venv is not made from it, and it is
    # made again for the next one.
    next(made.rglob("activate.fish")).unlink()
    assert not venv_template.copy_template(templates, base, target, None)
    assert not target.exists()
    assert venv_template.copy_template(templates, base, target, None)
    assert tree(target) == expected
    shutil.rmtree(target)
    # Stale: the record no longer matches the interpreter; it is made again.
    fields = record_fields(made)
    fields[3] = "0"  # the base executable's mtime
    write_record(made, fields)
    assert venv_template.copy_template(templates, base, target, None)
    assert tree(target) == expected


def made_with_modes(root: Path) -> dict[str, str]:
    """``tree`` with each entry's mode (type and permission bits) as ``lstat`` says."""
    return {rel: f"{what} {os.lstat(root / rel).st_mode:o}" for rel, what in tree(root).items()}


@pytest.mark.parametrize("prompt", [None, "proj"])
@pytest.mark.parametrize("spelling", ["absolute", "relative"])
def test_cachedb_venv_equals_python_m_venv_file_for_file(
    tmp_path: Path, prompt: str | None, spelling: str
) -> None:
    """What the command makes from a warm template, fresh or over an old venv with --clear,
    is what ``python -m venv --without-pip`` makes: every entry, its bytes and its mode.
    Relative paths through ``..`` (the venv's and the cache's) name the same places."""
    base = pyenv_python("3.11")
    work = tmp_path / "projects" / "work"
    work.mkdir(parents=True)
    env = work / "env"
    where = str(env) if spelling == "absolute" else "../work/env"
    cache = str(tmp_path / "cache") if spelling == "absolute" else "../../cache"
    options = [*(["--prompt", prompt] if prompt else []), "--python", base, "--cache-dir", cache]
    assert cachedb("venv", work / "warm-up", *options, cwd=work).returncode == 0
    made = []
    for clear in ([], ["--clear"]):
        out = cachedb("venv", where, *options, *clear, cwd=work)
        assert out.returncode == 0, out.stderr
        made.append(made_with_modes(env))
    shutil.rmtree(env)
    stdlib = [base, "-m", "venv", "--without-pip", *(["--prompt", prompt] if prompt else [])]
    subprocess.run([*stdlib, where], cwd=work, check=True, timeout=120)
    assert made == [made_with_modes(env)] * 2


def test_a_template_whose_origin_is_not_in_its_files_is_made_again(tmp_path: Path) -> None:
    """An older cachedb recorded the origin with a ``..`` the stdlib had taken out of the
    files: such a template would leave its own path in the venv's scripts."""
    base, templates, target, expected, made = made_template(tmp_path)
    fields = record_fields(made)
    at = 2 + int(fields[1])  # after the magic, the stamp's length and the stamp
    origin = Path(fields[at])
    fields[at] = str(origin.parent / ".." / origin.parent.name / origin.name)
    write_record(made, fields)
    assert venv_template.copy_template(templates, base, target, None)
    assert tree(target) == expected


@pytest.mark.parametrize("folder", ["interpreters-v0", "tmp", "interpreters-v0/<host>"])
def test_a_cache_with_a_linked_folder_is_refused_and_nothing_written_through_it(
    tmp_path: Path, folder: str
) -> None:
    """As every command that opens the cache: a planted link is refused, never followed
    (the template would be made in the link's target)."""
    cache = tmp_path / "cache"
    cache.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    if folder.endswith("/<host>"):  # this host's folder, where templates are made
        folder = Layout(cache).interpreters.relative_to(cache).as_posix()
        (cache / folder).parent.mkdir()
    (cache / folder).symlink_to(outside)
    env = tmp_path / "env"
    out = cachedb("venv", env, "--cache-dir", cache)
    errors = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert out.returncode != 0 and len(errors) == 1, out.stderr
    assert "symbolic link" in errors[0] and f"{folder}/" in errors[0]
    assert "Traceback" not in out.stderr
    assert list(outside.iterdir()) == []
    assert not env.exists()
