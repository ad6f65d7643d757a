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


def import_packaging(location: str) -> tuple[types.ModuleType, types.ModuleType]:
    # Only packaging may come from cachedb's site-packages: put it first long
    # enough to import packaging (its submodules then resolve through
    # packaging.__path__), then take it away again.
    for name in [m for m in sys.modules if m == "packaging" or m.startswith("packaging.")]:
        del sys.modules[name]
    sys.path.insert(0, location)
    try:
        import packaging.markers
        import packaging.tags
    finally:
        sys.path.remove(location)
    return packaging.markers, packaging.tags


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
    markers, tags = import_packaging(argv[1])
    is_venv = sys.prefix != getattr(sys, "base_prefix", sys.prefix) or hasattr(sys, "real_prefix")
    answer = {
        "prefix": sys.prefix,
        "base_prefix": getattr(sys, "base_prefix", sys.prefix),
        "version": platform.python_version(),
        "markers": dict(markers.default_environment()),
        "tags": [str(tag) for tag in tags.sys_tags()],
        "scheme": scheme(is_venv),
        "is_venv": is_venv,
    }
    sys.stdout.write(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
