"""Targets of other Python versions, and shims: pyenv's real interpreters, real venvs.

Each test finds the Python it needs under ``$(pyenv root)/versions`` (or as
``pythonX.Y`` on PATH) and skips with a reason where it is absent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from installtools import cachedb
from wheelbuilder import make_wheel

from cachedb.errors import UsageError
from cachedb.target import query_interpreter

posix_only = pytest.mark.skipif(os.name == "nt", reason="uses /bin/sh wrappers and bin/python")
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="linux_* wheel tags")
PACKAGING = Path(__import__("packaging").__file__).parent.parent


def pyenv_root() -> Path:
    found = shutil.which("pyenv")
    if found:
        proc = subprocess.run([found, "root"], capture_output=True, text=True, check=False)
        if proc.returncode == 0 and proc.stdout.strip():
            return Path(proc.stdout.strip())
    return Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))


def find_python(minor: str) -> Path:
    """A real interpreter of Python ``minor`` ("3.9"), or skip the test."""
    versions = pyenv_root() / "versions"
    if versions.is_dir():
        for entry in sorted(versions.iterdir(), reverse=True):
            exe = entry / "bin" / f"python{minor}"
            if entry.name.startswith(minor + ".") and exe.exists():
                return exe
    on_path = shutil.which(f"python{minor}")
    if on_path:
        return Path(on_path)
    pytest.skip(f"no Python {minor} under {versions} or on PATH")


def venv_of(python: Path, path: Path) -> Path:
    subprocess.run([str(python), "-m", "venv", "--without-pip", str(path)], check=True)
    return path / "bin" / "python"


def run(exe: Path | str, code: str) -> str:
    proc = subprocess.run([str(exe), "-I", "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def wrapper(path: Path, choice: Path) -> Path:
    """A ``#!/bin/sh`` shim that execs whichever interpreter ``choice`` names right now."""
    path.write_text(f'#!/bin/sh\nexec "$(cat "{choice}")" "$@"\n')
    path.chmod(0o755)
    return path


# --- case 4: a shim is answered for where it leads now --------------------------------


@posix_only
def test_a_wrapper_script_is_answered_for_the_interpreter_it_leads_to_now(
    tmp_path: Path,
) -> None:
    py311, py312 = find_python("3.11"), find_python("3.12")
    choice = tmp_path / "choice"
    shim = wrapper(tmp_path / "python", choice)
    cache_dir = tmp_path / "interpreters-v0"

    choice.write_text(str(py311))
    first = query_interpreter(shim, cache_dir)
    assert first.markers["python_version"] == "3.11"
    assert first.tags[0].startswith("cp311-cp311-")

    choice.write_text(str(py312))  # the shim itself is unchanged
    second = query_interpreter(shim, cache_dir)
    assert second.markers["python_version"] == "3.12"
    assert second.tags[0].startswith("cp312-cp312-")
    assert second.prefix == run(py312, "import sys; print(sys.prefix)")
    # Nothing was kept for the shim: there is no answer to be stale.
    assert not cache_dir.exists() or not list(cache_dir.glob("*.json"))


@posix_only
def test_pyenv_shim_follows_pyenv_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    py311, py312 = find_python("3.11"), find_python("3.12")
    shim = pyenv_root() / "shims" / "python3"
    if not shim.exists() or shutil.which("pyenv") is None:
        pytest.skip(f"no pyenv shim at {shim}")
    cache_dir = tmp_path / "interpreters-v0"
    for python in (py311, py312, py311):
        monkeypatch.setenv("PYENV_VERSION", python.parent.parent.name)
        answer = query_interpreter(shim, cache_dir)
        assert answer.version == python.parent.parent.name
        assert answer.base_prefix == str(python.parent.parent)


@posix_only
@linux_only
def test_install_through_a_shim_goes_where_the_shim_leads_now(tmp_path: Path) -> None:
    venv311 = venv_of(find_python("3.11"), tmp_path / "venv311")
    venv312 = venv_of(find_python("3.12"), tmp_path / "venv312")
    links = tmp_path / "links"
    for abi in ("cp311", "cp312"):
        files = {"tagged/__init__.py": f"BUILT_FOR = {abi!r}\n"}
        make_wheel(links, "tagged", "1.0", tag=f"{abi}-none-any", files=files)
    choice = tmp_path / "choice"
    shim = wrapper(tmp_path / "python", choice)
    cache = tmp_path / "cache"

    def install() -> None:
        out = cachedb("install", "--cache-dir", cache, "--python", shim, "--no-index",
                      "-f", links, "tagged")  # fmt: skip
        assert out.returncode == 0, out.stderr

    choice.write_text(str(venv311))
    install()
    assert run(venv311, "import tagged; print(tagged.BUILT_FOR)") == "cp311"

    choice.write_text(str(venv312))
    install()
    assert run(venv312, "import tagged; print(tagged.BUILT_FOR)") == "cp312"
    assert run(venv311, "import tagged; print(tagged.BUILT_FOR)") == "cp311"


