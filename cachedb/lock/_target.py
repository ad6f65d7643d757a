"""The environment a lock file is resolved for: markers and wheel tags.

By default that is the interpreter ``compile`` runs against. ``--python-version``
and ``--python-platform`` describe another one (as ``uv pip compile`` does): its
PEP 508 markers are written from the version and platform alone, and its tags
(PEP 425) come from ``packaging.tags`` for a CPython of that version on that
platform, so a lock made on Linux for Windows hashes Windows wheels.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from ..errors import UsageError

if TYPE_CHECKING:
    from typing import NamedTuple

    from ..target import Interpreter
    from ._options import CompileOptions
else:
    # Not typing's NamedTuple: that one compiles each field's annotation (~0.2M instructions).
    from .._record import NamedTuple

# The glibc the ``linux`` platform is assumed to have: manylinux2014's (2.17), as uv assumes.
_MANYLINUX_GLIBC = 17
# The oldest macOS the ``macos`` platform is assumed to run: the first on Apple silicon.
_MACOS_FLOOR = (11, 0)
_MACOS_CEILING = 16

_PLATFORMS: dict[str, dict[str, str]] = {
    "linux": {
        "os_name": "posix",
        "platform_machine": "x86_64",
        "platform_system": "Linux",
        "sys_platform": "linux",
    },
    "macos": {
        "os_name": "posix",
        "platform_machine": "arm64",
        "platform_system": "Darwin",
        "sys_platform": "darwin",
    },
    "windows": {
        "os_name": "nt",
        "platform_machine": "AMD64",
        "platform_system": "Windows",
        "sys_platform": "win32",
    },
}
PLATFORMS = tuple(_PLATFORMS)


class LockTarget(NamedTuple):
    """What a resolution is for: the markers it evaluates and the tags its wheels must have."""

    markers: dict[str, str]
    tags: tuple[str, ...]

    @property
    def python_version(self) -> str:
        return self.markers["python_version"]

    @property
    def python_full_version(self) -> str:
        return self.markers["python_full_version"]


def lock_target(
    interp: Interpreter, python_version: str | None, python_platform: str | None
) -> LockTarget:
    """The target ``interp`` is, or the one the two options describe instead."""
    if python_version is None and python_platform is None:
        return LockTarget(dict(interp.markers), interp.tags)
    markers = dict(interp.markers)
    if python_version is not None:
        major, minor = _version(python_version)
        markers["python_version"] = f"{major}.{minor}"
        micro = python_version.split(".")[2] if python_version.count(".") >= 2 else "0"
        markers["python_full_version"] = f"{major}.{minor}.{micro}"
        markers["implementation_version"] = markers["python_full_version"]
    if python_platform is not None:
        if python_platform not in _PLATFORMS:
            raise UsageError(
                f"unknown --python-platform {python_platform!r}; use {', '.join(PLATFORMS)}"
            )
        markers.update(_PLATFORMS[python_platform])
        # Kernel versions of another machine are unknowable; no marker should depend on them.
        markers["platform_release"] = ""
        markers["platform_version"] = ""
    markers["implementation_name"] = "cpython"
    markers["platform_python_implementation"] = "CPython"
    major, minor = _version(markers["python_version"])
    if python_platform is None:
        # Another Python on this machine: this machine's platform tags, best first.
        platforms = list(dict.fromkeys(t.rsplit("-", 1)[1] for t in interp.tags))
        platforms = [p for p in platforms if p != "any"]
    else:
        platforms = _platform_tags(python_platform)
    return LockTarget(markers, _tags((major, minor), platforms))


def target_python(opts: CompileOptions) -> str:
    """The interpreter to lock for: --python, an active or ./.venv environment, else our own."""
    from ..target import find_target

    try:
        return str(find_target(python=opts.install.python))
    except UsageError:
        if opts.install.python is not None:
            raise
        return sys.executable


def _version(text: str) -> tuple[int, int]:
    parts = text.split(".")
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
        raise UsageError(f"--python-version takes 3.X or 3.X.Y, not {text!r}")
    return int(parts[0]), int(parts[1])


def _tags(python: tuple[int, int], platforms: list[str]) -> tuple[str, ...]:
    from packaging import tags

    found = [
        *tags.cpython_tags(python, platforms=platforms),
        *tags.compatible_tags(python, f"cp{python[0]}{python[1]}", platforms=platforms),
    ]
    return tuple(dict.fromkeys(str(t) for t in found))


def _platform_tags(platform: str) -> list[str]:
    if platform == "windows":
        return ["win_amd64"]
    if platform == "macos":
        out: list[str] = []
        for major in range(_MACOS_CEILING, _MACOS_FLOOR[0] - 1, -1):
            out += [f"macosx_{major}_0_arm64", f"macosx_{major}_0_universal2"]
        return out
    out = [f"manylinux_2_{m}_x86_64" for m in range(_MANYLINUX_GLIBC, 4, -1)]
    # The legacy aliases (PEP 600) of the glibc versions above.
    return [
        *out,
        "manylinux2014_x86_64",
        "manylinux2010_x86_64",
        "manylinux1_x86_64",
        "linux_x86_64",
    ]
