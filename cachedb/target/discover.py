"""Which environment an install goes into: --python, --venv, VIRTUAL_ENV, then ./.venv."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from cachedb.errors import UsageError
from cachedb.target.venv import create_venv, is_venv, venv_python

NO_ENVIRONMENT = "No virtual environment found; run `python -m venv .venv` or pass --venv/--python"


def find_target(
    *,
    python: str | None = None,
    venv: str | None = None,
    seed: bool = False,
    templates: Path | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Path:
    """The python executable of the environment to install into (absolute, symlinks kept).

    ``--venv DIR`` is created when missing (from a template under ``templates``, see
    ``venv_template``); given together with ``--python``, the latter is the interpreter
    the new venv is created from.
    """
    env = os.environ if environ is None else environ
    base = Path.cwd() if cwd is None else cwd
    if venv is not None:
        directory = _absolute(base, venv)
        if is_venv(directory):
            return _env_python(directory, "--venv")
        creator = None if python is None else str(_python_option(python, env, base))
        return create_venv(directory, python=creator, seed=seed, templates=templates)
    if python is not None:
        return _python_option(python, env, base)
    active = env.get("VIRTUAL_ENV")
    if active:
        return _env_python(_absolute(base, active), "VIRTUAL_ENV")
    dot_venv = base / ".venv"
    if dot_venv.exists():
        return _env_python(dot_venv, "./.venv")
    raise UsageError(NO_ENVIRONMENT)


def resolve_python(python: str, environ: Mapping[str, str] | None = None) -> Path:
    """The interpreter ``--python`` names: a path, a venv directory, a command or a version."""
    return _python_option(python, os.environ if environ is None else environ, Path.cwd())


def _python_option(python: str, environ: Mapping[str, str], base: Path) -> Path:
    candidate = _absolute(base, python)
    if candidate.is_dir():
        return _env_python(candidate, "--python")
    if candidate.exists():
        return candidate
    if not _has_separator(python):
        import shutil

        found = shutil.which(python, path=environ.get("PATH", os.defpath))
        if found:
            return _absolute(base, found)
        from cachedb.target.pythons import find_python, parse_request

        request = parse_request(python)
        if request is not None:
            by_version = find_python(request, environ)
            if by_version is not None:
                return Path(by_version)
            raise UsageError(f"--python {python}: no Python {python} on PATH or in pyenv")
    raise UsageError(f"--python {python}: no such file, directory or command")


def _env_python(directory: Path, origin: str) -> Path:
    exe = venv_python(directory)
    if not exe.exists():
        raise UsageError(f"{origin} {directory} is not a virtual environment (no {exe.name} in it)")
    return exe


def _absolute(base: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else base / path


def _has_separator(value: str) -> bool:
    return os.sep in value or (os.altsep is not None and os.altsep in value)
