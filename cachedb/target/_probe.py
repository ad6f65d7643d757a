"""Run by the target interpreter, not imported: print the facts cachedb needs as JSON.

The target may be any Python version, so this file uses the stdlib only and no
syntax newer than its floor: no f-strings, no annotations, no walrus. Nothing of
cachedb's own libraries runs here; compatibility tags are computed by the
installing process from the raw facts printed below (cachedb/target/tags.py).
"""

import json
import os
import platform
import sys
import sysconfig

MINIMUM = (3, 8)
EXIT_UNSUPPORTED = 3
if sys.version_info < MINIMUM:
    wanted = ".".join(str(part) for part in MINIMUM)
    found = platform.python_version()
    sys.stderr.write("is Python " + found + "; cachedb needs Python " + wanted + " or newer\n")
    sys.exit(EXIT_UNSUPPORTED)

# What compatibility tags depend on (see PEP 425 and the platform tag specs).
CONFIG_VARS = ("Py_DEBUG", "Py_GIL_DISABLED", "EXT_SUFFIX", "SOABI", "py_version_nodot")


def marker_environment():  # type: () -> dict[str, str]
    # PEP 508's marker variables, computed as the PEP defines them.
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


def scheme(is_venv):  # type: (bool) -> dict[str, str]
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
    return dict((key, os.path.abspath(value)) for key, value in found.items())


def glibc_version():  # type: () -> str | None
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, OSError, ValueError):
        return None
    return text.split()[-1] if text and text.startswith("glibc ") else None


def tag_facts():  # type: () -> dict[str, object]
    from importlib.machinery import EXTENSION_SUFFIXES

    config = {}  # type: dict[str, int | str | None]
    for name in CONFIG_VARS:
        value = sysconfig.get_config_var(name)
        config[name] = value if isinstance(value, (int, str)) else None
    return {
        "implementation": sys.implementation.name,
        "python_version": list(sys.version_info[:2]),
        "platform": sysconfig.get_platform(),
        "system": platform.system(),
        "machine": platform.machine(),
        "is_32bit": sys.maxsize <= 2**32,
        "glibc": glibc_version(),
        "mac_version": platform.mac_ver()[0],
        "config": config,
        "has_refcount": hasattr(sys, "gettotalrefcount"),
        "extension_suffixes": list(EXTENSION_SUFFIXES),
    }


def main():  # type: () -> int
    is_venv = sys.prefix != getattr(sys, "base_prefix", sys.prefix)
    answer = {
        # What actually ran: a wrapper script or shim leads to another executable.
        "ran": os.path.realpath(sys.executable) if sys.executable else "",
        "prefix": sys.prefix,
        "base_prefix": getattr(sys, "base_prefix", sys.prefix),
        "version": platform.python_version(),
        "markers": marker_environment(),
        "tag_facts": tag_facts(),
        "scheme": scheme(is_venv),
        "is_venv": is_venv,
    }
    sys.stdout.write(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