# --- case 7: targets of other versions (3.8 is the floor) ----------------------------


def reference_tags(python: Path) -> tuple[list[str], set[str]] | None:
    """The target's own tag list, computed inside it by a packaging that runs there:
    cachedb's own copy where the target can import it, else the copy inside its pip.
    Returns the list and the tags that reference may not know yet."""
    minor = run(python, "import sys; print('%d%d' % sys.version_info[:2])")
    code = "from {}packaging.tags import sys_tags; print(' '.join(map(str, sys_tags())))"
    proc = subprocess.run(
        [str(python), "-I", "-c", f"import sys; sys.path.insert(0, {str(PACKAGING)!r}); "
         + code.format("")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode == 0:
        return proc.stdout.split(), set()
    proc = subprocess.run(
        [str(python), "-I", "-c", code.format("pip._vendor.")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode == 0:
        # Older packaging releases (inside an old pip) lack the interpreter-specific
        # "cpXY-none-any" tag that newer ones add.
        return proc.stdout.split(), {f"cp{minor}-none-any"}
    return None


@pytest.mark.parametrize("minor", ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"])
def test_tags_are_the_targets_own(tmp_path: Path, minor: str) -> None:
    python = find_python(minor)
    answer = query_interpreter(venv_of(python, tmp_path / "venv"))
    assert answer.version.startswith(minor + ".")
    nodot = minor.replace(".", "")
    assert answer.tags[0].startswith(f"cp{nodot}-cp{nodot}-")
    assert answer.tags[-1] == "py30-none-any"
    reference = reference_tags(python)
    if reference is None:
        pytest.skip(f"no packaging runs inside {python} to compare with")
    theirs, unknown_to_them = reference
    if unknown_to_them:
        assert set(answer.tags) - set(theirs) <= unknown_to_them
        assert set(theirs) <= set(answer.tags)
    else:
        assert list(answer.tags) == theirs


@linux_only
@pytest.mark.parametrize("minor", ["3.8", "3.9", "3.13"])
def test_install_into_a_target_of_another_version(tmp_path: Path, minor: str) -> None:
    from indexserver import IndexServer

    python = find_python(minor)
    exe = venv_of(python, tmp_path / "venv")
    nodot = minor.replace(".", "")
    machine = run(exe, "import platform; print(platform.machine())")
    other = "312" if nodot != "312" else "311"
    wheels = tmp_path / "wheels"
    with IndexServer() as server:
        # The target's own build, a pure fallback, and a build for another Python.
        for tag in (f"cp{nodot}-cp{nodot}-linux_{machine}", "py3-none-any",
                    f"cp{other}-cp{other}-linux_{machine}"):  # fmt: skip
            code = f"BUILT_FOR = {tag!r}\n\ndef main():\n    print('native', BUILT_FOR)\n"
            wheel = make_wheel(
                wheels, "native", "1.0", tag=tag, files={"native/__init__.py": code},
                requires=["pure"], entry_points={"console_scripts": {"native-cli": "native:main"}},
            )  # fmt: skip
            server.add(wheel)
        server.add(make_wheel(wheels, "pure", "2.0"), requires_python=f">={minor}")
        server.add(make_wheel(wheels, "pure", "3.0"), requires_python=">=3.99")
        out = cachedb("install", "--cache-dir", tmp_path / "cache", "--python", exe,
                      "-i", server.url, "native")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert " + pure==2.0" in out.stderr
    imported = run(exe, "import native, pure; print(native.BUILT_FOR, pure.VERSION)")
    assert imported == f"cp{nodot}-cp{nodot}-linux_{machine} 2.0"
    script = subprocess.run([str(exe.parent / "native-cli")], capture_output=True, text=True)
    assert script.stdout.strip() == f"native cp{nodot}-cp{nodot}-linux_{machine}", script.stderr


def test_a_python_below_the_floor_is_refused_with_one_line(tmp_path: Path) -> None:
    python = find_python("3.7")
    with pytest.raises(UsageError) as caught:
        query_interpreter(python, tmp_path / "interpreters-v0")
    version = run(python, "import platform; print(platform.python_version())")
    assert str(caught.value) == f"{python} is Python {version}; cachedb needs Python 3.8 or newer"
    out = cachedb("install", "--cache-dir", tmp_path / "cache", "--python", python, "demo")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [f"error: {caught.value}"]
    assert not (tmp_path / "cache" / "interpreters-v0").exists() or not any(
        (tmp_path / "cache" / "interpreters-v0").iterdir()
    )
