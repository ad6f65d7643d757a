"""Run by the target interpreter, not imported: print what cachedb needs as JSON.

The target may be any Python version and usually lacks packaging, so this file
uses only the stdlib plus the copy of packaging whose parent directory is
argv[1]. No ``from __future__ import annotations`` and no new syntax: an old
interpreter must get far enough to print the version message below.
"""

import json
import os
import platform
import sys
import sysconfig
import types

# packaging's own floor. Checked before any function is defined, because the
# annotations below (list[str]) fail at definition time on older interpreters.
MINIMUM = (3, 9)
EXIT_UNSUPPORTED = 3
if sys.version_info < MINIMUM:
    # No f-strings in this file: they would be a syntax error before this check.
    wanted = ".".join(str(part) for part in MINIMUM)
    found = platform.python_version()
    sys.stderr.write("is Python " + found + "; cachedb needs Python " + wanted + " or newer\n")
    sys.exit(EXIT_UNSUPPORTED)


def import_tags(location: str) -> types.ModuleType:
    # Only packaging may come from cachedb's site-packages: put it first long
    # enough to import packaging.tags, then take it away again.
    for name in [m for m in sys.modules if m == "packaging" or m.startswith("packaging.")]:
        del sys.modules[name]
    sys.path.insert(0, location)
    try:
        import packaging.tags
    finally:
        sys.path.remove(location)
    return packaging.tags


def marker_environment() -> dict[str, str]:
    # PEP 508's marker variables, computed as the PEP defines them: importing
    # packaging.markers for this would cost more than all the rest of the probe.
    version = sys.implementation.version
    implementation_version = ".".join(str(part) for part in tuple(version)[:3])
    if version.releaselevel != "final":
        implementation_version += version.releaselevel[0] + str(version.serial)
    return {
        "implementation_name": sys.implementation.name,
        "implementation_version": implementation_version,
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


def scheme(is_venv: bool) -> dict[str, str]:
    paths = sysconfig.get_paths()
    if is_venv:
        # pip's choice: sysconfig's include dir of a venv is the base interpreter's.
        python_xy = "python" + sysconfig.get_python_version()
        headers = os.path.join(sys.prefix, "include", "site", python_xy)
    else:
        headers = paths["include"]
    found = {
        "purelib": paths["purelib"],
        "platlib": paths["platlib"],
        "scripts": paths["scripts"],
        "headers": headers,
        "data": paths["data"],
    }
    return {key: os.path.abspath(value) for key, value in found.items()}


def main(argv: list[str]) -> int:
    tags = import_tags(argv[1])
    is_venv = sys.prefix != getattr(sys, "base_prefix", sys.prefix) or hasattr(sys, "real_prefix")
    answer = {
        "prefix": sys.prefix,
        "base_prefix": getattr(sys, "base_prefix", sys.prefix),
        "version": platform.python_version(),
        "markers": marker_environment(),
        "tags": [str(tag) for tag in tags.sys_tags()],
        "scheme": scheme(is_venv),
        "is_venv": is_venv,
    }
    sys.stdout.write(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
