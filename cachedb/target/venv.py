"""Creating virtual environments with the stdlib ``venv`` and finding their python."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cachedb.errors import UsageError


def venv_python(env: Path) -> Path:
    """The python executable of the environment at ``env`` (it may not exist)."""
    if os.name == "nt":
        return env / "Scripts" / "python.exe"
    return env / "bin" / "python"


def is_venv(path: Path) -> bool:
    return (path / "pyvenv.cfg").is_file()


def create_venv(
    path: Path,
    *,
    python: str | None = None,
    seed: bool = False,
    prompt: str | None = None,
    templates: Path | None = None,
) -> Path:
    """Create a venv at ``path`` (without pip unless ``seed``) and return its python.

    An existing venv is reused as it is; an empty directory is filled; anything
    else is refused so that cachedb never writes a venv over someone's files.
    With ``templates`` (``<cache>/interpreters-v0``) the venv is copied from the one
    the stdlib made for the same interpreter, if it can be (``venv_template``).
    """
    # As the stdlib names the venv in its scripts: ``..`` taken out, links kept.
    path = Path(os.path.abspath(os.path.expanduser(path)))
    if path.exists():
        if not path.is_dir():
            raise UsageError(f"{path} exists and is not a directory")
        if is_venv(path):
            return _existing_python(path)
        if any(path.iterdir()):
            raise UsageError(f"{path} exists, is not empty and is not a virtual environment")
    base = python or sys.executable
    if seed:
        run_stdlib_venv(base, path, prompt=prompt, with_pip=True)
        return _existing_python(path)
    from cachedb.target import venv_template

    if templates is None or not venv_template.copy_template(templates, base, path, prompt):
        run_stdlib_venv(base, path, prompt=prompt)
    return _existing_python(path)


def run_stdlib_venv(
    base: str, path: str | os.PathLike[str], *, prompt: str | None = None, with_pip: bool = False
) -> None:
    """``base -m venv [--without-pip] [--prompt P] path``, failing with a one-line error."""
    command = [base, "-I", "-m", "venv", *([] if with_pip else ["--without-pip"])]
    if prompt is not None:
        command.append(f"--prompt={prompt}")
    command.append(os.fspath(path))
    import subprocess

    try:
        proc = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    except OSError as exc:
        raise UsageError(
            f"Cannot run {base} to create a virtual environment ({exc.strerror or exc})"
        ) from None
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = lines[-1].strip() if lines else f"exit status {proc.returncode}"
        raise UsageError(f"Could not create a virtual environment at {path}: {reason}")


def _existing_python(env: Path) -> Path:
    exe = venv_python(env)
    if not exe.exists():
        raise UsageError(f"{env} is not a usable virtual environment: {exe} is missing")
    return exe
