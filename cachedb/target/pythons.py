"""Finding an interpreter by version (``--python 3.12``): on PATH, then among pyenv's.

A request is ``3``, ``3.12`` or ``3.12.1``. On PATH the executables are found by
name (``python3.12``, else ``python3``); wrapper scripts such as pyenv's shims are
passed over, since pyenv's own versions are looked at next, by their directory
names, without running anything. A request naming a patch release is checked by
asking the interpreter.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

_REQUEST = re.compile(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?")


def parse_request(value: str) -> tuple[int, ...] | None:
    """The version parts of ``value`` if it is a version request, else None."""
    match = _REQUEST.fullmatch(value.strip())
    if match is None:
        return None
    return tuple(int(part) for part in match.groups() if part is not None)


def find_python(request: tuple[int, ...], environ: Mapping[str, str]) -> str | None:
    """The path of an interpreter of version ``request``, or None."""
    for candidate in _on_path(request, environ.get("PATH", os.defpath)):
        if _matches(candidate, request):
            return candidate
    for candidate in _in_pyenv(request, environ):
        return candidate
    return None


def _names(request: tuple[int, ...]) -> list[str]:
    if len(request) >= 2:
        return [f"python{request[0]}.{request[1]}"]
    return [f"python{request[0]}"]


def _is_script(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(2) == b"#!"
    except OSError:
        return True


def _on_path(request: tuple[int, ...], path: str) -> list[str]:
    found = []
    for directory in path.split(os.pathsep):
        for name in _names(request):
            candidate = os.path.join(directory or ".", name)
            usable = os.path.isfile(candidate) and os.access(candidate, os.X_OK)
            if usable and not _is_script(candidate):
                found.append(os.path.abspath(candidate))
    return found


def _matches(executable: str, request: tuple[int, ...]) -> bool:
    if len(request) < 3:
        return True  # the name says major and minor
    code = "import platform; print(platform.python_version())"
    try:
        out = subprocess.run(
            [executable, "-I", "-c", code], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.strip() == ".".join(map(str, request))


def _pyenv_root(environ: Mapping[str, str]) -> Path:
    root = environ.get("PYENV_ROOT")
    return Path(root) if root else Path(environ.get("HOME", "~")).expanduser() / ".pyenv"


def _in_pyenv(request: tuple[int, ...], environ: Mapping[str, str]) -> list[str]:
    """pyenv's interpreters of that version, newest first (final releases before others)."""
    versions = _pyenv_root(environ) / "versions"
    try:
        names = os.listdir(versions)
    except OSError:
        return []
    ranked = []
    for name in names:
        match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", name)
        if match is None:
            continue  # pre-releases, other implementations, virtualenvs
        parts = tuple(int(p) for p in match.groups())
        if parts[: len(request)] != request:
            continue
        exe = versions / name / "bin" / f"python{parts[0]}.{parts[1]}"
        if exe.is_file():
            ranked.append((parts, str(exe)))
    return [exe for _, exe in sorted(ranked, reverse=True)]
