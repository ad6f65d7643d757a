"""A target's wheel compatibility tags, computed here from the facts its probe printed.

The probe runs inside the target with the stdlib only (so any supported Python can
answer, whatever packaging version cachedb has); this module turns its raw facts
(implementation, version, build flags, platform, libc) into the ordered tag list
with packaging's public tag generators. Platform tags follow the platform
compatibility tag specification: ``linux_<arch>`` first, then ``manylinux_2_<minor>``
from the target's glibc down (with the legacy ``manylinux1/2010/2014`` aliases),
then ``musllinux_1_<minor>`` for a musl target. Not followed: a ``_manylinux``
module in the target that narrows its manylinux tags, and macOS 11+ hosts that
report themselves as 10.16 to old interpreters.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

# Interpreter short names of PEP 425.
_SHORT_NAMES = {"cpython": "cp", "pypy": "pp", "ironpython": "ip", "jython": "jy"}
# manylinux_2_x tags start at glibc 2.17 except where older manylinux images existed.
_OLDEST_GLIBC_MINOR = {"x86_64": 5, "i686": 5}
_LEGACY_MANYLINUX = {5: "manylinux1", 12: "manylinux2010", 17: "manylinux2014"}
_MANYLINUX_ARCHS = frozenset(
    {"x86_64", "i686", "aarch64", "armv7l", "ppc64", "ppc64le", "s390x", "loongarch64", "riscv64"}
)


def target_tags(facts: Mapping[str, Any], executable: str) -> tuple[str, ...]:
    """The tags a wheel may carry to install into the target, best first.

    ``executable`` is the file that ran (used only to read a musl loader's version).
    Raises ValueError for facts it cannot read.
    """
    from packaging import tags

    implementation = str(facts["implementation"])
    major, minor = (int(part) for part in facts["python_version"])
    version = (major, minor)
    config = facts["config"]
    if not isinstance(config, dict):
        raise ValueError("tag facts lack 'config'")
    platforms = list(_platforms(facts, executable))
    short = _SHORT_NAMES.get(implementation, implementation)
    if short == "cp":
        found = list(tags.cpython_tags(version, _cpython_abis(facts, version), platforms))
        interpreter: str | None = f"cp{major}{minor}"
    else:
        nodot = config.get("py_version_nodot") or f"{major}{minor}"
        found = list(tags.generic_tags(f"{short}{nodot}", _generic_abis(config), platforms))
        interpreter = "pp3" if short == "pp" else None
    found.extend(tags.compatible_tags(version, interpreter, platforms))
    return tuple(dict.fromkeys(str(tag) for tag in found))


def _cpython_abis(facts: Mapping[str, Any], version: tuple[int, int]) -> list[str]:
    config = facts["config"]
    nodot = f"{version[0]}{version[1]}"
    py_debug = config.get("Py_DEBUG")
    # Windows does not set Py_DEBUG: a debug build shows in its extension suffixes.
    debug = bool(py_debug) or (
        py_debug is None
        and (bool(facts.get("has_refcount")) or "_d.pyd" in facts.get("extension_suffixes", []))
    )
    threading = "t" if version >= (3, 13) and config.get("Py_GIL_DISABLED") else ""
    abis = [f"cp{nodot}{threading}{'d' if debug else ''}"]
    if debug:
        abis.append(f"cp{nodot}{threading}")  # a debug build loads release extensions too
    return abis


def _generic_abis(config: Mapping[str, Any]) -> list[str]:
    """The ABI named by EXT_SUFFIX (``.pypy39-pp73-x86_64-linux-gnu.so`` -> ``pypy39_pp73``)."""
    suffix = config.get("EXT_SUFFIX")
    if not isinstance(suffix, str) or suffix.count(".") < 2:
        return []
    soabi = suffix.split(".")[1]
    parts = soabi.split("-")
    if soabi.startswith("cpython"):
        abi = "cp" + parts[1] if len(parts) > 1 else ""
    elif soabi.startswith("cp"):
        abi = parts[0]
    elif soabi.startswith("pypy"):
        abi = "-".join(parts[:2])
    elif soabi.startswith("graalpy"):
        abi = "-".join(parts[:3])
    else:
        abi = soabi
    return [_normalize(abi)] if abi else []


def _platforms(facts: Mapping[str, Any], executable: str) -> Iterator[str]:
    system = facts.get("system")
    platform = _normalize(str(facts["platform"]))
    if system == "Darwin":
        from packaging import tags

        mac = str(facts.get("mac_version") or "")
        if mac:
            release = [int(p) for p in mac.split(".")[:2]] + [0]
            # The CPU, not sysconfig's build platform (which may say "universal2").
            arch = str(facts.get("machine") or platform.rsplit("_", 1)[-1])
            if facts.get("is_32bit"):
                arch = {"x86_64": "i386", "ppc64": "ppc"}.get(arch, arch)
            yield from tags.mac_platforms((release[0], release[1]), arch)
            return
        yield platform
        return
    if system != "Linux" or not platform.startswith("linux_"):
        yield platform
        return
    arch = platform.split("_", 1)[1]
    if facts.get("is_32bit"):
        arch = {"x86_64": "i686", "aarch64": "armv8l"}.get(arch, arch)
    archs = ["armv8l", "armv7l"] if arch == "armv8l" else [arch]
    for each in archs:
        yield f"linux_{each}"
    glibc = _major_minor(facts.get("glibc"))
    if glibc is not None:
        yield from _manylinux(archs, glibc)
    else:
        musl = _musl_version(executable)
        if musl is not None:
            for each in archs:
                for m in range(musl[1], -1, -1):
                    yield f"musllinux_{musl[0]}_{m}_{each}"


def _manylinux(archs: list[str], glibc: tuple[int, int]) -> Iterator[str]:
    if glibc[0] != 2:
        return
    for arch in archs:
        if arch not in _MANYLINUX_ARCHS:
            continue
        for minor in range(glibc[1], _OLDEST_GLIBC_MINOR.get(arch, 17) - 1, -1):
            yield f"manylinux_2_{minor}_{arch}"
            legacy = _LEGACY_MANYLINUX.get(minor)
            if legacy is not None:
                yield f"{legacy}_{arch}"


def _musl_version(executable: str) -> tuple[int, int] | None:
    """The musl version the target's executable is linked against (None: not musl)."""
    # packaging reads the ELF header of the executable and asks its musl loader; the file
    # is on this machine, so that runs here. Private to packaging, pinned to a tested range.
    try:
        from packaging import _musllinux

        found = _musllinux._get_musl_version(executable)
    except (ImportError, AttributeError, OSError):
        return None
    return None if found is None else (found.major, found.minor)


def _major_minor(text: object) -> tuple[int, int] | None:
    if not isinstance(text, str):
        return None
    parts = text.split(".")
    try:
        return int(parts[0]), int("".join(c for c in parts[1] if c.isdigit()) or "x")
    except (IndexError, ValueError):
        return None


def _normalize(text: str) -> str:
    return text.replace(".", "_").replace("-", "_").replace(" ", "_")
